"""Remediation hints, built from a control's structured desired state (never free text).

One short line per way of fixing: the registry value (docs/reference.md §1.1), the Samba parameter
(docs/reference.md §4.3), the cmdlet, then the ``smbsign fix`` command that does it with a backup.
"""

from __future__ import annotations

from smbsign.run import CatalogLike

# Server-side signing on the wire (docs/reference.md §1.1 and §4.3).
WIRE_RULE = "smb-signing-not-required"
WIRE_HINTS = (
    "Windows: set HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters\\"
    "RequireSecuritySignature = 1 (REG_DWORD), policy 'Microsoft network server: "
    "Digitally sign communications (always)'",
    "Samba: set 'server signing = mandatory' in [global] of smb.conf",
    "smbsign audit then smbsign fix to apply it at the winning layer with a backup",
)


def control_hints(control: str, catalog: CatalogLike | None) -> tuple[str, ...]:
    """How to put ``control`` in its desired state; the fix command is always last."""
    fix = f"smbsign fix --controls {control}"
    ctl = catalog.controls.get(control) if catalog is not None else None
    if ctl is None:
        return (fix,)
    d = ctl.desired
    lines: list[str] = []
    for reg in d.registry:
        restart = f"; needs a {reg.restart} restart" if reg.restart != "none" else ""
        lines.append(
            f"Windows: set {reg.key}\\{reg.value} = {reg.data} ({reg.type}) "
            f"via {reg.gpo_file}{restart}"
        )
    lines.extend(
        f"Samba: set '{s.parameter} = {s.value}' in [{s.section}] of smb.conf" for s in d.samba
    )
    if d.cmdlet is not None:
        value = d.cmdlet.value
        shown = f"${str(value).lower()}" if isinstance(value, bool) else str(value)
        lines.append(f"PowerShell: {d.cmdlet.cmdlet} -{d.cmdlet.parameter} {shown} -Force")
    lines.append(fix)
    return tuple(lines)

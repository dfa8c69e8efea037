"""Plain-text descriptions of catalog data (pure; shared by ``smbsign controls`` and docgen).

Nothing here prints: functions return strings or dicts built only from the catalog.
"""

from __future__ import annotations

import re
from typing import Any

from smbsign.catalog.defaults import DefaultsTable, Entry, Rule
from smbsign.catalog.loader import Catalog
from smbsign.catalog.schema import Allowed, Check, Control, Desired, DesiredRegistry
from smbsign.regpath import split_hive

_PLACEHOLDER = re.compile(r"\{(build|edition|role|samba_version)\}")

# GptTmpl.inf [Registry Values] type codes [MS-GPSB 2.2.5] (docs/reference.md §6.2).
_INF_TYPE = {
    "REG_SZ": 1,
    "REG_EXPAND_SZ": 2,
    "REG_BINARY": 3,
    "REG_DWORD": 4,
    "REG_MULTI_SZ": 7,
    "REG_QWORD": 11,
}


def _ps(value: object) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)


def allowed_line(allowed: Allowed) -> str:
    """``0 = off; 1 = on``: the data a setting accepts and what each means."""
    return "; ".join(f"{_ps(a.value)} = {a.meaning}" for a in allowed)


def check_lines(check: Check) -> list[str]:
    """What is checked, one line per evidence kind (and one for the values it accepts)."""
    out = []
    if check.registry:
        r = check.registry
        out.append(f"registry: {r.key}\\{r.value} ({r.type}) {r.expected.describe()}")
        if r.policy_key:
            out.append(f"registry (policy, wins when set): {r.policy_key}\\{r.value}")
        if r.allowed:
            out.append(f"registry values: {allowed_line(r.allowed)}")
        if (o := r.overridden_by) is not None:
            since = f" from build {o.min_build}" if o.min_build else ""
            default = f" (when absent: default {o.default_key})" if o.default_key else ""
            out.append(
                f"overridden{since} by {r.key}\\{o.value}{default}: {o.enforces} passes "
                f"whatever {r.value} is, {o.defers} leaves it to {r.value}"
            )
    if check.samba:
        s = check.samba
        out.append(f"smb.conf: [{s.section}] {s.parameter} one of {', '.join(s.passing)}")
        if s.allowed:
            out.append(f"smb.conf values: {allowed_line(s.allowed)}")
    if check.cmdlet:
        c = check.cmdlet
        out.append(f"cmdlet: {c.cmdlet} .{c.property} {c.expected.describe()}")
        if c.allowed:
            out.append(f"cmdlet values: {allowed_line(c.allowed)}")
    if check.wire:
        probe = "LDAP bind probe" if check.wire.startswith("ldap") else "NEGOTIATE probe"
        out.append(f"wire: {check.wire} ({probe})")
    if check.smb1_only:
        out.append("SMB1 only: SMB 2.02 and later ignore this setting (docs/reference.md §2.1)")
    return out


def _gpo_line(r: DesiredRegistry) -> str:
    rest = split_hive(r.key)[1]
    if r.gpo_file == "GptTmpl.inf":
        data = f'"{r.data}"' if r.type in ("REG_SZ", "REG_EXPAND_SZ") else str(r.data)
        line = f"MACHINE\\{rest}\\{r.value}={_INF_TYPE[r.type]},{data}"
        return f"GPO GptTmpl.inf [Registry Values]: {line}"
    return f"GPO Registry.pol: {rest} ! {r.value} = {r.type} {r.data}"


def remediation_lines(desired: Desired) -> list[str]:
    """Every remediation route the desired state supports, one line each."""
    out = []
    for r in desired.registry:
        out.append(_gpo_line(r))
    for r in desired.registry:
        restart = "" if r.restart == "none" else f" (then {r.restart} restart)"
        out.append(f"registry: {r.key}\\{r.value} = {r.type} {r.data}{restart}")
    if desired.cmdlet:
        c = desired.cmdlet
        out.append(f"PowerShell: {c.cmdlet} -{c.parameter} {_ps(c.value)} -Force")
    if desired.security_option:
        so = desired.security_option
        out.append(
            f"DSC: SecurityPolicyDsc SecurityOption Name='{so.dsc_name}' Value='{so.dsc_value}'"
        )
    if desired.intune:
        i = desired.intune
        min_os = f" (min OS {i.min_os})" if i.min_os else ""
        out.append(f"Intune: {i.oma_uri} [{i.format}] = {i.value}{min_os}")
    for s in desired.samba:
        out.append(f"smb.conf: [{s.section}] {s.parameter} = {s.value}")
    return out


def entries_for(control: Control, table: DefaultsTable) -> list[tuple[str, Entry]]:
    """The defaults entries (key, entry) a control's default_key reaches, one per OS family."""
    if control.default_key is None or control.default_key not in table.entries:
        return []
    first = table.entries[control.default_key]
    out = []
    for fam in control.applies_to.os_families:
        key = control.default_key if first.os_family == fam else first.counterparts.get(fam)
        if key is not None:
            out.append((key, table.entries[key]))
    return out


def rule_line(rule: Rule) -> str:
    """One defaults rule: conditions -> value (placeholders left as written)."""
    result = f"unknown ({rule.unknown})" if rule.unknown is not None else repr(rule.value)
    return _PLACEHOLDER.sub(r"<\1>", f"{rule.when.describe()}: {result}")


def control_summary(catalog: Catalog, control: Control) -> dict[str, Any]:
    """A short JSON-able row for listings."""
    frameworks: dict[str, list[str]] = {}
    for fw, req in catalog.mappings_for(control.id):
        frameworks.setdefault(fw.id, []).append(req.id)
    return {
        "id": control.id,
        "title": control.title,
        "severity": control.severity,
        "weight": control.weight,
        "stage": control.stage,
        "enforces_signing": control.enforces_signing,
        "side": control.side,
        "protocol": control.protocol,
        "os_families": list(control.applies_to.os_families),
        "roles": list(control.applies_to.roles),
        "min_build": control.applies_to.min_build,
        "default_key": control.default_key,
        "frameworks": frameworks,
    }


def control_detail(catalog: Catalog, control: Control) -> dict[str, Any]:
    """Everything ``smbsign controls show --format json`` prints."""
    doc = control.model_dump(mode="json")
    doc["mappings"] = {}
    for fw, req in catalog.mappings_for(control.id):
        entry = doc["mappings"].setdefault(
            fw.id, {"name": fw.name, "version": fw.version, "requirements": []}
        )
        entry["requirements"].append({"id": req.id, "title": req.title, "detail": req.detail})
    doc["defaults"] = {
        key: {
            "os_family": e.os_family,
            "setting": e.setting,
            "rules": [r.model_dump(mode="json") for r in e.rules],
            "literal_default": (
                None
                if e.literal_default is None
                else [r.model_dump(mode="json") for r in e.literal_default]
            ),
        }
        for key, e in entries_for(control, catalog.defaults)
    }
    doc["remediation"] = remediation_lines(control.desired)
    return doc

"""Is SMB1 on for the side of the host a control concerns? (pure)

The "(if ... agrees)" settings only change SMB1 behaviour (docs/reference.md §2.1), so their verdict
depends on this. Evidence, strongest first:

- server side: the wire (``NT LM 0.12`` accepted or refused, docs/reference.md §5.7/§5.9), then
  ``Get-SmbServerConfiguration`` ``EnableSMB1Protocol``, then the ``LanmanServer\\Parameters``
  ``SMB1`` value (0 = off, docs/reference.md §1.3), then Samba ``server min protocol`` (SMB1 needs
  ``NT1`` or lower, docs/reference.md §4.3);
- client side: ``mrxsmb10`` ``Start`` = 4 (driver disabled, docs/reference.md §1.3), then Samba
  ``client min protocol``;
- both: the host fact ``smb1_installed`` = False (the optional feature is absent).

An absent value says nothing: SMB1 is on by default wherever the feature is installed, and
whether it is installed is not in the registry values we read (docs/reference.md §1.3).
"""

from __future__ import annotations

from smbsign.catalog.schema import Control, Expect
from smbsign.engine.readings import describe_source, pick, registry_reading
from smbsign.engine.types import Evidence
from smbsign.engine.wire import smb1_offered
from smbsign.model import Layer

SERVER_SMB1 = "hklm\\system\\currentcontrolset\\services\\lanmanserver\\parameters\\smb1"
CLIENT_DRIVER_START = "hklm\\system\\currentcontrolset\\services\\mrxsmb10\\start"
SERVER_CMDLET = "pwsh:get-smbserverconfiguration:enablesmb1protocol"
#: Protocol floors that let SMB1 in; an explicit ``default`` sets no minimum at all, so SMB1
#: (NT1) is accepted too (catalog/defaults.yaml ``literal_default``, [obs] Samba 4.17.12).
_SMB1_PROTOCOLS = frozenset({"nt1", "lanman2", "lanman1", "coreplus", "core", "default"})


def is_client_control(control: Control) -> bool:
    """True when the control concerns the SMB client (the catalog's ``side``)."""
    return control.side == "client"


def _registry_state(ev: Evidence, setting: str, off_value: int) -> tuple[bool | None, str]:
    name = setting.rpartition("\\")[2]
    readings = [
        registry_reading(sv, "REG_DWORD", Expect(equals=off_value), policy=False, order=o)
        for o, sv in ev.lookup(setting)
        if sv.provenance.layer is not Layer.WIRE
    ]
    win = pick(readings).winner
    if win is None:
        return None, ""
    off = bool(win.passes)
    return (not off), f"{name} = {win.observed} in {describe_source(win.source)}"


def _samba_state(ev: Evidence, parameter: str) -> tuple[bool | None, str]:
    found = ev.lookup(f"samba:{parameter}")
    if not found:
        return None, ""
    _, sv = found[-1]  # later evidence (testparm after smb.conf) is the authority
    value = str(sv.value).strip()
    on = value.lower() in _SMB1_PROTOCOLS
    return on, f"{parameter} = {value} in {describe_source(sv.provenance)}"


def smb1_state(control: Control, ev: Evidence) -> tuple[bool | None, str]:
    """(on?, why) for the side of the host ``control`` concerns; (None, "") when unknown."""
    if is_client_control(control):
        state, why = _registry_state(ev, CLIENT_DRIVER_START, 4)
        if state is None:
            state, why = _samba_state(ev, "client min protocol")
    else:
        offered, rec = smb1_offered(ev.observations)
        if offered is not None and rec is not None:
            verb = "accepts" if offered else "refuses"
            return offered, f"the server {verb} SMB1 on the wire ({rec.target}:{rec.port})"
        state, why = None, ""
        cmd = ev.lookup(SERVER_CMDLET)
        if cmd and isinstance(cmd[-1][1].value, bool):
            sv = cmd[-1][1]
            state = sv.value is True
            why = f"EnableSMB1Protocol = {state} ({describe_source(sv.provenance)})"
        if state is None:
            state, why = _registry_state(ev, SERVER_SMB1, 0)
            if state is True:  # SMB1 = 1 only matters if the feature is installed
                state = None if ev.facts.smb1_installed is not True else True
        if state is None:
            state, why = _samba_state(ev, "server min protocol")
    if state is None and ev.facts.smb1_installed is False:
        return False, "the SMB1 feature is not installed"
    return state, why

"""Builders for engine tests: a small in-test catalog, a defaults resolver and values.

The resolver follows docs/reference.md §3.1-3.3 directly (it is test data, independent of the
catalog's defaults.yaml, so that the engine's use of a resolution is tested on its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smbsign.catalog.schema import (
    Applicability,
    Check,
    CmdletCheck,
    Control,
    Desired,
    Expect,
    RegistryCheck,
    SambaCheck,
)
from smbsign.model import (
    HostFacts,
    Layer,
    OsFamily,
    Provenance,
    Role,
    ScanRecord,
    ScanStatus,
    SettingValue,
    Smb1Observation,
    Smb1Signing,
    Smb2Observation,
)
from smbsign.regpath import setting_id

SRV = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters"
WKS = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
WKS_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation"
SRV_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer"


def control(cid: str, check: Check, **kw: Any) -> Control:
    return Control(
        id=cid,
        title=kw.pop("title", f"Control {cid}"),
        rationale="test",
        severity=kw.pop("severity", "high"),
        weight=kw.pop("weight", 5),
        applies_to=kw.pop("applies_to", Applicability(os_families=("windows",))),
        side=kw.pop("side", "server"),
        protocol=kw.pop("protocol", "smb1" if check.smb1_only else "smb"),
        check=check,
        desired=Desired(),
        **kw,
    )


def reg(key: str, value: str, expect: Expect, **kw: Any) -> RegistryCheck:
    return RegistryCheck(key=key, value=value, expected=expect, **kw)


BOTH = Applicability(os_families=("windows", "samba"))

CONTROLS: tuple[Control, ...] = (
    control(
        "server-require",
        Check(
            registry=reg(SRV, "RequireSecuritySignature", Expect(equals=1)),
            samba=SambaCheck(parameter="server signing", passing=("required",)),
            cmdlet=CmdletCheck(
                cmdlet="Get-SmbServerConfiguration",
                property="RequireSecuritySignature",
                expected=Expect(equals=True),
            ),
            wire="smb_server_signing_required",
        ),
        applies_to=BOTH,
        default_key="server_require",
        severity="critical",
    ),
    control(
        "server-enable",
        Check(registry=reg(SRV, "EnableSecuritySignature", Expect(equals=1)), smb1_only=True),
        default_key="server_enable",
    ),
    control(
        "client-require",
        Check(registry=reg(WKS, "RequireSecuritySignature", Expect(equals=1))),
        side="client",
        default_key="client_require",
    ),
    control(
        "client-enable",
        Check(registry=reg(WKS, "EnableSecuritySignature", Expect(equals=1)), smb1_only=True),
        side="client",
        default_key="client_enable",
    ),
    control(
        "guest-off",
        Check(registry=reg(WKS, "AllowInsecureGuestAuth", Expect(equals=0), policy_key=WKS_POLICY)),
        side="client",
        default_key=None,
    ),
    control(
        "audit-client-signing",
        Check(registry=reg(SRV_POLICY, "AuditClientDoesNotSupportSigning", Expect(equals=1))),
        applies_to=Applicability(os_families=("windows",), min_build=26100),
        default_key="audit_default",
    ),
    control(
        "spn-hardening",
        Check(registry=reg(SRV, "SmbServerNameHardeningLevel", Expect(at_least=1))),
        applies_to=Applicability(os_families=("windows",), roles=("member_server",)),
        default_key="spn",
    ),
)


class Defaults:
    """The in-test defaults table: :func:`resolve` below (the engine asks the catalog)."""

    def resolve(self, key: str, facts: HostFacts, *, literal: bool | None = None) -> Resolution:
        return resolve(key, facts, literal=literal)


@dataclass(frozen=True)
class Catalog:
    controls: Mapping[str, Control]
    defaults: Defaults = field(default_factory=Defaults)


CATALOG = Catalog({c.id: c for c in CONTROLS})


@dataclass(frozen=True)
class Resolution:
    known: bool
    value: object
    label: str
    reason: str
    source: str


def _unknown(reason: str) -> Resolution:
    return Resolution(False, None, "", reason, "")


def resolve(key: str, facts: HostFacts, *, literal: bool | None = None) -> Resolution:
    """docs/reference.md §3.1-3.3 as a plain function."""
    role = facts.role.value if facts.role else None
    if facts.os_family is OsFamily.SAMBA:
        if key != "server_require":
            return _unknown("no Samba default")
        if role is None:
            return _unknown("depends on server role")
        value = "required" if role == "domain_controller" else "off"
        return Resolution(True, value, f"Samba {role}", "", "docs/reference.md §3.3")
    if key in ("spn", "audit_default"):
        return Resolution(True, 0, "Windows", "", "docs/reference.md §3.1")
    if key == "client_enable":
        return Resolution(True, 1, "Windows", "", "docs/reference.md §3.1")
    if facts.build is None:
        return _unknown("default depends on edition/build")
    if facts.build >= 26100:
        if facts.edition is None or role is None:
            return _unknown("default depends on edition/build")
        server_os = facts.edition.lower().startswith("server")
        home = facts.edition.lower().startswith("core")
        if key == "client_require":
            return Resolution(True, 0 if home else 1, f"{facts.build}/{facts.edition}", "", "")
        if key == "server_require":
            value = 1 if role == "domain_controller" or not (home or server_os) else 0
            return Resolution(True, value, f"{facts.build}/{facts.edition}/{role}", "", "")
    if role is None:
        return _unknown("default depends on role")
    dc = role == "domain_controller"
    if key in ("server_require", "server_enable"):
        return Resolution(True, int(dc), f"classic {role}", "", "docs/reference.md §3.1")
    if key == "client_require":
        return Resolution(True, 0, f"classic {role}", "", "docs/reference.md §3.1")
    return _unknown(f"no default for {key}")


def sv(
    key: str,
    value: object,
    *,
    name: str = "RequireSecuritySignature",
    vtype: str = "REG_DWORD",
    layer: Layer = Layer.LOCAL,
    kind: str = "regfile",
    path: str = "a.reg",
    location: str = "line 3",
    deleted: bool = False,
    host: str = "h1",
) -> SettingValue:
    return SettingValue(
        host=host,
        setting=setting_id(key, name),
        value=value,  # type: ignore[arg-type]
        value_type=vtype,
        provenance=Provenance(kind=kind, path=path, location=location, layer=layer),
        deleted=deleted,
    )


def samba(param: str, value: str, *, layer: Layer = Layer.LOCAL, line: int = 3) -> SettingValue:
    kind = "testparm" if layer is Layer.EFFECTIVE else "smbconf"
    return SettingValue(
        host="h1",
        setting=f"samba:{param}",
        value=value,
        value_type="samba",
        provenance=Provenance(
            kind=kind, path="/etc/samba/smb.conf", location=f"line {line}", layer=layer
        ),
    )


def cmdlet(prop: str, value: object, cmd: str = "Get-SmbServerConfiguration") -> SettingValue:
    return SettingValue(
        host="h1",
        setting=f"pwsh:{cmd}:{prop}",
        value=value,  # type: ignore[arg-type]
        value_type="bool" if isinstance(value, bool) else "int",
        provenance=Provenance(
            kind="pwsh_json", path="smb.json", location="", layer=Layer.EFFECTIVE
        ),
    )


def wire(
    mode: int | None,
    *,
    smb1: bool | None = False,
    smb1_signing: Smb1Signing | None = None,
    status: ScanStatus = ScanStatus.OK,
    target: str = "10.0.0.5",
) -> ScanRecord:
    smb2 = None if mode is None else Smb2Observation("3.1.1", 0x0311, mode)
    required = None if status is not ScanStatus.OK or mode is None else bool(mode & 2)
    return ScanRecord(
        target=target,
        port=445,
        status=status,
        signing_required=required,
        smb1=Smb1Observation(offered=smb1, signing=smb1_signing),
        smb2=smb2,
        reason="" if status is ScanStatus.OK else "connection refused",
    )


def facts(
    family: OsFamily | None = OsFamily.WINDOWS,
    build: int | None = 19045,
    edition: str | None = "Enterprise",
    role: Role | None = Role.MEMBER_SERVER,
    smb1_installed: bool | None = None,
) -> HostFacts:
    return HostFacts(
        host="h1",
        os_family=family,
        build=build,
        edition=edition,
        role=role,
        smb1_installed=smb1_installed,
    )

"""The LDAP controls on the audit side (#12 item 3): ``ldap-server-signing-required`` and
``ldap-server-channel-binding``, decided like the SMB ones by configuration, defaults by build
and role, and the ``ldap`` wire observation of ``scan --protocols ldap,ldaps``.

Facts: docs/reference.md §11 (LDAPServerIntegrity, the Windows Server 2025
LDAPServerEnforceIntegrity that overrides it, LdapEnforceChannelBinding, Samba's ``ldap server
require strong auth``).
"""

from __future__ import annotations

import pytest

from smbsign.audit.sources import registry_wanted
from smbsign.catalog import load_catalog
from smbsign.catalog.defaults import resolve_default
from smbsign.collect.smbconf import collect as collect_smbconf
from smbsign.engine.evaluate import evaluate
from smbsign.model import (
    ChannelBinding,
    Finding,
    HostFacts,
    Layer,
    LdapObservation,
    LdapSigning,
    OsFamily,
    Provenance,
    Role,
    ScanRecord,
    ScanStatus,
    SettingValue,
    Smb1Observation,
    Status,
)

CATALOG = load_catalog()
NTDS = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters\\"
SIGN = "ldap-server-signing-required"
CBT = "ldap-server-channel-binding"
DC = Role.DOMAIN_CONTROLLER


def _reg(value: str, data: int, layer: Layer = Layer.GPO) -> SettingValue:
    where = Provenance(kind="gpttmpl", path="GptTmpl.inf", location="line 4", layer=layer)
    return SettingValue("dc1", NTDS + value, data, "REG_DWORD", where)


def _win(build: int | None, role: Role | None = DC) -> HostFacts:
    return HostFacts("dc1", os_family=OsFamily.WINDOWS, build=build, role=role)


def _judge(
    control: str,
    values: list[SettingValue],
    facts: HostFacts,
    observations: list[ScanRecord] | None = None,
) -> Finding:
    found = evaluate(values, observations or [], facts, CATALOG)
    return {f.control: f for f in found}[control]


def _ldap(signing: LdapSigning, binding: ChannelBinding, reason: str = "") -> ScanRecord:
    obs = LdapObservation(signing, binding, "unauthenticated", reason or "ldap: seen; ldaps: seen")
    return ScanRecord("10.0.0.9", 445, ScanStatus.OK, True, Smb1Observation(False), None, ldap=obs)


# ------------------------------------------------------------------ defaults by build


@pytest.mark.parametrize(
    ("key", "build", "value"),
    [
        ("windows:ntds:ldapserverintegrity", 17763, 1),
        ("windows:ntds:ldapserverintegrity", 26100, 1),
        ("windows:ntds:ldapserverenforceintegrity", 26100, 1),
        ("windows:ntds:ldapserverenforceintegrity", 20348, None),
        ("windows:ntds:ldapenforcechannelbinding", 9600, 0),
        ("windows:ntds:ldapenforcechannelbinding", 17763, 0),
        ("windows:ntds:ldapenforcechannelbinding", 20348, None),
        ("windows:ntds:ldapenforcechannelbinding", 26100, 1),
        ("windows:ntds:ldapenforcechannelbinding", None, None),
    ],
)
def test_windows_defaults_by_build(key: str, build: int | None, value: int | None) -> None:
    res = resolve_default(key, _win(build), literal=False)
    assert res.known is (value is not None), res.reason
    if value is not None:
        assert res.value == value and res.source


@pytest.mark.parametrize(("version", "value"), [("4.17.12-Debian", "yes"), ("4.3.6", None)])
def test_samba_default_by_version(version: str, value: str | None) -> None:
    facts = HostFacts("dc1", os_family=OsFamily.SAMBA, role=DC, samba_version=version)
    res = resolve_default("samba:ldap server require strong auth", facts, literal=False)
    assert res.known is (value is not None) and res.value == value


# ------------------------------------------------- signing: LDAPServerEnforceIntegrity


def test_server_2025_enforcement_default_overrides_the_ddcp_none() -> None:
    """The DDCP's LDAPServerIntegrity = 1 on a Server 2025 DC whose enforcement policy is not
    configured: required (Not Configured = Enabled), from the default."""
    f = _judge(SIGN, [_reg("LDAPServerIntegrity", 1)], _win(26100))
    assert f.status is Status.PASS, f.reason
    assert "LDAPServerEnforceIntegrity is not configured" in f.reason
    assert f.source is not None and f.source.layer is Layer.DEFAULT
    assert any("LDAPServerIntegrity alone: fail" in n for n in f.notes)


def test_enforcement_disabled_hands_it_back_to_ldapserverintegrity() -> None:
    values = [_reg("LDAPServerIntegrity", 1), _reg("LDAPServerEnforceIntegrity", 0)]
    f = _judge(SIGN, values, _win(26100))
    assert f.status is Status.FAIL, f.reason
    assert any("LDAPServerIntegrity decides" in n for n in f.notes)
    values = [_reg("LDAPServerIntegrity", 2), _reg("LDAPServerEnforceIntegrity", 0)]
    assert _judge(SIGN, values, _win(26100)).status is Status.PASS


def test_explicit_enforcement_passes_on_2025() -> None:
    values = [_reg("LDAPServerIntegrity", 1), _reg("LDAPServerEnforceIntegrity", 1)]
    f = _judge(SIGN, values, _win(26100))
    assert f.status is Status.PASS and f.source is not None and f.source.layer is Layer.GPO


def test_before_2025_the_enforcement_value_is_ignored() -> None:
    """Server 2022 has no enforcement policy: LDAPServerIntegrity = 1 fails whatever it says."""
    values = [_reg("LDAPServerIntegrity", 1), _reg("LDAPServerEnforceIntegrity", 1)]
    f = _judge(SIGN, values, _win(20348))
    assert f.status is Status.FAIL, f.reason
    assert any("does not exist before build 26100" in n for n in f.notes)
    assert _judge(SIGN, [], _win(17763)).status is Status.FAIL  # None by default


def test_build_unknown_none_is_unknown_not_fail() -> None:
    """A DC of unknown build with LDAPServerIntegrity = 1: a Server 2025 DC would still
    require signing, so neither pass nor fail."""
    f = _judge(SIGN, [_reg("LDAPServerIntegrity", 1)], _win(None))
    assert f.status is Status.UNKNOWN, f.reason
    assert "LDAPServerEnforceIntegrity" in f.reason
    # Require signing needs no override either way
    assert _judge(SIGN, [_reg("LDAPServerIntegrity", 2)], _win(None)).status is Status.PASS


def test_not_a_domain_controller_is_not_applicable() -> None:
    for control in (SIGN, CBT):
        f = _judge(control, [_reg("LDAPServerIntegrity", 1)], _win(26100, Role.MEMBER_SERVER))
        assert f.status is Status.NOT_APPLICABLE and "domain_controller" in f.reason
        assert _judge(control, [], _win(26100, None)).status is Status.UNKNOWN  # role unknown


def test_a_live_registry_read_asks_for_the_enforcement_value() -> None:
    wanted = registry_wanted(CATALOG.controls.values())
    assert (NTDS.rstrip("\\"), "LDAPServerEnforceIntegrity") in wanted
    assert (NTDS.rstrip("\\"), "LdapEnforceChannelBinding") in wanted


# ------------------------------------------------------------------- channel binding


@pytest.mark.parametrize(
    ("values", "build", "status"),
    [
        ([("LdapEnforceChannelBinding", 2)], 20348, Status.PASS),
        ([("LdapEnforceChannelBinding", 1)], 26100, Status.FAIL),
        ([], 17763, Status.FAIL),  # Never by default
        ([], 26100, Status.FAIL),  # When supported by default
        ([], 20348, Status.UNKNOWN),  # Server 2022: not stated
    ],
)
def test_channel_binding_by_configuration_and_default(
    values: list[tuple[str, int]], build: int, status: Status
) -> None:
    f = _judge(CBT, [_reg(v, d) for v, d in values], _win(build))
    assert f.status is status, f.reason


# ------------------------------------------------------------------------------ wire


def test_wire_signing_not_required_beats_a_passing_configuration() -> None:
    obs = _ldap(
        LdapSigning.NOT_REQUIRED,
        ChannelBinding.ALWAYS,
        "ldap: an anonymous NTLM bind without signing succeeded; ldaps: no token: 49",
    )
    f = _judge(SIGN, [_reg("LDAPServerIntegrity", 2)], _win(20348), [obs])
    assert f.status is Status.FAIL, f.reason
    assert f.source is not None and f.source.layer is Layer.WIRE
    assert f.source.path == "10.0.0.9:389"
    assert any("likely possible" in n for n in f.notes)
    assert any("the change has not been applied" in n for n in f.notes)


def test_wire_signing_required_decides_an_unknown_configuration() -> None:
    obs = _ldap(LdapSigning.REQUIRED, ChannelBinding.UNKNOWN)
    f = _judge(SIGN, [_reg("LDAPServerIntegrity", 1)], _win(None), [obs])
    assert f.status is Status.PASS and f.source is not None and f.source.layer is Layer.WIRE


def test_wire_unknown_proves_nothing_and_says_why() -> None:
    obs = _ldap(
        LdapSigning.UNKNOWN,
        ChannelBinding.NO_TLS,
        "ldap: an anonymous NTLM bind without signing refused: resultCode 49; give --user to "
        "decide; ldaps: port 636 closed",
    )
    f = _judge(SIGN, [_reg("LDAPServerIntegrity", 1)], _win(17763), [obs])
    assert f.status is Status.FAIL and f.source is not None and f.source.layer is Layer.GPO
    assert any("LDAP probe of 10.0.0.9:389" in n and "give --user" in n for n in f.notes)
    c = _judge(CBT, [_reg("LdapEnforceChannelBinding", 2)], _win(17763), [obs])
    assert c.status is Status.PASS and c.source is not None and c.source.layer is Layer.GPO
    assert any("no LDAPS" in n for n in c.notes)


@pytest.mark.parametrize(
    ("binding", "status"),
    [
        (ChannelBinding.ALWAYS, Status.PASS),
        (ChannelBinding.WHEN_SUPPORTED, Status.FAIL),
        (ChannelBinding.NEVER, Status.FAIL),
    ],
)
def test_wire_channel_binding(binding: ChannelBinding, status: Status) -> None:
    f = _judge(CBT, [], _win(20348), [_ldap(LdapSigning.REQUIRED, binding)])
    assert f.status is status, f.reason
    assert f.source is not None and f.source.path == "10.0.0.9:636"
    assert f.observed == binding.value


# ------------------------------------------------------------------------------ Samba


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("ldap server require strong auth = no", Status.FAIL),
        ("ldap server require strong auth = False", Status.FAIL),
        ("ldap server require strong auth = allow_sasl_over_tls", Status.PASS),
        ("ldap server require strong auth = yes", Status.PASS),
        ("ldap server require strong auth = 1", Status.PASS),
        ("", Status.PASS),  # default yes on 4.17
    ],
)
def test_samba_dc(line: str, status: Status) -> None:
    conf = f"[global]\n\tserver role = active directory domain controller\n\t{line}\n"
    got = collect_smbconf(conf.encode(), "smb.conf", "dc1")
    facts = HostFacts("dc1", os_family=OsFamily.SAMBA, role=DC, samba_version="4.17.12")
    f = _judge(SIGN, list(got.values), facts)
    assert f.status is status, f.reason
    cbt = _judge(CBT, list(got.values), facts)
    assert cbt.status is Status.NOT_APPLICABLE  # no channel binding on Samba (reference.md §11.4)


def test_samba_rejects_a_value_it_does_not_accept() -> None:
    conf = b"[global]\n\tldap server require strong auth = maybe\n"
    got = collect_smbconf(conf, "smb.conf", "dc1")
    assert got.errors and not any("strong auth" in v.setting for v in got.values)

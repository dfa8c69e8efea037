"""Defaults when a value is absent: one case per row of docs/reference.md §3.1-3.4 and §6.5.

Windows cannot run here; the expectations are the documented tables (docs/reference.md §3, with
their sources), checked against the recorded Default Domain Controllers Policy sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smbsign.catalog import load_catalog, resolve_default
from smbsign.catalog.defaults import load_defaults, product_of
from smbsign.model import HostFacts, OsFamily, Role

W, S = OsFamily.WINDOWS, OsFamily.SAMBA
WS, MS, DC, SA = Role.WORKSTATION, Role.MEMBER_SERVER, Role.DOMAIN_CONTROLLER, Role.STANDALONE
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "samples"

SRV_REQ = "windows:lanmanserver:requiresecuritysignature"
SRV_EN = "windows:lanmanserver:enablesecuritysignature"
CLI_REQ = "windows:lanmanworkstation:requiresecuritysignature"
CLI_EN = "windows:lanmanworkstation:enablesecuritysignature"
PLAIN = "windows:lanmanworkstation:enableplaintextpassword"
SPN = "windows:lanmanserver:smbservernamehardeninglevel"
AUD_SRV = "windows:policies:lanmanserver:auditclientdoesnotsupportsigning"
AUD_CLI = "windows:policies:lanmanworkstation:auditserverdoesnotsupportsigning"


def win(build: int | None, edition: str | None, role: Role | None, **kw: object) -> HostFacts:
    return HostFacts("h", W, build, edition, role, **kw)  # type: ignore[arg-type]


def samba(role: Role | None = None, version: str | None = "4.17.12-Debian") -> HostFacts:
    return HostFacts("h", S, role=role, samba_version=version)


# Builds of the classic range: Vista SP1, 7, 8.1, Server 2016, 2019, Win10 22H2, 2022, Win11 23H2
CLASSIC = (
    (6001, "Enterprise", WS),
    (7601, "Professional", WS),
    (9600, "ServerStandard", MS),
    (14393, "ServerDatacenter", MS),
    (17763, "ServerStandard", SA),
    (19045, "Core", WS),
    (20348, "ServerDatacenter", MS),
    (22631, "Enterprise", WS),
)
CLASSIC_DC = ((14393, "ServerDatacenter", DC), (20348, "ServerStandard", DC))

# docs/reference.md §3.1: (key, workstation/member value, DC value)
TABLE_31 = [
    (SRV_REQ, 0, 1),
    (SRV_EN, 0, 1),
    (CLI_REQ, 0, 0),
    (CLI_EN, 1, 1),
    (PLAIN, 0, 0),
    (SPN, 0, 0),
]

CASES: list[tuple[str, str, HostFacts, int | str]] = []
for key, member_value, dc_value in TABLE_31:
    CASES += [(f"3.1 {key} {b}/{e}/{r}", key, win(b, e, r), member_value) for b, e, r in CLASSIC]
    CASES += [(f"3.1 {key} {b}/{e}/{r}", key, win(b, e, r), dc_value) for b, e, r in CLASSIC_DC]

# docs/reference.md §3.2: (edition, role, client required, server required) at build 26100
TABLE_32 = [
    ("Enterprise", WS, 1, 1),
    ("EnterpriseN", WS, 1, 1),
    ("Professional", WS, 1, 1),
    ("Education", WS, 1, 1),
    ("Core", WS, 0, 0),
    ("CoreSingleLanguage", WS, 0, 0),
    ("CoreN", WS, 0, 0),
    ("ServerStandard", MS, 1, 0),
    ("ServerDatacenter", SA, 1, 0),
    ("ServerDatacenter", None, 1, None),  # server SKU, role unknown: DC or not decides inbound
    ("ServerDatacenter", DC, 1, 1),
    ("Enterprise", None, 1, 1),  # client SKU from the edition; no DC possible
]
for edition, role, cli, srv in TABLE_32:
    CASES.append((f"3.2 client {edition}/{role}", CLI_REQ, win(26100, edition, role), cli))
    if srv is not None:
        CASES.append((f"3.2 server {edition}/{role}", SRV_REQ, win(26100, edition, role), srv))

# docs/reference.md §3.3: Samba by role
CASES += [
    ("3.3 server signing standalone", "samba:server signing", samba(SA), "off"),
    ("3.3 server signing member", "samba:server signing", samba(MS), "off"),
    ("3.3 server signing AD DC", "samba:server signing", samba(DC), "required"),
    ("3.3 client ipc signing", "samba:client ipc signing", samba(None), "required"),
    ("3.3 client signing", "samba:client signing", samba(None), "desired"),
    ("4.3 client plaintext auth", "samba:client plaintext auth", samba(None), "No"),
    # a control's single default_key reaches the Samba entry on a Samba host
    ("counterpart server", SRV_REQ, samba(DC), "required"),
    ("counterpart server enable", SRV_EN, samba(MS), "off"),
    ("counterpart client", CLI_REQ, samba(MS), "desired"),
    ("counterpart plaintext", PLAIN, samba(WS), "No"),
]
# docs/reference.md §6.5: ADMX-backed audit policies, default 0 on 26100+
CASES += [
    ("6.5 audit server 26100", AUD_SRV, win(26100, "ServerStandard", MS), 0),
    ("6.5 audit client 26100", AUD_CLI, win(26100, "Enterprise", WS), 0),
]
# docs/reference.md §1.3: SMB1 depends on whether the feature is installed
CASES += [
    (
        "1.3 SMB1 server not installed",
        "windows:lanmanserver:smb1",
        win(19045, None, None, smb1_installed=False),
        0,
    ),
    (
        "1.3 SMB1 server installed",
        "windows:lanmanserver:smb1",
        win(14393, None, None, smb1_installed=True),
        1,
    ),
    (
        "1.3 SMB1 client not installed",
        "windows:mrxsmb10:start",
        win(22631, None, None, smb1_installed=False),
        4,
    ),
]


@pytest.mark.parametrize(
    ("key", "facts", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_known_default(key: str, facts: HostFacts, value: int | str) -> None:
    res = resolve_default(key, facts)
    assert res.known, res.reason
    assert res.value == value
    assert type(res.value) is type(value)
    assert res.label.startswith(("default(", "literal default("))
    assert res.reason and res.source


UNKNOWN: list[tuple[str, str, HostFacts, str]] = [
    ("build unknown", SRV_REQ, win(None, "Enterprise", WS), "build"),
    ("build unknown, client", CLI_REQ, win(None, "Professional", WS), "build"),
    ("edition unknown on 24H2", SRV_REQ, win(26100, None, WS), "edition"),
    ("edition unknown on 24H2, client", CLI_REQ, win(26100, None, WS), "edition"),
    ("role and edition unknown on 24H2", CLI_REQ, win(26100, None, None), "edition/role"),
    ("role unknown pre-24H2 server", SRV_REQ, win(20348, "ServerStandard", None), "role"),
    ("role unknown pre-24H2 enable", SRV_EN, win(17763, None, None), "role"),
    ("LTSC edition not named", SRV_REQ, win(26100, "EnterpriseS", WS), "EnterpriseS"),
    ("multi-session edition", CLI_REQ, win(26100, "ServerRdsh", None), "edition/role"),
    ("Insider build", CLI_REQ, win(25905, "Professional", WS), "Insider"),
    ("Windows Server 23H2", SRV_REQ, win(25398, "ServerDatacenter", MS), "Insider"),
    ("pre-Vista", CLI_REQ, win(3790, "ServerStandard", MS), "older than Windows Vista"),
    ("audit policy before 26100", AUD_SRV, win(22631, "Enterprise", WS), "26100"),
    (
        "SMB1 feature unknown",
        "windows:lanmanserver:smb1",
        win(26100, "Enterprise", WS),
        "SMB1 feature",
    ),
    (
        "mrxsmb10 absent though installed",
        "windows:mrxsmb10:start",
        win(19045, None, WS, smb1_installed=True),
        "unexpected",
    ),
    ("samba role unknown", "samba:server signing", samba(None), "role"),
    ("os family unknown", SRV_REQ, HostFacts("h", build=22631, role=WS), "OS family"),
    ("samba host, windows-only setting", SPN, samba(MS), "windows setting"),
    ("no such entry", "windows:nope", win(22631, "Enterprise", WS), "no defaults entry"),
    (
        "min protocol: absent or literal not said",
        "samba:server min protocol",
        samba(MS),
        "caller did not say",
    ),
    (
        "SMB1 control on samba, not said",
        "windows:lanmanserver:smb1",
        samba(MS),
        "caller did not say",
    ),
]


@pytest.mark.parametrize(
    ("key", "facts", "why"), [u[1:] for u in UNKNOWN], ids=[u[0] for u in UNKNOWN]
)
def test_unknown_default_is_unknown(key: str, facts: HostFacts, why: str) -> None:
    res = resolve_default(key, facts)
    assert not res.known
    assert res.value is None
    assert why in res.reason, res.reason


def test_labels() -> None:
    assert (
        resolve_default(SRV_REQ, win(26100, "Enterprise", WS)).label
        == "default(26100/Enterprise/workstation)"
    )
    dc = resolve_default(SRV_REQ, win(20348, "ServerStandard", DC))
    assert dc.label == "default(DDCP/20348/domain_controller)"
    assert "Default Domain Controllers Policy, not built in" in dc.reason
    assert resolve_default(SRV_REQ, win(26100, None, WS)).label == "default(26100/?/workstation)"


@pytest.mark.parametrize(
    ("key", "facts"),
    [
        # the first rule is "role domain_controller -> DDCP": undecided without a role
        (SRV_REQ, win(20348, "ServerStandard", None)),
        # the rules are "SMB1 feature not installed / installed": neither is known
        ("windows:lanmanserver:smb1", win(20348, "ServerStandard", DC)),
    ],
)
def test_an_undecided_default_is_labelled_without_a_rule_condition(
    key: str, facts: HostFacts
) -> None:
    """The label of an unknown default must not state a condition that was not established."""
    res = resolve_default(key, facts)
    assert not res.known and "depends on" in res.reason
    assert res.label == f"default({facts.build}/{facts.edition}/{_role(facts)})"
    assert "DDCP" not in res.label and "SMB1 feature" not in res.label


def _role(facts: HostFacts) -> str:
    return facts.role.value if facts.role else "?"


@pytest.mark.parametrize(
    ("key", "version", "literal", "value"),
    [
        ("samba:server min protocol", "4.17.12-Debian", False, "SMB2_02"),
        ("samba:server min protocol", "4.11.0", False, "SMB2_02"),
        ("samba:server min protocol", "4.10.18", False, "LANMAN1"),
        ("samba:server min protocol", "4.17.12", True, "CORE"),
        ("samba:client min protocol", "4.17.12", False, "SMB2_02"),
        ("samba:client min protocol", "4.9.5", False, "CORE"),
        ("samba:client min protocol", "4.17.12", True, "CORE"),
        ("windows:mrxsmb10:start", "4.17.12", False, "SMB2_02"),
    ],
)
def test_samba_min_protocol(key: str, version: str, literal: bool, value: str) -> None:
    res = resolve_default(key, samba(MS, version), literal=literal)
    assert res.known and res.value == value


def test_samba_min_protocol_needs_a_version_when_absent() -> None:
    res = resolve_default("samba:server min protocol", samba(MS, None), literal=False)
    assert not res.known and "Samba version" in res.reason
    # an explicit 'default' means no minimum whatever the version
    assert (
        resolve_default("samba:server min protocol", samba(MS, None), literal=True).value == "CORE"
    )


def test_signing_entries_ignore_literal_flag() -> None:
    for literal in (None, False, True):
        assert (
            resolve_default("samba:server signing", samba(DC), literal=literal).value == "required"
        )


def test_product_of() -> None:
    assert product_of(win(None, "ServerStandard", None)) == "server"
    assert product_of(win(None, "Professional", None)) == "client"
    assert product_of(win(None, "ServerStandard", WS)) == "client"  # the role wins
    assert product_of(win(None, "ServerRdsh", MS)) is None
    assert product_of(win(None, None, SA)) is None


def test_every_control_default_resolves_for_a_typical_host() -> None:
    catalog = load_catalog()
    hosts = {
        "windows": win(22631, "Enterprise", WS, smb1_installed=False),
        "samba": samba(MS),
    }
    for control in catalog.controls.values():
        assert control.default_key is not None, control.id
        for fam in control.applies_to.os_families:
            facts = hosts[fam]
            if control.applies_to.min_build:
                facts = win(26100, "Enterprise", WS)
            if control.applies_to.roles == ("domain_controller",):  # the LDAP controls
                facts = win(17763, "ServerStandard", DC) if fam == "windows" else samba(DC)
            res = resolve_default(control.default_key, facts, literal=False)
            assert res.known, (control.id, fam, res.reason)


def test_packaged_table_is_the_catalog_table() -> None:
    assert set(load_defaults().entries) == set(load_catalog().defaults.entries)


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="reference samples not present")
def test_ddcp_sample_sets_what_the_dc_rule_says() -> None:
    text = (
        (SAMPLES / "gpttmpl_default_domain_controllers_policy.utf16le.inf")
        .read_bytes()
        .decode("utf-16")
    )
    values = {
        line.split("=")[0].rsplit("\\", 1)[-1].lower(): line.split("=", 1)[1]
        for line in text.splitlines()
        if line.startswith("MACHINE\\System\\CurrentControlSet\\Services\\LanManServer")
    }
    assert values == {"requiresecuritysignature": "4,1", "enablesecuritysignature": "4,1"}
    for key in (SRV_REQ, SRV_EN):
        assert resolve_default(key, win(20348, "ServerStandard", DC)).value == 1
    # the DDCP does not set the client value: a DC keeps the client default
    assert "lanmanworkstation" not in text.lower()
    assert resolve_default(CLI_REQ, win(20348, "ServerStandard", DC)).value == 0


def test_unknown_reason_names_each_missing_fact_once() -> None:
    """Nothing known about the host: each fact is named once ("role/edition" is two facts)."""
    res = resolve_default(SRV_REQ, win(None, None, None))
    assert res.reason == "default depends on build/edition/role (not known for this host)"

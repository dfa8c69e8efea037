"""The pure evaluation engine: precedence, types, deletions, defaults, SMB1-only, wire, Samba.

Every case builds SettingValues and ScanRecords by hand against a small in-test catalog
(tests/unit/engine_kit.py) whose defaults follow docs/reference.md §3.1-3.3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from engine_kit import (
    CATALOG,
    SRV,
    WKS,
    WKS_POLICY,
    cmdlet,
    facts,
    samba,
    sv,
    wire,
)

from smbsign.engine.evaluate import EVIDENCE_ERROR, evaluate
from smbsign.model import (
    CollectError,
    Finding,
    HostFacts,
    Layer,
    OsFamily,
    Role,
    ScanRecord,
    ScanStatus,
    SettingValue,
    Smb1Signing,
    Status,
)


def run(
    values: Sequence[SettingValue] = (),
    observations: Sequence[ScanRecord] = (),
    hf: HostFacts | None = None,
    errors: Sequence[CollectError] = (),
) -> dict[str, Finding]:
    found = evaluate(values, observations, hf or facts(), CATALOG, errors)
    return {f.control: f for f in found}


def one(control: str, *args: object, **kw: object) -> Finding:
    return run(*args, **kw)[control]  # type: ignore[arg-type]


GPO = {"layer": Layer.GPO, "kind": "gpttmpl", "path": "GptTmpl.inf", "location": "line 12"}


# ------------------------------------------------------------------ layer precedence


def test_gpo_beats_local_and_says_the_local_value_is_reverted() -> None:
    f = one("server-require", [sv(SRV, 0), sv(SRV, 1, **GPO)])
    assert f.status is Status.PASS
    assert f.source is not None and f.source.layer is Layer.GPO
    assert f.source.kind == "gpttmpl" and f.source.location == "line 12"
    assert f.observed == 1
    assert any("GPO (GptTmpl.inf line 12) sets 1" in n and "reverted" in n for n in f.notes)


def test_local_zero_under_gpo_one_fails_the_other_way_round() -> None:
    f = one("server-require", [sv(SRV, 1), sv(SRV, 0, **GPO)])
    assert f.status is Status.FAIL
    assert f.source is not None and f.source.layer is Layer.GPO
    assert any("local (a.reg line 3) sets 1" in n for n in f.notes)


def test_mdm_beats_gpo_with_race_note() -> None:
    mdm = {"layer": Layer.MDM, "kind": "winreg", "path": "live", "location": ""}
    f = one("server-require", [sv(SRV, 0, **GPO), sv(SRV, 1, **mdm)])
    assert f.status is Status.PASS and f.source is not None and f.source.layer is Layer.MDM
    assert any("MDMWinsOverGP" in n for n in f.notes)


def test_later_line_of_same_file_wins() -> None:
    f = one("server-require", [sv(SRV, 0, location="line 3"), sv(SRV, 1, location="line 9")])
    assert f.status is Status.PASS and f.source is not None and f.source.location == "line 9"


def test_two_files_of_same_layer_disagreeing_is_unknown() -> None:
    f = one("server-require", [sv(SRV, 0, path="a.reg"), sv(SRV, 1, path="b.reg")])
    assert f.status is Status.UNKNOWN
    assert "order cannot be known" in f.reason


def test_two_files_of_same_layer_with_same_verdict_decide() -> None:
    a = sv(SRV, 1, path="a.inf", **{k: v for k, v in GPO.items() if k != "path"})
    b = sv(SRV, 1, path="b.inf", **{k: v for k, v in GPO.items() if k != "path"})
    assert one("server-require", [a, b]).status is Status.PASS


def test_policy_key_beats_parameters_whatever_the_layer() -> None:
    values = [
        sv(WKS, 1, name="AllowInsecureGuestAuth", **GPO),
        sv(WKS_POLICY, 0, name="AllowInsecureGuestAuth", path="live.reg"),
    ]
    f = one("guest-off", values)
    assert f.status is Status.PASS
    assert f.source is not None and f.source.path == "live.reg"
    assert any("Software\\Policies value overrides" in n for n in f.notes)


def test_policy_deletion_falls_back_to_parameters_value() -> None:
    values = [
        sv(WKS, 1, name="AllowInsecureGuestAuth"),
        sv(WKS_POLICY, None, name="AllowInsecureGuestAuth", deleted=True, **GPO),
    ]
    f = one("guest-off", values)
    assert f.status is Status.FAIL and f.observed == 1
    assert any("deletes the policy value" in n for n in f.notes)


# ------------------------------------------------------------------ wrong type, deletion


def test_reg_sz_is_not_honoured_and_default_decides() -> None:
    f = one("server-require", [sv(SRV, "1", vtype="REG_SZ")])  # member server, build 19045
    assert f.status is Status.FAIL
    assert f.observed == "REG_SZ:1"
    assert f.source is not None and f.source.layer is Layer.DEFAULT
    assert "REG_SZ" in f.reason and "only honours REG_DWORD" in f.reason


def test_reg_sz_ignored_lower_layer_dword_decides() -> None:
    f = one("server-require", [sv(SRV, 1, path="low.reg"), sv(SRV, "0", vtype="REG_SZ", **GPO)])
    assert f.status is Status.PASS and f.source is not None and f.source.path == "low.reg"
    assert any("REG_SZ value '0'" in n and "ignored" in n for n in f.notes)


def test_gpo_deletion_hides_local_value_and_default_applies() -> None:
    gpo_del = sv(SRV, None, deleted=True, **GPO)
    f = one("server-require", [sv(SRV, 1), gpo_del])
    assert f.status is Status.FAIL  # default 0 on a member server
    assert f.observed == "deleted"
    assert f.source is not None and f.source.layer is Layer.DEFAULT
    assert "deletes RequireSecuritySignature" in f.reason


def test_local_deletion_under_gpo_value_changes_nothing() -> None:
    f = one("server-require", [sv(SRV, None, deleted=True), sv(SRV, 1, **GPO)])
    assert f.status is Status.PASS and f.source is not None and f.source.layer is Layer.GPO


# ------------------------------------------------------------------ defaults


@pytest.mark.parametrize(
    ("build", "edition", "role", "control", "status"),
    [
        (19045, "Enterprise", Role.MEMBER_SERVER, "server-require", Status.FAIL),
        (19045, "Enterprise", Role.DOMAIN_CONTROLLER, "server-require", Status.PASS),
        (26100, "Enterprise", Role.WORKSTATION, "server-require", Status.PASS),
        (26100, "Professional", Role.WORKSTATION, "client-require", Status.PASS),
        (26100, "Core", Role.WORKSTATION, "server-require", Status.FAIL),
        (26100, "Core", Role.WORKSTATION, "client-require", Status.FAIL),
        (26100, "ServerStandard", Role.MEMBER_SERVER, "server-require", Status.FAIL),
        (26100, "ServerStandard", Role.MEMBER_SERVER, "client-require", Status.PASS),
        (26100, "ServerStandard", Role.DOMAIN_CONTROLLER, "server-require", Status.PASS),
        (None, "Enterprise", Role.MEMBER_SERVER, "server-require", Status.UNKNOWN),
        (26100, None, Role.WORKSTATION, "server-require", Status.UNKNOWN),
        (19045, "Enterprise", None, "server-require", Status.UNKNOWN),
    ],
)
def test_absent_value_uses_default_by_build_edition_role(
    build: int | None, edition: str | None, role: Role | None, control: str, status: Status
) -> None:
    f = one(control, [], hf=facts(build=build, edition=edition, role=role))
    assert f.status is status
    assert f.observed == "absent"
    assert f.source is not None and f.source.kind == "default"
    if status is Status.UNKNOWN:
        assert "default is unknown" in f.reason
    else:
        assert f.source is not None and f.source.kind == "default"
        assert f.source.layer is Layer.DEFAULT and f.source.location
        assert any("not explicitly configured" in n for n in f.notes)


def test_no_default_key_is_unknown() -> None:
    f = one("guest-off", [])
    assert f.status is Status.UNKNOWN and "no default" in f.reason


def test_dc_passes_through_ddcp_gpttmpl_value() -> None:
    f = one("server-require", [sv(SRV, 1, **GPO)], hf=facts(role=Role.DOMAIN_CONTROLLER))
    assert f.status is Status.PASS and f.source is not None and f.source.kind == "gpttmpl"


# ------------------------------------------------------------------ applicability


def test_role_restricted_control() -> None:
    assert one("spn-hardening", hf=facts(role=Role.WORKSTATION)).status is Status.NOT_APPLICABLE
    f = one("spn-hardening", hf=facts(role=None))
    assert f.status is Status.UNKNOWN and "role is unknown" in f.reason
    assert one("spn-hardening", hf=facts(role=Role.MEMBER_SERVER)).status is Status.FAIL


def test_min_build_control() -> None:
    assert one("audit-client-signing", hf=facts(build=22631)).status is Status.NOT_APPLICABLE
    assert one("audit-client-signing", hf=facts(build=26100)).status is Status.FAIL


def test_windows_controls_not_applicable_on_samba() -> None:
    found = run([samba("server signing", "required")], hf=facts(family=OsFamily.SAMBA))
    assert found["client-require"].status is Status.NOT_APPLICABLE
    assert found["server-require"].status is Status.PASS


def test_os_family_inferred_from_evidence() -> None:
    hf = facts(family=None, role=Role.STANDALONE)
    assert one("server-require", [samba("server signing", "mandatory")], hf=hf).status is (
        Status.ERROR  # "mandatory" is not a canonical value: collectors canonicalise it
    )
    assert one("server-require", [samba("server signing", "required")], hf=hf).status is (
        Status.PASS
    )
    assert one("client-require", [sv(WKS, 1)], hf=hf).status is Status.PASS
    f = one("client-require", [], hf=facts(family=None))
    assert f.status is Status.UNKNOWN and "OS family is unknown" in f.reason


# ------------------------------------------------------------------ SMB1-only settings


@pytest.mark.parametrize(
    ("observations", "extra", "status"),
    [
        ([wire(0x01, smb1=False)], [], Status.NOT_APPLICABLE),  # SMB1 off on the wire
        ([wire(0x01, smb1=True, smb1_signing=Smb1Signing.DISABLED)], [], Status.FAIL),
        ([], [], Status.UNKNOWN),  # SMB1 state unknown: not counted as a failure
        ([], [sv(SRV, 0, name="SMB1")], Status.NOT_APPLICABLE),
        ([], [cmdlet("EnableSMB1Protocol", True)], Status.FAIL),
        ([], [cmdlet("EnableSMB1Protocol", False)], Status.NOT_APPLICABLE),
    ],
)
def test_server_if_client_agrees_only_matters_with_smb1(
    observations: list[ScanRecord], extra: list[SettingValue], status: Status
) -> None:
    values = [sv(SRV, 0, name="EnableSecuritySignature"), *extra]
    f = one("server-enable", values, observations)
    assert f.status is status
    assert f.observed == 0
    if status is Status.NOT_APPLICABLE:
        assert "only affects SMB1" in f.reason and "SMB1 is off" in f.reason
    if status is Status.UNKNOWN:
        assert "not counted as a failure" in f.reason


def test_smb1_only_pass_stays_pass_with_note_when_smb1_unknown() -> None:
    f = one("server-enable", [sv(SRV, 1, name="EnableSecuritySignature")])
    assert f.status is Status.PASS
    assert any("only affects SMB1" in n for n in f.notes)


def test_client_smb1_driver_disabled_makes_client_enable_not_applicable() -> None:
    values = [
        sv(WKS, 0, name="EnableSecuritySignature"),
        sv("HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10", 4, name="Start"),
    ]
    assert one("client-enable", values).status is Status.NOT_APPLICABLE
    values[1] = sv("HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10", 3, name="Start")
    assert one("client-enable", values).status is Status.FAIL


def test_smb1_feature_not_installed_fact() -> None:
    values = [sv(SRV, 0, name="EnableSecuritySignature")]
    f = one("server-enable", values, hf=facts(smb1_installed=False))
    assert f.status is Status.NOT_APPLICABLE and "not installed" in f.reason


# ------------------------------------------------------------------ wire and effective


def test_wire_decides_and_explains_disagreement_with_config() -> None:
    f = one("server-require", [sv(SRV, 1, **GPO)], [wire(0x01)])
    assert f.status is Status.FAIL
    assert f.source is not None and f.source.layer is Layer.WIRE and f.source.kind == "wire"
    assert f.observed == "not required"
    assert "0x0001" in f.reason
    assert any("configuration says 1" in n and "on the wire" in n for n in f.notes)


def test_wire_required_passes_even_when_config_absent() -> None:
    f = one("server-require", [], [wire(0x03)])
    assert f.status is Status.PASS and f.observed == "required"
    assert any("configuration says absent" in n for n in f.notes)  # member default is 0


def test_any_endpoint_not_requiring_signing_decides() -> None:
    obs = [wire(0x03, target="127.0.0.1"), wire(0x01, target="::1")]
    f = one("server-require", [], obs)
    assert f.status is Status.FAIL and f.source is not None and f.source.path == "[::1]:445"


@pytest.mark.parametrize("reason", ["connection refused", "closed: connection refused", ""])
def test_unusable_wire_is_noted_and_config_decides(reason: str) -> None:
    """The prober's reason may already start with the status (``closed: ...``): said once."""
    rec = replace(wire(None, status=ScanStatus.CLOSED), reason=reason)
    f = one("server-require", [sv(SRV, 1, **GPO)], [rec])
    assert f.status is Status.PASS and f.source is not None and f.source.layer is Layer.GPO
    [note] = [n for n in f.notes if n.startswith("wire probe of")]
    assert note == "wire probe of 10.0.0.5:445: " + (
        "closed" if not reason else "closed: connection refused"
    )


def test_cmdlet_is_effective_and_beats_configured_value() -> None:
    f = one("server-require", [sv(SRV, 1, **GPO), cmdlet("RequireSecuritySignature", False)])
    assert f.status is Status.FAIL
    assert f.source is not None and f.source.kind == "pwsh_json"
    assert f.observed is False
    assert any("has not been applied" in n for n in f.notes)


@pytest.mark.parametrize("garbage", ["Yes", "enabled", "", "2x"])
def test_cmdlet_value_that_is_no_boolean_is_ignored_not_judged(garbage: str) -> None:
    """A Boolean property reported as other text (damaged file) neither fails nor passes the
    host: it is noted and the configured value decides."""
    f = one("server-require", [sv(SRV, 1, **GPO), cmdlet("RequireSecuritySignature", garbage)])
    assert f.status is Status.PASS and f.source is not None and f.source.kind == "gpttmpl"
    assert any("not a value that property takes: ignored" in n for n in f.notes), f.notes
    alone = one("server-require", [cmdlet("RequireSecuritySignature", garbage)])
    assert alone.source is not None and alone.source.kind == "default"  # as if not reported
    assert alone.status is one("server-require", []).status


# ------------------------------------------------------------------ Samba


@pytest.mark.parametrize(
    ("role", "value", "status"),
    [
        (Role.STANDALONE, "required", Status.PASS),
        (Role.STANDALONE, "if_required", Status.FAIL),
        (Role.STANDALONE, "default", Status.FAIL),
        (Role.DOMAIN_CONTROLLER, "default", Status.PASS),
        (Role.MEMBER_SERVER, "off", Status.FAIL),
        (None, "default", Status.UNKNOWN),
        (None, "required", Status.PASS),
    ],
)
def test_samba_server_signing_by_role(role: Role | None, value: str, status: Status) -> None:
    hf = facts(family=OsFamily.SAMBA, build=None, edition=None, role=role)
    f = one("server-require", [samba("server signing", value)], hf=hf)
    assert f.status is status
    assert f.observed == value
    assert f.source is not None and f.source.kind == "smbconf"


def test_samba_absent_parameter_uses_role_default() -> None:
    hf = facts(family=OsFamily.SAMBA, build=None, edition=None, role=Role.DOMAIN_CONTROLLER)
    f = one("server-require", [], hf=hf)
    assert f.status is Status.PASS and f.source is not None and f.source.kind == "default"


def test_testparm_beats_smbconf_and_notes_difference() -> None:
    hf = facts(family=OsFamily.SAMBA, build=None, edition=None, role=Role.STANDALONE)
    values = [
        samba("server signing", "required"),
        samba("server signing", "if_required", layer=Layer.EFFECTIVE),
    ]
    f = one("server-require", values, hf=hf)
    assert f.status is Status.FAIL and f.source is not None and f.source.kind == "testparm"
    assert any("testparm is the authority" in n for n in f.notes)


def test_samba_config_mandatory_but_wire_not_required() -> None:
    hf = facts(family=OsFamily.SAMBA, build=None, edition=None, role=Role.STANDALONE)
    f = one("server-require", [samba("server signing", "required")], [wire(0x01)], hf=hf)
    assert f.status is Status.FAIL and f.source is not None and f.source.layer is Layer.WIRE
    assert any("reload-config" in n for n in f.notes)


def test_invalid_samba_value_is_error() -> None:
    hf = facts(family=OsFamily.SAMBA, build=None, edition=None, role=Role.STANDALONE)
    f = one("server-require", [samba("server signing", "bogus")], hf=hf)
    assert f.status is Status.ERROR and "Error loading services" in f.reason


# ------------------------------------------------------------------ errors


def test_collect_error_is_an_error_finding_and_absence_becomes_unknown() -> None:
    err = CollectError(host="h1", path="x/GptTmpl.inf", kind="gpttmpl", message="bad line 3")
    hf = facts(build=26100, edition="Enterprise", role=Role.WORKSTATION)
    found = run([sv(WKS, 1)], hf=hf, errors=[err])
    e = found[EVIDENCE_ERROR]
    assert e.status is Status.ERROR and e.reason == "bad line 3"
    assert e.source is not None and e.source.path == "x/GptTmpl.inf"
    srv = found["server-require"]  # would pass by the 24H2 Enterprise default
    assert srv.status is Status.UNKNOWN and "could not be read" in srv.reason
    cli = found["client-require"]  # configured value still decides, with a note
    assert cli.status is Status.PASS and any("could not be read" in n for n in cli.notes)


def test_every_control_gets_one_finding() -> None:
    found = evaluate([], [], facts(), CATALOG)
    assert sorted(f.control for f in found) == sorted(CATALOG.controls)
    assert all(f.host == "h1" and f.title and f.severity for f in found)


def test_host_with_only_an_unreadable_file_takes_the_family_of_its_kind() -> None:
    err = CollectError(host="h1", path="h1.reg", kind="regfile", message="odd byte count")
    found = run([], hf=facts(family=None), errors=[err])
    assert found[EVIDENCE_ERROR].status is Status.ERROR
    assert found["client-require"].status is Status.UNKNOWN
    assert "could not be read" in found["client-require"].reason


# ------------------------------------------------------------------ issue #11 items 5 and 9


@pytest.mark.parametrize("side", ["server", "client"])
def test_smb1_off_decides_before_an_unknown_default(side: str) -> None:
    """#11 item 5: SMB1 known off makes an "(if ... agrees)" control not_applicable even when
    its absent value's default is unknown (build not known)."""
    if side == "server":
        values = [sv(SRV, 0, name="SMB1")]
    else:
        values = [sv("HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10", 4, name="Start")]
    hf = facts(build=None, edition=None, role=None)
    control = f"{side}-enable"
    if side == "client":  # the kit's client default is known on every build: use a conflict
        values += [sv(WKS, 0, name="EnableSecuritySignature", path="a.reg")]
        values += [sv(WKS, 1, name="EnableSecuritySignature", path="b.reg")]
    f = one(control, values, hf=hf)
    assert f.status is Status.NOT_APPLICABLE, (f.status, f.reason)
    assert "SMB1 is off" in f.reason
    assert any("would have been: unknown" in n for n in f.notes)


def test_smb1_unknown_keeps_an_unknown_default_unknown() -> None:
    f = one("server-enable", [], hf=facts(build=None, edition=None, role=None))
    assert f.status is Status.UNKNOWN
    assert "default is unknown" in f.reason


def test_same_layer_files_that_disagree_are_not_said_to_agree() -> None:
    """#11 item 9: the note on two same-layer files that set 1 and 0 must not say their order
    does not matter (the reason says it cannot be known)."""
    f = one("server-require", [sv(SRV, 0, path="a.reg"), sv(SRV, 1, path="b.reg")])
    assert f.status is Status.UNKNOWN
    assert not any("same verdict" in n for n in f.notes), f.notes
    assert any("cannot be known" in n for n in f.notes), f.notes


def test_same_layer_files_with_the_same_verdict_say_so() -> None:
    a = sv(SRV, 1, path="a.reg")
    b = sv(SRV, 2, path="b.reg")  # differs in value, same verdict? 2 != 1: fails equals=1
    c = sv(SRV, 0, path="c.reg")
    d = sv(SRV, 3, path="d.reg")
    f = one("server-require", [c, d])  # both fail: order does not matter for the verdict
    assert f.status is Status.FAIL
    assert any("same verdict" in n for n in f.notes), f.notes
    assert one("server-require", [a, b]).status is Status.UNKNOWN


# ------------------------------------------------------------------ #11 item 19: bounded reasons


def test_a_conflict_among_many_files_is_summarised_not_listed_in_full() -> None:
    values = [sv(SRV, i % 2, path=f"host{i:04}/x{i:04}.reg") for i in range(3000)]
    f = one("server-require", values)
    assert f.status is Status.UNKNOWN and "order cannot be known" in f.reason
    assert len(f.reason) < 1500, len(f.reason)
    assert "and 2995 more" in f.reason
    assert len(f.notes) <= 21, len(f.notes)
    assert sum(len(n) for n in f.notes) < 8000
    assert any("more" in n for n in f.notes)


def test_a_short_list_is_listed_in_full() -> None:
    values = [sv(SRV, i % 2, path=f"f{i}.reg") for i in range(3)]
    f = one("server-require", values)
    assert all(f"f{i}.reg" in f.reason for i in range(3)) and "more" not in f.reason


def test_many_unreadable_files_are_counted_not_listed() -> None:
    errors = [
        CollectError(host="h1", path=f"dir/f{i:03}.reg", kind="regfile", message="bad")
        for i in range(200)
    ]
    f = one("server-require", [], errors=errors)
    assert f.status is Status.UNKNOWN
    assert "and 195 more" in f.reason and len(f.reason) < 800, f.reason

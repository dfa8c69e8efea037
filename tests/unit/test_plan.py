"""Remediation plans: selection by controls or findings, target kinds, stages, impacts."""

from __future__ import annotations

import pytest
from fix_controls import dc_only, sample_controls

from smbsign.errors import UsageError
from smbsign.remediate.plan import Stage, TargetKind, build_plan, plan_to_dict


def ids(plan) -> list[str]:
    return [c.id for c in plan.changes]


def test_default_selects_every_enforcing_control_for_the_target() -> None:
    plan = build_plan(sample_controls(), TargetKind.WINDOWS_SERVER)
    assert ids(plan) == ["smb-server-signing-required", "smb-client-signing-required"]
    # the Samba-only control is skipped with its reason, not silently dropped
    assert [(s.control, s.reason) for s in plan.skipped] == [
        ("samba-client-ipc-signing-required", "not a windows control (applies to samba)")
    ]
    assert all(ch.registry and not ch.samba for ch in plan.changes)


def test_samba_target_uses_smb_conf_state() -> None:
    plan = build_plan(sample_controls(), TargetKind.SAMBA)
    assert ids(plan) == [
        "smb-server-signing-required",
        "smb-client-signing-required",
        "samba-client-ipc-signing-required",
    ]
    assert [s.parameter for ch in plan.changes for s in ch.samba] == [
        "server signing",
        "client signing",
        "client ipc signing",
    ]
    assert all(not ch.registry for ch in plan.changes)


def test_explicit_controls_keep_order_and_reject_unknown_ids() -> None:
    plan = build_plan(
        sample_controls(),
        TargetKind.WINDOWS_CLIENT,
        control_ids=["smb1-client-disabled", "smb-client-signing-required"],
    )
    assert ids(plan) == ["smb1-client-disabled", "smb-client-signing-required"]
    with pytest.raises(UsageError, match="no-such-control"):
        build_plan(sample_controls(), TargetKind.WINDOWS_CLIENT, control_ids=["no-such-control"])


def test_role_filter_skips_controls_for_other_roles() -> None:
    controls = [*sample_controls(), dc_only()]
    server = build_plan(controls, TargetKind.WINDOWS_SERVER)
    assert "dc-only-example" not in ids(server)
    assert any(
        s.control == "dc-only-example" and "domain_controller" in s.reason for s in server.skipped
    )
    dc = build_plan(controls, TargetKind.DOMAIN_CONTROLLER)
    assert "dc-only-example" in ids(dc)


def test_audit_stage_turns_on_the_audit_policies_only() -> None:
    plan = build_plan(sample_controls(), TargetKind.WINDOWS_SERVER, stage=Stage.AUDIT)
    assert ids(plan) == ["smb-server-audit-unsigned-clients", "smb-client-audit-unsigned-servers"]
    reasons = {s.control: s.reason for s in plan.skipped}
    assert "next stage" in reasons["smb-server-signing-required"]
    # the 24H2 build requirement is an impact the admin sees
    assert any(
        i.control == "smb-server-audit-unsigned-clients" and "26100" in i.text for i in plan.impacts
    )


def test_audit_stage_follows_the_side_of_explicit_controls() -> None:
    plan = build_plan(
        sample_controls(),
        TargetKind.WINDOWS_SERVER,
        stage=Stage.AUDIT,
        control_ids=["smb-server-signing-required"],
    )
    assert ids(plan) == ["smb-server-audit-unsigned-clients"]


def test_enforce_stage_never_includes_audit_controls() -> None:
    plan = build_plan(
        sample_controls(),
        TargetKind.WINDOWS_SERVER,
        stage=Stage.ENFORCE,
        control_ids=["smb-server-audit-unsigned-clients", "smb-server-signing-required"],
    )
    assert ids(plan) == ["smb-server-signing-required"]
    assert plan.skipped[0].control == "smb-server-audit-unsigned-clients"


def test_samba_has_no_audit_stage() -> None:
    plan = build_plan(sample_controls(), TargetKind.SAMBA, stage=Stage.AUDIT)
    assert plan.empty
    assert any("Samba has no audit" in s.reason for s in plan.skipped)


def test_findings_select_failing_controls_and_list_unknown_ones() -> None:
    findings = [
        {"host": "10.0.0.5", "control": "smb-server-signing-required", "status": "fail"},
        {"host": "10.0.0.6", "control": "smb-server-signing-required", "status": "fail"},
        {"host": "10.0.0.6", "control": "smb-server-signing-required", "status": "fail"},
        {"host": "10.0.0.5", "control": "smb-client-signing-required", "status": "pass"},
        {
            "host": "10.0.0.7",
            "control": "smb-client-signing-required",
            "status": "unknown",
            "reason": "default depends on edition/build",
        },
        {"host": "10.0.0.7", "control": "retired-control", "status": "fail"},
    ]
    plan = build_plan(sample_controls(), TargetKind.WINDOWS_SERVER, findings=findings)
    assert ids(plan) == ["smb-server-signing-required"]
    assert plan.changes[0].hosts == ("10.0.0.5", "10.0.0.6")
    reasons = {s.control: s.reason for s in plan.skipped}
    assert reasons["retired-control"] == "not in the catalog"
    assert "default depends on edition/build" in reasons["smb-client-signing-required"]


def test_findings_in_audit_stage_pick_audit_policy_of_the_failing_side() -> None:
    findings = [{"host": "h", "control": "smb-client-signing-required", "status": "fail"}]
    plan = build_plan(
        sample_controls(), TargetKind.WINDOWS_CLIENT, stage=Stage.AUDIT, findings=findings
    )
    assert ids(plan) == ["smb-client-audit-unsigned-servers"]


def test_impacts_come_from_considerations_and_restart_needs() -> None:
    plan = build_plan(
        sample_controls(),
        TargetKind.WINDOWS_CLIENT,
        control_ids=["smb-server-signing-required", "smb1-client-disabled"],
    )
    topics = [(i.control, i.topic) for i in plan.impacts]
    assert ("smb-server-signing-required", "nas_printers") in topics
    assert ("smb-server-signing-required", "guest_access") in topics
    assert ("smb1-client-disabled", "smb1_peers") in topics
    assert ("smb1-client-disabled", "restart") in topics


def test_plan_dict_is_json_ready() -> None:
    import json

    plan = build_plan(sample_controls(), TargetKind.SAMBA)
    data = json.loads(json.dumps(plan_to_dict(plan)))
    assert data["target"] == "samba"
    assert data["changes"][0]["samba"] == [
        {"parameter": "server signing", "value": "mandatory", "section": "global"}
    ]


def test_scan_findings_name_hosts_by_address_once_per_host() -> None:
    """#11 item 20: 445 and 139 of one host are one host; another port is kept in the name."""
    from smbsign.model import ScanRecord, ScanStatus, Smb1Observation, Smb2Observation
    from smbsign.remediate.scan_findings import scan_findings

    smb2 = Smb2Observation(dialect="3.0", dialect_revision=0x300, security_mode=0x01)
    no1 = Smb1Observation(offered=False)
    ok = ScanStatus.OK
    recs = [
        ScanRecord("192.0.2.7", 445, ok, False, no1, smb2),
        ScanRecord("192.0.2.7", 139, ok, False, no1, smb2, transport="netbios"),
        ScanRecord("2001:db8::7", 4450, ok, False, no1, smb2),
    ]
    findings, notes = scan_findings(recs, TargetKind.SAMBA)
    assert [f["host"] for f in findings] == ["192.0.2.7", "[2001:db8::7]:4450"]
    assert {f["control"] for f in findings} == {"smb-server-signing-required"}
    assert "signing not required on 2" in notes[0] and "--target samba" in notes[-1]


def test_fix_input_reads_report_records_and_scan_lines() -> None:
    """#11 item 20: a report's typed ``record`` lines and its JSON (empty findings) are scan
    records too; a finding file stays findings."""
    import json

    from smbsign.model import ScanRecord, ScanStatus, Smb1Observation, Smb2Observation
    from smbsign.remediate.findings import parse_fix_input
    from smbsign.serialize import scan_record_to_dict

    smb2 = Smb2Observation(dialect="3.0", dialect_revision=0x300, security_mode=0x01)
    rec = scan_record_to_dict(
        ScanRecord("192.0.2.8", 445, ScanStatus.OK, False, Smb1Observation(False), smb2)
    )
    lines = [{"type": "run", "id": 1}, {"type": "record", "run_id": 1, **rec}]
    got = parse_fix_input("\n".join(json.dumps(x) for x in lines).encode(), "r.jsonl")
    assert got.records is not None and [r.target for r in got.records] == ["192.0.2.8"]
    doc = {"schema_version": "1.0", "run": {}, "records": [rec], "findings": []}
    got = parse_fix_input(json.dumps(doc).encode(), "r.json")
    assert got.records is not None and got.records[0].relayable
    finding = {"control": "smb-server-signing-required", "status": "fail", "host": "h"}
    got = parse_fix_input(json.dumps({"findings": [finding], "records": [rec]}).encode(), "f")
    assert got.records is None and got.findings == (finding,)


@pytest.mark.parametrize(
    ("server_role", "ldap_planned"),
    [
        ("active directory domain controller", True),
        ("DC", True),
        ("standalone server", False),
        ("member server", False),
        ("classic primary domain controller", False),  # NT4-style: no LDAP server
        (None, False),  # 'auto' with the default security = user: standalone
    ],
)
def test_a_samba_conf_server_role_decides_the_dc_only_controls(
    server_role: str | None, ldap_planned: bool
) -> None:
    """`fix --samba FILE` on a member or standalone server must not plan (and then verify on
    the wire) a domain-controller-only control such as LDAP signing (smb.conf(5) server role)."""
    from smbsign.catalog import load_catalog
    from smbsign.codecs.smbconf import global_parameters
    from smbsign.remediate.plan import samba_roles

    text = "[global]\n\tworkgroup = LAB\n"
    if server_role is not None:
        text += f"\tserver role = {server_role}\n"
    roles = samba_roles(global_parameters(text))
    plan = build_plan(list(load_catalog().controls.values()), TargetKind.SAMBA, roles=roles)
    planned = {ch.id for ch in plan.changes}
    assert ("ldap-server-signing-required" in planned) is ldap_planned
    assert "smb-server-signing-required" in planned
    if not ldap_planned:
        (why,) = [s.reason for s in plan.skipped if s.control == "ldap-server-signing-required"]
        assert "domain_controller" in why

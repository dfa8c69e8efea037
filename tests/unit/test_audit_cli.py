"""`smbsign audit` end to end over fixtures and the real reference samples (no network).

Windows evidence here is recorded or hand-written files (no Windows host runs in these
tests); Samba configs go through the real collectors. Every JSON output is validated against
``smbsign/schemas/finding.schema.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from smbsign.cli import app

ROOT = Path(__file__).resolve().parents[2]
AUDIT_FIX = ROOT / "tests" / "fixtures" / "audit"
COLLECT_FIX = ROOT / "tests" / "fixtures" / "collect"
SAMPLES = ROOT.parent / "shared" / "reference" / "samples"
DDCP = SAMPLES / "gpttmpl_default_domain_controllers_policy.utf16le.inf"
SHB = SAMPLES / "gpttmpl_nsa_shb_dod_win10_stig_computer.utf16le.inf"
OUTCOMES = ("pass", "fail", "unknown", "not_applicable", "error")
CLASSIC_MEMBER = ["--os-build", "20348", "--edition", "ServerStandard", "--role", "member_server"]

SCHEMA = json.loads(
    (resources.files("smbsign") / "schemas" / "finding.schema.json").read_text(encoding="utf-8")
)
DOC_SCHEMA = {**SCHEMA, "$ref": "#/$defs/document"}

needs_samples = pytest.mark.skipif(
    not DDCP.is_file(), reason=f"reference samples not found at {SAMPLES} (shared/ beside repo)"
)


def audit(*args: str | Path) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``smbsign audit ... -f json`` in-process; validate and return the findings."""
    result = CliRunner().invoke(app, ["audit", *map(str, args), "--format", "json"])
    out = result.stdout
    findings: list[dict[str, Any]] = []
    if result.exit_code in (0, 1):
        doc = json.loads(out)
        jsonschema.validate(doc, DOC_SCHEMA)
        findings = doc["findings"]
    return result.exit_code, findings, result.stderr


def by_control(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["control"]: f for f in findings}


# ------------------------------------------------------------------ real samples


@needs_samples
def test_ddcp_sample_for_a_dc_passes_server_signing_from_the_gpo() -> None:
    code, findings, _ = audit(DDCP, "--role", "domain_controller")
    f = by_control(findings)["smb-server-signing-required"]
    assert f["status"] == "pass"
    assert f["observed"] == 1
    assert f["source"]["kind"] == "gpttmpl" and f["source"]["layer"] == "gpo"
    assert f["source"]["location"] == "line 6"  # RequireSecuritySignature=4,1 in the DDCP
    assert f["source"]["path"].endswith(DDCP.name)
    assert code == 1  # build unknown: other controls cannot be decided


@needs_samples
def test_ddcp_sample_selected_controls_exit_zero() -> None:
    code, findings, _ = audit(
        DDCP,
        "--role",
        "domain_controller",
        "--controls",
        "smb-server-signing-required,smb-server-signing-enabled,smb-server-spn-hardening",
    )
    statuses = {f["control"]: f["status"] for f in findings}
    assert statuses == {
        "smb-server-signing-required": "pass",
        "smb-server-signing-enabled": "pass",  # SMB1-only, compliant: pass with a note
        "smb-server-spn-hardening": "not_applicable",  # CIS: member servers only
    }
    assert code == 0


@needs_samples
def test_nsa_shb_sample_workstation() -> None:
    code, findings, _ = audit(
        SHB, "--os-build", "19045", "--edition", "Enterprise", "--role", "workstation"
    )
    got = by_control(findings)
    for control in (
        "smb-server-signing-required",
        "smb-client-signing-required",
        "smb-client-plaintext-password-disabled",
        "smb-server-spn-hardening",
    ):
        assert got[control]["status"] == "pass", control
        assert got[control]["source"]["kind"] == "gpttmpl"
    assert got["smb-server-audit-unsigned-clients"]["status"] == "not_applicable"  # < 26100
    assert code == 1  # SMB1 state is not in the template: smb1-* are unknown


@needs_samples
def test_gpo_sample_beats_local_reg_that_says_zero(tmp_path: Path) -> None:
    """The sample is a GPO; a local .reg for the same host saying 0 loses and is explained."""
    local = tmp_path / "dc1.reg"
    local.write_text(
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters]\r\n"
        '"RequireSecuritySignature"=dword:00000000\r\n',
        encoding="utf-8",
    )
    _code, findings, _ = audit(DDCP, local, "--host", "dc1", "--role", "domain_controller")
    f = by_control(findings)["smb-server-signing-required"]
    assert f["host"] == "dc1" and f["status"] == "pass"
    assert f["source"]["layer"] == "gpo"
    assert any("GPO wins" in n and "reverted" in n and "dc1.reg line 4" in n for n in f["notes"])


# ------------------------------------------------------------------ fixture outcomes


def _cases() -> list[Path]:
    out = []
    for control_dir in sorted(p for p in AUDIT_FIX.iterdir() if p.is_dir()):
        for case in sorted(control_dir.iterdir()):
            if case.suffix != ".args":
                out.append(case)
    return out


def _outcome(name: str) -> str:
    parts = name.split(".")
    assert len(parts) >= 2 and parts[1] in OUTCOMES, f"fixture {name}: no outcome in its name"
    return parts[1]


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_audit_fixture_outcome(case: Path) -> None:
    control, want = case.parent.name, _outcome(case.name)
    args_file = case.with_name(case.name + ".args")
    extra = shlex.split(args_file.read_text()) if args_file.is_file() else []
    code, findings, stderr = audit(case, *extra)
    assert "Traceback" not in stderr
    got = by_control(findings)
    if control == "evidence-error":
        assert want == "error"
        assert got["evidence-error"]["status"] == "error"
        assert got["evidence-error"]["source"]["path"].endswith(case.name)
        assert code == 1
        return
    f = got[control]
    assert f["status"] == want, f"{case.name}: {f['status']} — {f['reason']} {f['notes']}"
    assert code == (
        1 if any(x["status"] not in ("pass", "not_applicable") for x in findings) else 0
    )


# The collectors' fixtures name the outcome for the signing control(s) each one targets
# (tests/fixtures/collect/README.md); the targets are listed here, every such file must be.
COLLECT_TARGETS: dict[str, tuple[list[str], dict[str, str]]] = {
    "inf/GptTmpl.fail.inf": (
        [],
        {"smb-server-signing-required": "fail", "smb-client-signing-required": "fail"},
    ),
    "inf/GptTmpl.pass.inf": (
        [],
        {"smb-server-signing-required": "pass", "smb-client-signing-required": "pass"},
    ),
    "inf/secedit-export.fail.ansi.inf": ([], {"smb-server-signing-required": "fail"}),
    "inf/secedit-export.fail.utf16.inf": ([], {"smb-server-signing-required": "fail"}),
    "pol/lanman.fail.Registry.pol": (
        [],
        {"smb-server-signing-required": "fail", "smb-client-signing-required": "fail"},
    ),
    "pol/lanman.pass.Registry.pol": (
        [],
        {
            "smb-server-signing-required": "pass",
            "smb-client-signing-required": "pass",
            "smb-server-audit-unsigned-clients": "pass",
        },
    ),
    "pwsh/client-plain.fail.json": ([], {"smb-client-signing-required": "fail"}),
    "pwsh/server-plain.fail.json": ([], {"smb-server-signing-required": "fail"}),
    "pwsh/smbsign-shape.pass.json": (
        [],
        {"smb-server-signing-required": "pass", "smb-client-signing-required": "pass"},
    ),
    "reg/deletions.fail.reg": (
        CLASSIC_MEMBER,
        {"smb-server-signing-required": "fail", "smb-client-signing-required": "fail"},
    ),
    "reg/policy-mdm.pass.reg": (
        ["--os-build", "26100", "--edition", "ServerStandard", "--role", "member_server"],
        {"smb-server-audit-unsigned-clients": "pass"},
    ),
    "reg/server-not-required.fail.regedit4.reg": ([], {"smb-server-signing-required": "fail"}),
    "reg/server-required-wrongtype.fail.reg": (
        CLASSIC_MEMBER,
        {"smb-server-signing-required": "fail"},
    ),
    "reg/server-required.pass.reg": ([], {"smb-server-signing-required": "pass"}),
    "reg/server-required.pass.utf16be.reg": ([], {"smb-server-signing-required": "pass"}),
    "reg/server-required.pass.utf8.reg": ([], {"smb-server-signing-required": "pass"}),
    "reg/server-required.pass.utf8bom.reg": ([], {"smb-server-signing-required": "pass"}),
    "winreg/member-2022.fail.json": (
        [],
        {"smb-client-signing-required": "fail", "smb-server-signing-required": "pass"},
    ),
    "smbconf/addc.pass.smb.conf": ([], {"smb-server-signing-required": "pass"}),
    "smbconf/auto.fail.smb.conf": ([], {"smb-server-signing-required": "fail"}),
    "smbconf/continuation.pass.smb.conf": ([], {"smb-server-signing-required": "pass"}),
    "smbconf/include.pass.smb.conf": ([], {"smb-server-signing-required": "pass"}),
    "smbconf/latin1.pass.smb.conf": ([], {"smb-server-signing-required": "pass"}),
    "smbconf/mandatory.pass.smb.conf": ([], {"smb-server-signing-required": "pass"}),
    "smbconf/member.fail.smb.conf": ([], {"smb-server-signing-required": "fail"}),
    "smbconf/override.fail.smb.conf": ([], {"smb-server-signing-required": "fail"}),
    "smbconf/synonyms.pass.smb.conf": ([], {"smb-server-signing-required": "pass"}),
}


def _collect_fixtures() -> list[str]:
    names = []
    for p in sorted(COLLECT_FIX.rglob("*")):
        outcome = p.name.split(".")[1] if p.name.count(".") >= 1 else ""
        if p.is_file() and outcome in ("pass", "fail", "error"):
            names.append(p.relative_to(COLLECT_FIX).as_posix())
    return names


@pytest.mark.parametrize("rel", _collect_fixtures())
def test_collect_fixture_outcome(rel: str) -> None:
    outcome = Path(rel).name.split(".")[1]
    code, findings, stderr = audit(COLLECT_FIX / rel, *COLLECT_TARGETS.get(rel, ([], {}))[0])
    assert "Traceback" not in stderr
    got = by_control(findings)
    if outcome == "error":
        assert got["evidence-error"]["status"] == "error"
        assert code == 1
        return
    assert rel in COLLECT_TARGETS, f"new collector fixture {rel}: add its target controls here"
    targets = COLLECT_TARGETS[rel][1]
    assert outcome in targets.values(), f"{rel}: the named outcome must be a target's outcome"
    for control, want in targets.items():
        f = got[control]
        assert f["status"] == want, f"{rel} {control}: {f['status']} — {f['reason']}"
        if f["source"]["kind"] != "default":
            assert f["source"]["path"].endswith(Path(rel).name) or "include" in rel


# ------------------------------------------------------------------ formats and exit codes


def test_jsonl_csv_table_and_output_file(tmp_path: Path) -> None:
    case = AUDIT_FIX / "smb-server-signing-required" / "samba-auto.fail.conf"
    runner = CliRunner()
    jl = runner.invoke(app, ["audit", str(case), "-f", "jsonl"])
    lines = [json.loads(line) for line in jl.stdout.splitlines()]
    for line in lines:
        jsonschema.validate(line, SCHEMA)
    assert jl.exit_code == 1
    out = tmp_path / "r.csv"
    res = runner.invoke(app, ["audit", str(case), "-o", str(out)])
    assert res.exit_code == 1 and res.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == len(lines)
    row = next(r for r in rows if r["control"] == "smb-server-signing-required")
    assert row["status"] == "fail" and row["source_kind"] == "smbconf"
    assert row["source_layer"] == "local" and row["observed"] == "if_required"
    table = runner.invoke(app, ["audit", str(case), "-f", "table"])
    assert "smb-server-signing-required" in table.stdout and "findings:" in table.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["/nonexistent/evidence.reg"],
        ["{case}", "--controls", "no-such-control"],
        ["{case}", "--framework", "no-such-framework"],
        ["{case}", "--role", "mainframe"],
        ["{case}", "--os-family", "beos"],
        ["{case}", "--format", "xml"],
        ["{case}", "--probe"],
        ["{case}", "--probe", "--host", "not-an-ip"],
        ["{case}", "--address", "127.0.0.1"],
        ["{case}", "--samba-conf", "/etc/samba/smb.conf"],
        ["{case}", "--os-build", "zero"],
        ["{case}", "--host", ""],  # the schema requires a host name
        ["{case}", "--host", "   "],
        ["{case}", "--host", "a\nb"],
        ["{case}", "--role", ""],
        ["{case}", "--edition", ""],
        ["{case}", "--os-family", ""],
        ["{case}", "--format", ""],
        ["{case}", "--smb1-feature", "maybe"],
        ["{case}", "--smb1-feature", ""],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    case = str(AUDIT_FIX / "smb-server-signing-required" / "samba-auto.fail.conf")
    res = CliRunner().invoke(app, ["audit", *(a.replace("{case}", case) for a in args)])
    assert res.exit_code == 2, res.stdout + res.stderr
    assert res.stdout == ""
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("name", ["misconfiguration-manager", "Misconfiguration-Manager"])
def test_framework_filter(name: str) -> None:
    case = AUDIT_FIX / "smb-server-signing-required" / "samba-mandatory.pass.conf"
    _code, findings, _ = audit(case, "--framework", name)
    assert findings and all(f["control"] != "smb1-client-disabled" for f in findings)
    assert {f["control"] for f in findings} <= {
        "smb-server-signing-required",
        "smb-client-signing-required",
        "samba-client-ipc-signing-required",
        "smb-server-signing-enabled",
        "smb-client-signing-enabled",
        "ldap-server-signing-required",  # PREVENT-13 (#12 item 3)
        "ldap-server-channel-binding",
    }


def test_exit_zero_when_everything_applicable_passes() -> None:
    case = AUDIT_FIX / "smb-server-signing-required" / "samba-mandatory.pass.conf"
    code, findings, _ = audit(
        case, "--controls", "smb-server-signing-required,smb-server-spn-hardening"
    )
    assert [f["status"] for f in findings] == ["pass", "not_applicable"]
    assert code == 0


def test_cli_conflicting_facts_are_noted_on_stderr() -> None:
    case = AUDIT_FIX / "smb-server-signing-required" / "absent-24h2-home.fail.reg"
    _code, findings, stderr = audit(case, "--edition", "Enterprise")
    assert "evidence says edition Core" in stderr and "using Enterprise" in stderr
    assert by_control(findings)["smb-server-signing-required"]["status"] == "pass"


def test_console_entry_point_never_prints_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "x.reg"
    bad.write_bytes(b"\xff\xfe\x00")
    proc = subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "audit", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "evidence-error" in proc.stdout


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=2048),
    name=st.sampled_from(["x.reg", "GptTmpl.inf", "Registry.pol", "smb.conf", "out.json", "blob"]),
)
def test_garbage_evidence_is_an_error_finding(tmp_path: Path, data: bytes, name: str) -> None:
    """Random bytes under any name: findings (never a crash), exit 1."""
    path = tmp_path / name
    path.write_bytes(data)
    res = CliRunner().invoke(app, ["audit", str(path), "-f", "jsonl"])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 1
    findings = [json.loads(line) for line in res.stdout.splitlines()]
    for f in findings:
        jsonschema.validate(f, SCHEMA)
    assert any(f["status"] in ("error", "unknown", "fail") for f in findings)


@needs_samples
@pytest.mark.parametrize(
    "sample",
    sorted(p.name for p in SAMPLES.iterdir() if p.is_file()) if SAMPLES.is_dir() else [],
)
def test_every_reference_sample_gets_a_clear_answer(sample: str) -> None:
    """GPO templates are evidence; the other samples (framework lists, SCA policies and
    exports) are not host evidence and are reported as such (checklist findings or Wazuh's
    results, tests/unit/test_audit_samples.py), never crash; only the non-sample docs are
    unrecognised."""
    code, findings, stderr = audit(SAMPLES / sample, "--role", "member_server")
    assert "Traceback" not in stderr and code in (0, 1)
    got = by_control(findings)
    if sample.startswith("gpttmpl_"):
        assert "evidence-error" not in got and code == 1
        f = got["smb-server-signing-required"]
        assert f["status"] == "pass" and f["source"]["kind"] == "gpttmpl"
    elif sample in ("README.md", ".gitattributes"):
        assert got["evidence-error"]["status"] == "error"
        assert got["evidence-error"]["source"]["path"].endswith(sample)
    else:
        assert "evidence-error" not in got
        assert all(f["status"] != "error" for f in findings)
        kinds = {(f["source"] or {}).get("kind") for f in findings}
        assert got.get("checklist", {}).get("status") == "not_applicable" or kinds == {
            "wazuh_export"
        }


@needs_samples
def test_audit_run_is_recorded_in_history(tmp_path: Path) -> None:
    """Every audit run lands in the history store with its findings (docs/report.md)."""
    from smbsign.store import list_runs, load_run

    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    result = CliRunner().invoke(
        app, ["audit", str(DDCP), "--role", "domain_controller", "--format", "json", "--db", db]
    )
    assert result.exit_code == 1, result.stderr
    assert "recorded audit run" in result.stderr
    runs = list_runs(db)
    assert [r.kind for r in runs] == ["audit"]
    stored = {f.control: f.status.value for f in load_run(db, runs[0].id).findings}
    printed = {f["control"]: f["status"] for f in json.loads(result.stdout)["findings"]}
    assert stored == printed
    assert stored["smb-server-signing-required"] == "pass"
    result = CliRunner().invoke(app, ["audit", str(DDCP), "--db", db, "--no-store"])
    assert len(list_runs(db)) == 1


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\u2029"])
def test_jsonl_keeps_one_finding_a_line_whatever_the_host_name(tmp_path: Path, brk: str) -> None:
    """Host names come from file names: a line-breaking character in one stays escaped."""
    case = tmp_path / f"fs{brk}01.conf"
    case.write_text("[global]\n\tserver signing = mandatory\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", str(case), "-f", "jsonl", "--no-store"])
    assert res.exit_code in (0, 1), res.stderr
    lines = res.stdout.splitlines()  # splits on U+0085/U+2028/U+2029 too
    findings = [json.loads(line) for line in lines]
    assert len(findings) == res.stdout.count("\n")
    assert {f["host"] for f in findings} == {f"fs{brk}01"}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_a_file_name_that_is_not_utf8_is_shown_not_a_crash(tmp_path: Path, fmt: str) -> None:
    """Linux file names are bytes: ``\\xff\\xfe.conf`` is named in every format (and stored
    in the history) with its bytes escaped."""
    case = tmp_path / os.fsdecode(b"\xff\xfe.conf")
    case.write_text("[global]\n\tserver signing = mandatory\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", str(case), "-f", fmt, "--db", _db(tmp_path)])
    assert res.exit_code in (0, 1), res.stderr
    assert "internal error" not in res.stderr and "recorded audit run" in res.stderr
    if fmt in ("json", "jsonl"):
        doc = (
            json.loads(res.stdout)
            if fmt == "json"
            else {
                "schema_version": "1.0",
                "findings": [json.loads(line) for line in res.stdout.splitlines()],
            }
        )
        jsonschema.validate(doc, DOC_SCHEMA)
        assert {f["host"] for f in doc["findings"]} == {"\\xff\\xfe"}
    else:
        assert "\\xff\\xfe" in res.stdout


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite'}"


@pytest.mark.parametrize(
    ("feature", "server", "client", "label"),
    [
        ("absent", "pass", "pass", "default(SMB1 feature not installed/20348/member_server)"),
        # installed: an absent SMB1 value means on; an absent mrxsmb10 Start is unexpected
        ("installed", "fail", "unknown", "default(SMB1 feature installed/20348/member_server)"),
        (None, "unknown", "unknown", "default(20348/ServerStandard/member_server)"),
    ],
)
def test_smb1_feature_fact_decides_what_an_absent_smb1_value_means(
    feature: str | None, server: str, client: str, label: str
) -> None:
    """docs/reference.md §1.3: an absent SMB1 value means enabled where the feature is installed."""
    case = AUDIT_FIX / "smb-server-signing-required" / "wrongtype-classic.fail.reg"  # no SMB1
    extra = ["--smb1-feature", feature] if feature else []
    _code, findings, _ = audit(case, *CLASSIC_MEMBER, *extra)
    got = by_control(findings)
    for control, status in (("smb1-server-disabled", server), ("smb1-client-disabled", client)):
        assert got[control]["status"] == status, got[control]
        assert got[control]["source"]["location"] == label
    enabled = got["smb-server-signing-enabled"]  # SMB1-only: off with the feature absent
    assert enabled["status"] == ("not_applicable" if feature == "absent" else enabled["status"])


# ------------------------------------------------------------------ #11 items 4 and 19


def _fleet(tmp_path: Path, n: int = 3) -> Path:
    fleet = tmp_path / "fleet"
    for i in range(n):
        name = "server-required.pass.reg" if i % 2 == 0 else "server-not-required.fail.regedit4.reg"
        (fleet / f"host{i}").mkdir(parents=True)
        (fleet / f"host{i}" / "a.reg").write_bytes((COLLECT_FIX / "reg" / name).read_bytes())
    return fleet


def test_host_per_dir_makes_one_host_per_subfolder(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    code, findings, _ = audit(fleet, "--controls", "smb-server-signing-required", "--no-store")
    assert {f["host"] for f in findings} == {"fleet"}  # without the option: one host
    code, findings, _ = audit(
        fleet, "--host-per-dir", "--controls", "smb-server-signing-required", "--no-store"
    )
    assert code == 1
    status = {f["host"]: f["status"] for f in findings}
    assert status == {"host0": "pass", "host1": "fail", "host2": "pass"}


def test_host_per_dir_with_host_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = audit(_fleet(tmp_path), "--host-per-dir", "--host", "x", "--no-store")
    assert code == 2 and "--host-per-dir" in err


def test_many_hosts_in_one_folder_give_a_bounded_reason(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path, 40)
    _, findings, _ = audit(fleet, "--controls", "smb-server-signing-required", "--no-store")
    (f,) = findings
    assert f["status"] == "unknown" and "and 35 more" in f["reason"]
    assert len(f["reason"]) < 1500 and len(f["notes"]) <= 20


def test_directory_symlink_out_of_the_evidence_tree_is_skipped_and_noted(tmp_path: Path) -> None:
    g = tmp_path / "g"
    (g / "dirloop").mkdir(parents=True)
    (g / "parent.reg").write_bytes((COLLECT_FIX / "reg" / "server-required.pass.reg").read_bytes())
    (g / "dirloop" / "up").symlink_to("..", target_is_directory=True)
    (g / "dirloop" / "mine.reg").write_bytes(
        (COLLECT_FIX / "reg" / "server-not-required.fail.regedit4.reg").read_bytes()
    )
    _, findings, err = audit(
        g / "dirloop", "--controls", "smb-server-signing-required", "--no-store"
    )
    (f,) = findings
    assert f["status"] == "fail" and f["source"]["path"].endswith("mine.reg")
    assert "skipped" in err and "up" in err and "not followed" in err


# ------------------------------------------------------------------ #11 item 6


_PARAMS = {
    "smb-server-audit-unsigned-clients": (
        "SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters",
        "SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer",
        "AuditClientDoesNotSupportSigning",
    ),
    "smb-client-audit-unsigned-servers": (
        "SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters",
        "SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation",
        "AuditServerDoesNotSupportSigning",
    ),
}


def _reg(*keys: tuple[str, str, int]) -> bytes:
    body = "Windows Registry Editor Version 5.00\r\n"
    for key, name, data in keys:
        body += f'\r\n[HKEY_LOCAL_MACHINE\\{key}]\r\n"{name}"=dword:{data:08x}\r\n'
    return body.encode("utf-8")


@pytest.mark.parametrize("control", sorted(_PARAMS))
def test_audit_policy_set_under_parameters_is_read(tmp_path: Path, control: str) -> None:
    """``Set-Smb*Configuration -Audit…DoesNotSupportSigning`` writes the Parameters key."""
    params, policy, name = _PARAMS[control]
    args = ["--controls", control, "--os-build", "26100", "--no-store"]
    f = tmp_path / "h.reg"
    f.write_bytes(_reg((params, name, 1)))
    _, findings, _ = audit(f, *args)
    assert (findings[0]["status"], findings[0]["observed"]) == ("pass", 1), findings[0]
    assert "not configured" not in findings[0]["reason"]
    f.write_bytes(_reg((params, name, 0)))
    _, findings, _ = audit(f, *args)
    assert (findings[0]["status"], findings[0]["observed"]) == ("fail", 0), findings[0]
    # the policy key wins over the Parameters value, as for the other policy-backed values
    f.write_bytes(_reg((params, name, 1), (policy, name, 0)))
    _, findings, _ = audit(f, *args)
    (got,) = findings
    assert got["status"] == "fail" and got["source"]["layer"] == "gpo", got
    assert got["source"]["location"] == "line 7" and "GPO wins" in " ".join(got["notes"])

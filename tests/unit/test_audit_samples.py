"""`smbsign audit` over every file of shared/reference/samples: the documented outcome for each.

No Windows host runs here: the GPO templates are real recorded GPO backups and the Wazuh
export is a real dashboard export of a Windows 11 host (samples README). Outcomes are the
ones docs/audit.md "Checklists and third-party results" documents.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from importer_helpers import EXPORT, SAMPLES, imported, needs_samples
from typer.testing import CliRunner

from smbsign.catalog import load_catalog
from smbsign.cli import app
from smbsign.importers.lint import lint

pytestmark = needs_samples

SCHEMA = json.loads(
    (resources.files("smbsign") / "schemas" / "finding.schema.json").read_text(encoding="utf-8")
)
DOC_SCHEMA = {**SCHEMA, "$ref": "#/$defs/document"}
DDCP = "gpttmpl_default_domain_controllers_policy.utf16le.inf"
SHB = "gpttmpl_nsa_shb_dod_win10_stig_computer.utf16le.inf"
NOT_SAMPLES = {"README.md", ".gitattributes"}  # documentation, not samples
CHECKLISTS = {
    "edca_EDCA-SEC-043.json": "EDCA control",
    "hardeningkitty_cis_microsoft_windows_11_enterprise_23h2_machine_smb.csv": "HardeningKitty",
    "hardeningkitty_cis_microsoft_windows_server_2022_22h2_3.0.0_machine_smb.csv": "HardeningKitty",
    "hardeningkitty_dod_microsoft_windows_server_2019_member_stig_v2r1_machine_smb.csv": (
        "HardeningKitty"
    ),
    "hardeningkitty_msft_security_baseline_windows_11_24h2_machine_smb.csv": "HardeningKitty",
    "tenable_example_windows_smb_signing_items.audit": "Tenable audit file",
    "wazuh_sca_cis_win11_enterprise_main_smb.yml": "Wazuh SCA policy",
    "wazuh_sca_cis_win11_enterprise_v4.14.7_smb.yml": "Wazuh SCA policy",
    "wazuh_sca_cis_win2016_main_smb_KNOWN_BUGGY.yml": "Wazuh SCA policy",
    "wazuh_sca_cis_win2025_main_smb.yml": "Wazuh SCA policy",
}
ALL_FILES = sorted(p.name for p in SAMPLES.iterdir() if p.is_file()) if SAMPLES.is_dir() else []


def audit(*args: str | Path) -> tuple[int, dict[str, dict[str, Any]], list[dict[str, Any]], str]:
    res = CliRunner().invoke(app, ["audit", *map(str, args), "--format", "json"])
    assert res.exit_code in (0, 1), (res.exit_code, res.stderr)
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, DOC_SCHEMA)
    findings = doc["findings"]
    return res.exit_code, {f["control"]: f for f in findings}, findings, res.stderr


def test_every_file_is_covered_by_this_test() -> None:
    known = NOT_SAMPLES | set(CHECKLISTS) | {DDCP, SHB, EXPORT}
    assert set(ALL_FILES) == known, "a new sample needs a documented audit outcome here"


@pytest.mark.parametrize("name", ALL_FILES)
def test_no_sample_is_unrecognised(name: str) -> None:
    _code, got, findings, stderr = audit(SAMPLES / name)
    assert "Traceback" not in stderr
    if name in NOT_SAMPLES:
        assert got["evidence-error"]["reason"] == "unrecognised evidence file type"
        return
    assert "evidence-error" not in got
    assert all(f["status"] != "error" for f in findings)


@pytest.mark.parametrize("name", sorted(CHECKLISTS))
def test_checklists_are_reported_as_checklists(name: str) -> None:
    code, got, findings, _ = audit(SAMPLES / name)
    assert len(findings) == 1 and code == 0
    f = got["checklist"]
    assert f["status"] == "not_applicable" and f["source"] is None
    assert f["host"] == Path(name).stem
    assert CHECKLISTS[name] in f["reason"]
    assert "not evidence of a host's configuration" in f["reason"]
    assert f"`smbsign policy check {SAMPLES / name}`" in f["reason"]
    problems = len(lint(imported(name), load_catalog()))
    expected = f"finds {problems} problem(s)" if problems else "finds no problem"
    assert expected in f["notes"][0]


def test_ddcp_for_a_dc_passes_server_signing_from_the_gpttmpl_line() -> None:
    code, got, _, _ = audit(SAMPLES / DDCP, "--role", "domain_controller")
    assert code == 1  # build unknown: the client-side defaults cannot be decided
    srv = got["smb-server-signing-required"]
    assert srv["status"] == "pass" and srv["observed"] == 1
    assert srv["source"] == {
        "kind": "gpttmpl",
        "path": str(SAMPLES / DDCP),
        "location": "line 6",
        "layer": "gpo",
        "gpo": None,  # schema 1.1: only the domain view (smbsign ad) names the deciding GPO
    }
    client = got["smb-client-signing-required"]  # the DDCP does not set the client value
    assert client["source"]["kind"] == "default" and client["status"] == "unknown"
    _, classic, _, _ = audit(SAMPLES / DDCP, "--role", "domain_controller", "--os-build", "20348")
    assert classic["smb-client-signing-required"]["status"] == "fail"
    assert classic["smb-server-signing-required"]["status"] == "pass"


DC_2022 = ["--role", "domain_controller", "--os-build", "20348", "--edition", "ServerStandard"]
WIN10_22H2 = ["--os-build", "19045", "--edition", "Enterprise", "--role", "workstation"]
SMB1_UNKNOWN = ("unknown", "default", "default(19045/Enterprise/workstation)")


@pytest.mark.parametrize(
    ("sample", "facts", "expected"),
    [
        (
            DDCP,
            DC_2022,
            {
                "smb-server-signing-required": ("pass", "gpttmpl", "line 6"),
                "smb-server-signing-enabled": ("pass", "gpttmpl", "line 7"),
                # the DDCP sets no client value: the classic defaults decide (reference.md §3.1)
                "smb-client-signing-required": (
                    "fail", "default", "default(20348/ServerStandard/domain_controller)"),
                "smb-client-signing-enabled": (
                    "pass", "default", "default(20348/ServerStandard/domain_controller)"),
                "smb-client-plaintext-password-disabled": (
                    "pass", "default", "default(20348/ServerStandard/domain_controller)"),
                "smb-server-spn-hardening": ("not_applicable", None, None),  # member servers
                "smb1-server-disabled": (
                    "unknown", "default", "default(20348/ServerStandard/domain_controller)"),
                "smb1-client-disabled": (
                    "unknown", "default", "default(20348/ServerStandard/domain_controller)"),
                "smb-server-audit-unsigned-clients": ("not_applicable", None, None),  # < 26100
                "smb-client-audit-unsigned-servers": ("not_applicable", None, None),
                "samba-client-ipc-signing-required": ("not_applicable", None, None),
                # the DDCP's LDAPServerIntegrity=4,1 (None) on Server 2022 (reference.md §11.3)
                "ldap-server-signing-required": ("fail", "gpttmpl", "line 4"),
                # not set; Microsoft states no default for Server 2022 (reference.md §11.3)
                "ldap-server-channel-binding": (
                    "unknown", "default", "default(20348/domain_controller)"),
            },
        ),
        (
            SHB,
            WIN10_22H2,
            {
                "smb-server-signing-enabled": ("pass", "gpttmpl", "line 46"),
                "smb-server-signing-required": ("pass", "gpttmpl", "line 47"),
                "smb-server-spn-hardening": ("pass", "gpttmpl", "line 49"),
                "smb-client-plaintext-password-disabled": ("pass", "gpttmpl", "line 50"),
                "smb-client-signing-enabled": ("pass", "gpttmpl", "line 51"),
                "smb-client-signing-required": ("pass", "gpttmpl", "line 52"),
                "smb1-server-disabled": SMB1_UNKNOWN,  # not in a security template
                "smb1-client-disabled": SMB1_UNKNOWN,
                "smb-server-audit-unsigned-clients": ("not_applicable", None, None),
                "smb-client-audit-unsigned-servers": ("not_applicable", None, None),
                "samba-client-ipc-signing-required": ("not_applicable", None, None),
                "ldap-server-signing-required": ("not_applicable", None, None),  # DCs only
                "ldap-server-channel-binding": ("not_applicable", None, None),
            },
        ),
    ],
    ids=["ddcp-dc-2022", "nsa-shb-win10"],
)  # fmt: skip
def test_gpo_sample_verdicts_and_deciding_sources(
    sample: str, facts: list[str], expected: dict[str, tuple[str, str | None, str | None]]
) -> None:
    """Every control of the catalog, with the line of the sample (or the default) deciding."""
    code, got, _, _ = audit(SAMPLES / sample, *facts)
    assert code == 1
    actual = {
        c: (f["status"], (f["source"] or {}).get("kind"), (f["source"] or {}).get("location"))
        for c, f in got.items()
    }
    assert actual == expected
    for f in got.values():
        if f["source"] and f["source"]["kind"] == "gpttmpl":
            assert f["source"]["path"] == str(SAMPLES / sample)
            assert f["source"]["layer"] == "gpo" and f["observed"] in (0, 1)


def test_nsa_shb_gpo_passes_the_six_smb_values() -> None:
    _, got, _, _ = audit(
        SAMPLES / SHB, "--os-build", "19045", "--edition", "Enterprise", "--role", "workstation"
    )
    for control in (
        "smb-server-signing-required",
        "smb-server-signing-enabled",
        "smb-server-spn-hardening",
        "smb-client-signing-required",
        "smb-client-signing-enabled",
        "smb-client-plaintext-password-disabled",
    ):
        assert got[control]["status"] == "pass", control
        assert got[control]["source"]["kind"] == "gpttmpl"
        assert got[control]["source"]["layer"] == "gpo"


EXPORT_CONTROLS = {
    "smb-client-signing-required",
    "smb-client-signing-enabled",
    "smb-client-plaintext-password-disabled",
    "smb-server-signing-required",
    "smb-server-signing-enabled",
    "smb-server-spn-hardening",
    "smb1-client-disabled",
    "smb1-server-disabled",
}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            ["--os-build", "22631", "--edition", "Enterprise"],
            {
                "smb-client-signing-required": "fail",  # 26031 failed; absent = 0 on 23H2
                "smb-client-signing-enabled": "pass",  # 26032 passed; absent = 1
                "smb-client-plaintext-password-disabled": "pass",
                "smb-server-signing-required": "fail",  # 26035 failed
                "smb-server-signing-enabled": "unknown",  # SMB1-only, SMB1 state unknown
                "smb-server-spn-hardening": "fail",  # 26038 failed
                "smb1-client-disabled": "unknown",  # Wazuh passes an absent value
                "smb1-server-disabled": "unknown",
            },
        ),
        (
            ["--os-build", "26100", "--edition", "Enterprise"],
            {
                "smb-client-signing-required": "unknown",  # absent -> 1 on 24H2 Ent, 0 -> fail
                "smb-client-signing-enabled": "pass",
                "smb-client-plaintext-password-disabled": "pass",
                "smb-server-signing-required": "unknown",
                "smb-server-signing-enabled": "unknown",
                "smb-server-spn-hardening": "fail",
                "smb1-client-disabled": "unknown",
                "smb1-server-disabled": "unknown",
            },
        ),
        ([], dict.fromkeys(EXPORT_CONTROLS, "unknown")),  # build unknown: defaults unknown
    ],
)
def test_wazuh_export_rows_become_findings(facts: list[str], expected: dict[str, str]) -> None:
    code, got, findings, stderr = audit(SAMPLES / EXPORT, *facts)
    assert code == 1
    assert {c: f["status"] for c, f in got.items()} == expected
    for f in findings:
        assert f["source"]["kind"] == "wazuh_export"
        assert f["source"]["layer"] == "local"
        assert f["observed"] in ("wazuh: passed", "wazuh: failed")
    assert "5 row(s) are about settings smbsign does not check" in stderr


def test_wazuh_export_reason_and_location() -> None:
    _, got, _, _ = audit(SAMPLES / EXPORT, "--os-build", "22631", "--edition", "Enterprise")
    f = got["smb-server-signing-required"]
    assert f["source"]["location"] == "row 9: check 26035, CIS 2.3.9.2: failed"
    assert f["reason"].startswith("Wazuh 26035 failed, so RequireSecuritySignature is absent or 0")
    assert f["expected"] == "REG_DWORD = 1"
    smb1 = got["smb1-server-disabled"]
    assert any("checklist defect (absent-passes)" in n for n in smb1["notes"])


def test_export_with_role_from_cli_conflict_is_noted() -> None:
    _, got, _, stderr = audit(SAMPLES / EXPORT, "--role", "member_server", "--os-build", "20348")
    assert "Wazuh policy cis_win11_enterprise" in stderr  # the export implies a workstation
    assert got["smb-server-signing-required"]["status"] == "fail"


def test_directory_of_checklists_only(tmp_path: Path) -> None:
    for name in ("wazuh_sca_cis_win2025_main_smb.yml", "edca_EDCA-SEC-043.json"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    code, _, findings, _ = audit(tmp_path)
    assert code == 0
    assert [(f["host"], f["control"]) for f in findings] == [(tmp_path.name, "checklist")] * 2


def test_checklist_next_to_host_evidence(tmp_path: Path) -> None:
    host = tmp_path / "pc01"
    host.mkdir()
    shutil.copy(SAMPLES / EXPORT, host / "wazuh.csv")
    (host / "pc01.reg").write_text(
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters]\r\n"
        '"RequireSecuritySignature"=dword:00000001\r\n',
        encoding="utf-8",
    )
    _, _, findings, _ = audit(host, "--os-build", "22631", "--edition", "Enterprise")
    srv = [f for f in findings if f["control"] == "smb-server-signing-required"]
    by_kind = {f["source"]["kind"]: f["status"] for f in srv}
    assert by_kind == {"regfile": "pass", "wazuh_export": "fail"}  # both shown, never merged
    assert all(f["host"] == "pc01" for f in findings)


def test_broken_checklist_is_a_checklist_error(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yml"
    bad.write_text("policy:\n  id: x\nchecks: [\n", encoding="utf-8")
    code, got, findings, _ = audit(bad)
    assert code == 1 and len(findings) == 1
    f = got["checklist"]
    assert f["status"] == "error" and "cannot import wazuh_policy: line 4" in f["reason"]


def test_wazuh_failures_feed_the_fix_plan(tmp_path: Path) -> None:
    """Export -> audit findings -> `smbsign fix --from`: a plan for what Wazuh's results prove
    failing, and the undecidable rows skipped with their reason (the wazuh-fixer use case,
    without its absent = 0 assumption)."""
    out = tmp_path / "findings.json"
    res = CliRunner().invoke(
        app,
        ["audit", str(SAMPLES / EXPORT), "--os-build", "22631", "--edition", "Enterprise",
         "-o", str(out)],
    )  # fmt: skip
    assert res.exit_code == 1 and out.is_file()
    plan = CliRunner().invoke(app, ["fix", "--from", str(out)])
    assert plan.exit_code == 0, plan.stderr
    changes = {
        line.split()[1].rstrip(":")
        for line in plan.stdout.splitlines()
        if line.startswith("  change")
    }
    assert changes == {
        "smb-client-signing-required",
        "smb-server-signing-required",
        "smb-server-spn-hardening",
    }
    assert "skipped  smb1-server-disabled: unknown" in plan.stdout

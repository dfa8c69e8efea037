"""`smbsign policy check|show` end to end: the real command in a subprocess, real samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from importer_helpers import (
    EDCA,
    EXPORT,
    HK_MSFT,
    HK_STIG,
    SAMPLES,
    TENABLE,
    TITLE_26033,
    WIN11_4X,
    WIN2016_BUGGY,
    WIN2025,
    needs_samples,
)

pytestmark = needs_samples


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "policy", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_clean_policy_exits_zero() -> None:
    proc = run("check", SAMPLES / WIN11_4X)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("0 problems")
    assert "7 checks (6 mapped to smbsign controls)" in proc.stdout
    assert proc.stderr == ""


def test_check_known_buggy_policy_exits_one_with_the_findings() -> None:
    proc = run("check", SAMPLES / WIN2016_BUGGY)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "6 problems" in out
    assert "[high] inverted-value: check 16028 (line 115)" in out
    assert "[high] wrong-hive: check 16030 (line 167)" in out
    assert "smb-client-signing-required" in out  # control ids are never hyphen-wrapped
    assert "[low] compliance-mapping: file:" in out


def test_check_json_several_files() -> None:
    files = [SAMPLES / n for n in (WIN2016_BUGGY, WIN2025, TENABLE, EDCA, HK_MSFT, EXPORT)]
    proc = run("check", *files, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == "1.0"
    got = {Path(f["path"]).name: f for f in doc["files"]}
    assert [f["code"] for f in got[WIN2025]["findings"]] == []
    assert {(f["code"], f["check"]) for f in got[TENABLE]["findings"]} == {
        ("contradicts-control", "item 1")
    }
    assert got[EXPORT]["kind"] == "wazuh_export" and got[EXPORT]["mapped"] == 8
    buggy = got[WIN2016_BUGGY]
    assert buggy["kind"] == "wazuh_policy" and buggy["policy_id"] == "cis_win2016"
    dup = next(f for f in buggy["findings"] if f["code"] == "duplicate-target")
    assert set(dup) == {"code", "severity", "check", "location", "control", "related", "message"}
    assert dup["check"] == "16030" and dup["related"] == ["16026"]


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    missing = run("check", tmp_path / "nope.yml")
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    gpo = SAMPLES / "gpttmpl_default_domain_controllers_policy.utf16le.inf"
    not_list = run("check", gpo)
    assert not_list.returncode == 2
    assert "not a recognised checklist format" in not_list.stderr
    assert run("check", tmp_path).returncode == 2  # a directory
    assert run("check").returncode == 2  # no FILE
    bad_fmt = run("check", SAMPLES / WIN11_4X, "--format", "xml")
    assert bad_fmt.returncode == 2
    for proc in (missing, not_list):
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(60)
def test_fifo_or_device_is_a_usage_error_never_a_blocking_read(tmp_path: Path) -> None:
    fifo = tmp_path / "policy.yml"
    os.mkfifo(fifo)
    for cmd, path in (("check", fifo), ("show", fifo), ("check", Path("/dev/zero"))):
        proc = run(cmd, path)  # would block forever on the FIFO (run's timeout: 120 s)
        assert proc.returncode == 2
        assert (
            proc.stderr.strip()
            == f"smbsign: error: {path}: not a regular file (FIFO, device or socket)"
        )


def test_one_bad_file_among_good_ones_still_reports_the_good_ones(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("policy:\n  id: x\nchecks: [\n", encoding="utf-8")
    proc = run("check", SAMPLES / WIN2016_BUGGY, broken)
    assert proc.returncode == 2
    assert "6 problems" in proc.stdout
    assert proc.stderr.startswith(f"smbsign: error: {broken}: line 4: ")


@pytest.mark.parametrize("data", [b"", b"\xff\xfe\x00", b"policy:\nchecks:\n" + b"\x00" * 9])
def test_garbage_never_tracebacks(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.yml"
    path.write_bytes(data)
    proc = run("check", path)
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr


def test_absent_key_rule_is_one_rule_logic_finding_in_table_and_show(tmp_path: Path) -> None:
    """Issue #11 item 8e: a check that scores an absent key and an absent value differently over
    three values is one ``absent-key-differs`` finding, not three ``import-problem`` lines."""
    text = (SAMPLES / WIN11_4X).read_text(encoding="utf-8")
    wks = "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
    block = text[text.index("  - id: 26033") : text.index("  - id: 26035")]
    rules = block[block.index("    rules:") :]
    values = {
        "RequireSecuritySignature": 1,
        "EnableSecuritySignature": 1,
        "EnablePlainTextPassword": 0,
    }
    three = (
        "    rules:\n"
        + f"      - 'not r:{wks}'\n"
        + "".join(f"      - 'r:{wks} -> {v} -> {n}'\n" for v, n in values.items())
    )
    path = tmp_path / "win11.yml"
    path.write_text(
        text.replace(rules, three + "\n")
        .replace("- id: 26033", "- id: 99033")
        .replace(TITLE_26033, 'title: "SMB client settings (three values under one key)"')
    )
    proc = run("check", path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.count("absent-key-differs") == 1 and "import-problem" not in proc.stdout
    assert "1 problem\n" in proc.stdout
    show = " ".join(run("show", path).stdout.split())  # table lines are wrapped
    assert "problem:" not in show
    assert show.count("an absent key passes, an absent value (key present) fails") == 3


def test_show_table_lists_checks_and_controls() -> None:
    proc = run("show", SAMPLES / WIN2016_BUGGY)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "16030 [CIS 2.3.9.2] (line 167)" in out
    assert "reads LanmanWorkstation\\Parameters\\RequireSecuritySignature: expects = 1" in out
    assert "catalog (wazuh-sca cis_win2016:16030) lists it as smb-server-signing-required" in out


def test_show_json_export_and_stig() -> None:
    doc = json.loads(run("show", SAMPLES / EXPORT, "-f", "json").stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert doc["kind"] == "wazuh_export" and checks["26035"]["result"] == "failed"
    t = checks["26038"]["targets"][0]
    assert t["expect"]["op"] == "at_least" and t["expect"]["values"] == [1]
    assert t["control"] == "smb-server-spn-hardening" and t["when_absent"] == "fail"
    assert checks["26016"]["controls"] == []
    stig = json.loads(run("show", SAMPLES / HK_STIG, "--format", "json").stdout)
    assert {c["id"]: c["controls"] for c in stig["checks"]}["V-93559"] == [
        "smb-server-signing-required"
    ]


def test_show_usage_error() -> None:
    proc = run("show", SAMPLES / "README.md")
    assert proc.returncode == 2 and "not a recognised checklist format" in proc.stderr


def test_help_lists_policy() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "policy" in proc.stdout

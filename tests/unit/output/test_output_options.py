"""The same -f/--format, -o/--output and -q/--quiet on every command, format choices from the
one registry in each command's help, and `controls -f` now meaning --format (#8 items 2, 7)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbsign.cli import app
from smbsign.output.base import Kind
from smbsign.output.registry import names

ROOT = Path(__file__).resolve().parents[3]
CASE = ROOT / "tests/fixtures/audit/smb-server-signing-required/samba-auto.fail.conf"

# (command words, record kind whose formats -f offers, or None for a command of its own)
COMMANDS = [
    (["scan"], Kind.RECORDS),
    (["audit"], Kind.FINDINGS),
    (["ad", "audit"], Kind.FINDINGS),
    (["report"], Kind.RUN),
    (["history"], Kind.HISTORY),
    (["diff"], Kind.DIFF),
    (["controls", "list"], None),
    (["controls", "show"], None),
    (["policy", "check"], None),
    (["policy", "show"], None),
]


def _help(words: list[str]) -> str:
    res = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "250", "TERM": "dumb"})
    assert res.exit_code == 0, res.output
    return re.sub(r"\x1b\[[0-9;]*m", "", res.output)


@pytest.mark.parametrize(("words", "kind"), COMMANDS, ids=[" ".join(w) for w, _ in COMMANDS])
def test_every_command_has_the_same_output_options(words: list[str], kind: Kind | None) -> None:
    text = _help(words)
    assert re.search(r"--format\s+-f", text), text
    assert re.search(r"--output\s+-o", text), text
    assert re.search(r"--quiet\s+-q", text), text
    assert "Exit codes:" in text
    if kind is not None:  # the choices are the registry's, all listed
        flat = " ".join(text.split()).replace("│", "")
        for name in names(kind):
            assert name in flat, (name, text)


def test_audit_writes_any_format_that_carries_findings(tmp_path: Path) -> None:
    out = tmp_path / "audit.sarif"  # the format comes from the suffix
    res = CliRunner().invoke(app, ["audit", str(CASE), "-o", str(out), "--no-store", "-q"])
    assert res.exit_code == 1, res.output
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    assert any(r["ruleId"] == "smb-server-signing-required" for r in doc["runs"][0]["results"])
    res = CliRunner().invoke(app, ["audit", str(CASE), "-f", "junit", "--no-store"])
    assert res.exit_code == 1
    assert ET.fromstring(res.stdout).tag == "testsuites"


def test_audit_refuses_an_unknown_format_in_one_line() -> None:
    res = CliRunner().invoke(app, ["audit", str(CASE), "-f", "pdf", "--no-store"])
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown --format 'pdf'" in lines[0] and "sarif" in lines[0]


def test_controls_f_is_format_and_the_old_framework_use_warns() -> None:
    res = CliRunner().invoke(app, ["controls", "-f", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["controls"]
    res = CliRunner().invoke(app, ["controls", "-f", "cis-windows-11"])
    assert res.exit_code == 0
    assert "mapped by CIS" in res.stdout
    warning = [ln for ln in res.stderr.splitlines() if "deprecated" in ln]
    assert len(warning) == 1 and "--framework cis-windows-11" in warning[0]


def test_controls_output_file_and_quiet(tmp_path: Path) -> None:
    out = tmp_path / "controls.txt"
    res = CliRunner().invoke(app, ["controls", "-o", str(out), "-q"])
    assert res.exit_code == 0 and res.stdout == ""
    text = out.read_text()
    assert text.startswith("ID ") and "Frameworks (--framework)" not in text

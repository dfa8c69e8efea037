"""`smbsign history / diff / report` end to end in a subprocess, on SQLite and PostgreSQL:
exit codes, one-line errors, redacted URLs, every format from one stored run checked by
its consumer (sarif-tools' ``sarif`` CLI for SARIF), and the ``record_cli_run`` hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

import pgcluster
import report_samples as rs
from smbsign.cli.report_cmd import record_cli_run
from smbsign.model import ScanStatus
from smbsign.store import list_runs, load_run, record_run

SARIF = Path(sys.executable).with_name("sarif")


def smbsign(
    *args: str, db: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SMBSIGN_DB"}
    if db is not None:
        env["SMBSIGN_DB"] = db
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=cwd,
    )


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smbsign: error: "), proc.stderr
    return lines[0]


@pytest.fixture
def filled(store_url: str) -> str:
    """Two scan runs (the second with a regression and a fix) and one audit run."""
    first = rs.scan_run("scanccc001")
    recs = list(first.records)
    recs[0] = replace(recs[0], signing_required=False, smb2=rs._smb2(0x01))  # 10.0.0.1 regressed
    recs[1] = replace(recs[1], signing_required=True, smb2=rs._smb2(0x03))  # 10.0.0.2 fixed
    record_run(first, store_url)
    record_run(rs.audit_run("audtccc001"), store_url)
    record_run(replace(first, id="scanccc002", records=tuple(recs)), store_url)
    return store_url


def test_history_table_and_json(filled: str) -> None:
    proc = smbsign("history", "--db", filled)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.index("scanccc002") < proc.stdout.index("audtccc001")
    proc = smbsign("history", "--format", "json", "--kind", "scan", db=filled)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert not list(rs.schema_validator("history").iter_errors(doc))
    assert [r["id"] for r in doc["runs"]] == ["scanccc002", "scanccc001"]
    assert doc["runs"][0]["summary"]["relayable"] == 3


def test_diff_exit_codes_and_formats(filled: str) -> None:
    proc = smbsign("diff", "scanccc001", "scanccc002", "--db", filled)
    assert proc.returncode == 1, proc.stderr
    assert "1 regressed, 1 fixed" in proc.stdout
    proc = smbsign("diff", "previous", "latest", "--kind", "scan", "--format", "json", db=filled)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert not list(rs.schema_validator("diff").iter_errors(doc))
    assert [(c["host"], c["before"], c["after"]) for c in doc["regressed"]] == [
        ("10.0.0.1", "required", "not_required")
    ]
    assert [c["host"] for c in doc["fixed"]] == ["10.0.0.2"]
    proc = smbsign("diff", "scanccc002", "scanccc001", "--format", "markdown", db=filled)
    assert proc.returncode == 1  # going back re-introduces 10.0.0.2
    assert proc.stdout.startswith("## smbsign diff")
    proc = smbsign("diff", "1", "1", db=filled)
    assert proc.returncode == 0 and "0 regressed" in proc.stdout


def test_diff_and_history_write_files(filled: str, tmp_path: Path) -> None:
    """Same -f/-o spelling as `report`: a diff for a ticket, the history for an archive."""
    out = tmp_path / "diff.md"
    proc = smbsign(
        "diff", "previous", "latest", "--kind", "scan", "-f", "markdown", "-o", str(out), db=filled
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert out.read_text().startswith("## smbsign diff") and "### Regressed (1)" in out.read_text()
    out = tmp_path / "history.json"
    proc = smbsign("history", "-f", "json", "-o", str(out), db=filled)
    assert proc.returncode == 0 and proc.stdout == ""
    assert len(json.loads(out.read_text())["runs"]) == 3


def test_every_format_from_one_stored_run(filled: str, tmp_path: Path) -> None:
    for fmt in ("table", "json", "jsonl", "csv", "sarif", "junit", "markdown", "html"):
        out = tmp_path / f"r.{fmt}"
        proc = smbsign("report", "latest", "--format", fmt, "-o", str(out), db=filled)
        assert proc.returncode == 0, (fmt, proc.stderr)
        assert out.stat().st_size > 200, fmt
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["run"]["id"] == "scanccc002" and doc["run"]["seq"] == 3
    assert not list(rs.schema_validator().iter_errors(doc))
    # the same run via stdout is byte-identical to the file
    proc = smbsign("report", "scanccc002", "--format", "json", db=filled)
    assert proc.stdout == (tmp_path / "r.json").read_text()
    # A real SARIF consumer: sarif-tools counts the results and exports them.
    summary = subprocess.run(
        [str(SARIF), "summary", "r.sarif"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "error: 3" in summary and "note: 1" in summary  # closed port: no result
    subprocess.run(
        [str(SARIF), "csv", "-o", "sarif.csv", "r.sarif"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    rows = (tmp_path / "sarif.csv").read_text().splitlines()
    assert len(rows) == 1 + 4
    assert any("smb://10.0.0.1:445/" in r and "relay to SMB likely" in r for r in rows)
    gate = subprocess.run(
        [str(SARIF), "--check", "error", "summary", "r.sarif"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert gate.returncode != 0


def test_html_report_embeds_trend_from_store(filled: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    proc = smbsign("report", "latest", "--format", "html", "-o", str(out), db=filled)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert page.count('class="trend-point"') == 2  # scanccc001 and scanccc002, not the audit
    assert 'data-run="scanccc001"' in page


def test_errors_are_one_line_and_redacted(filled: str, pg_cluster: pgcluster.Cluster) -> None:
    line = _one_line_error(smbsign("report", "nosuchrun", db=filled))
    assert "no stored run 'nosuchrun'" in line
    assert smbsign("report", "nosuchrun", db=filled).returncode == 2
    proc = smbsign("report", "latest", "--format", "pdf", db=filled)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = smbsign("history", "--db", "mysql://bob:" + rs.PW + "@h/x")
    assert proc.returncode == 2 and rs.PW not in proc.stderr + proc.stdout
    _one_line_error(proc)
    bad = pg_cluster.url("postgres", password=rs.PW)
    proc = smbsign("history", "--db", bad)
    assert proc.returncode == 3
    assert rs.PW not in proc.stderr + proc.stdout and "***" in _one_line_error(proc)
    good = pg_cluster.createdb(f"smbsign_cli_{uuid.uuid4().hex[:8]}")
    record_run(rs.scan_run("redact0001"), good)
    proc = smbsign("history", "--db", good)
    assert proc.returncode == 0 and "redact0001" in proc.stdout
    assert pgcluster.PASSWORD not in proc.stdout + proc.stderr


def test_framework_view_needs_a_known_framework(filled: str) -> None:
    proc = smbsign("report", "audtccc001", "--framework", "no-such-framework", db=filled)
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert "framework" in line or "catalog" in line
    proc = smbsign("report", "audtccc001", "--framework", "x", "--format", "sarif", db=filled)
    assert proc.returncode == 2 and "--framework works with" in proc.stderr
    proc = smbsign("report", "scanccc002", "--framework", "cis-windows-11", db=filled)
    assert proc.returncode == 0, proc.stderr
    assert "scan run with no audit findings: every requirement is not assessed" in proc.stdout


def test_record_cli_run_hook(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = rs.records()
    run = record_cli_run(
        "scan", ["smbsign", "scan", "--password", rs.PW, "10.0.0.0/29"], recs, db_url=sqlite_url
    )
    assert run is not None and run.seq == 1
    err = capsys.readouterr().err
    assert f"recorded scan run {run.id} (#1)" in err
    stored = load_run(sqlite_url, run.id)
    assert rs.PW not in " ".join(stored.argv) and "--password" in stored.argv
    assert [r.target for r in stored.records] == [r.target for r in recs]
    assert stored.records[4].status is ScanStatus.CLOSED
    assert record_cli_run("scan", ["x"], recs, db_url=sqlite_url, no_store=True) is None
    monkeypatch.setenv("SMBSIGN_NO_STORE", "1")
    assert record_cli_run("audit", ["x"], (), rs.findings(), db_url=sqlite_url) is None
    monkeypatch.delenv("SMBSIGN_NO_STORE")
    assert len(list_runs(sqlite_url)) == 1
    capsys.readouterr()
    assert record_cli_run("audit", ["x"], (), rs.findings(), db_url=sqlite_url, quiet=True)
    assert capsys.readouterr().err == ""
    bad = "postgresql://u:" + rs.PW + "@/nodb?host=/nonexistent-dir"
    assert record_cli_run("scan", ["x"], recs, db_url=bad) is None
    err = capsys.readouterr().err
    assert err.startswith("smbsign: warning: run not recorded:") and rs.PW not in err

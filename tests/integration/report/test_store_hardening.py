"""Issue #11 items 10, 16 and 17 on a real SQLite file and a real PostgreSQL server: readers
never create a store, incomplete (interrupted) runs are stored and shown as such, older
stores gain the ``complete`` column, and ``diff`` compares runs of one kind."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_report_cli import smbsign

import report_samples as rs
from smbsign.errors import UsageError
from smbsign.store import (
    RunNotFound,
    StoreMissing,
    list_runs,
    load_pair,
    load_run,
    record_run,
)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


# ---------------------------------------------------------------- item 16: readers


@pytest.mark.parametrize("command", [("history",), ("diff", "1", "2"), ("report", "latest")])
def test_readers_on_a_mistyped_db_exit_2_and_create_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "nonexistent" / "dir" / "x.db"
    proc = smbsign(*command, "--db", f"sqlite:///{db}")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "no runs recorded" in _one_line(proc.stderr)
    assert proc.stdout == ""
    assert not (tmp_path / "nonexistent").exists()


def test_list_runs_on_a_missing_store_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing):
        list_runs(f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert not (tmp_path / "none.sqlite").exists()


def test_readers_leave_a_foreign_sqlite_file_untouched(tmp_path: Path) -> None:
    """An existing database that is not a store: no tables created, no WAL switch."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = path.read_bytes()
    proc = smbsign("history", "--db", f"sqlite:///{path}")
    assert proc.returncode == 2 and "no runs recorded" in _one_line(proc.stderr)
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"t"}


def test_sqlite_readers_open_read_only(sqlite_url: str) -> None:
    """A store the reader may read but not write (a read-only file) still lists its runs."""
    record_run(rs.scan_run("rdon000001"), sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    path.chmod(0o400)
    try:
        assert [r.id for r in list_runs(sqlite_url)] == ["rdon000001"]
        assert load_run(sqlite_url, "latest").id == "rdon000001"
    finally:
        path.chmod(0o600)


def test_postgresql_readers_create_no_tables(pg_url: str) -> None:
    proc = smbsign("history", "--db", pg_url)
    assert proc.returncode == 2 and "no runs recorded" in _one_line(proc.stderr)
    proc = smbsign("report", "latest", "--db", pg_url)
    assert proc.returncode == 2, proc.stderr
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert not sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    record_run(rs.scan_run("pgrd000001"), pg_url)
    assert [r.id for r in list_runs(pg_url)] == ["pgrd000001"]


# -------------------------------------------------------------- item 17: complete


def test_incomplete_runs_round_trip_and_show(store_url: str) -> None:
    record_run(rs.scan_run("full000001"), store_url)
    record_run(replace(rs.scan_run("intr000001"), complete=False), store_url)
    assert [(r.id, r.complete) for r in list_runs(store_url)] == [
        ("intr000001", False),
        ("full000001", True),
    ]
    assert load_run(store_url, "latest").complete is False
    proc = smbsign("history", "--format", "json", db=store_url)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert not list(rs.schema_validator("history").iter_errors(doc))
    assert [(r["id"], r["complete"]) for r in doc["runs"]] == [
        ("intr000001", False),
        ("full000001", True),
    ]
    proc = smbsign("history", db=store_url)
    row = next(line for line in proc.stdout.splitlines() if "intr000001" in line)
    assert "incomplete" in row
    assert "incomplete" not in next(ln for ln in proc.stdout.splitlines() if "full000001" in ln)
    proc = smbsign("diff", "previous", "latest", "--format", "json", db=store_url)
    warn = _one_line(proc.stderr)
    assert warn.startswith("smbsign: warning:") and "intr000001" in warn and "incomplete" in warn
    doc = json.loads(proc.stdout)
    assert (doc["a_complete"], doc["b_complete"]) == (True, False)
    assert not list(rs.schema_validator("diff").iter_errors(doc))
    proc = smbsign("diff", "1", "1", db=store_url)
    assert proc.returncode == 0 and proc.stderr == ""


def _old_store(path: Path) -> None:
    """A store written before the ``complete`` column existed (store version 1)."""
    record_run(rs.scan_run("old0000001"), f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE smbsign_runs DROP COLUMN complete")


def test_old_sqlite_store_reads_as_complete_and_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    url = f"sqlite:///{path}"
    _old_store(path)
    assert [(r.id, r.complete) for r in list_runs(url)] == [("old0000001", True)]
    with sqlite3.connect(path) as conn:  # reading did not migrate
        cols = {r[1] for r in conn.execute("PRAGMA table_info(smbsign_runs)")}
    assert "complete" not in cols
    record_run(replace(rs.scan_run("new0000001"), complete=False), url)
    assert [(r.id, r.complete) for r in list_runs(url)] == [
        ("new0000001", False),
        ("old0000001", True),
    ]


def test_old_postgresql_store_gains_the_column(pg_url: str) -> None:
    record_run(rs.scan_run("old0000002"), pg_url)
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE smbsign_runs DROP COLUMN complete"))
    finally:
        engine.dispose()
    assert [r.complete for r in list_runs(pg_url)] == [True]
    record_run(replace(rs.scan_run("new0000002"), complete=False), pg_url)
    assert [(r.id, r.complete) for r in list_runs(pg_url)] == [
        ("new0000002", False),
        ("old0000002", True),
    ]


# ------------------------------------------------------------- item 10: same kind


@pytest.fixture
def mixed(store_url: str) -> str:
    """scan, scan, audit (newest): latest overall is an audit, previous overall a scan."""
    record_run(rs.scan_run("kscan00001"), store_url)
    record_run(rs.scan_run("kscan00002"), store_url)
    record_run(rs.audit_run("kaudt00001"), store_url)
    return store_url


def test_previous_latest_stay_within_one_kind(mixed: str) -> None:
    """Default kind: the latest run's (an audit here, and there is no earlier audit)."""
    with pytest.raises(RunNotFound, match="of kind audit"):
        load_pair(mixed, "previous", "latest")
    record_run(rs.audit_run("kaudt00002"), mixed)
    a, b = load_pair(mixed, "previous", "latest")
    assert (a.id, b.id) == ("kaudt00001", "kaudt00002")


def test_kind_follows_an_explicit_run(mixed: str) -> None:
    a, b = load_pair(mixed, "kscan00001", "latest")
    assert (a.id, b.id) == ("kscan00001", "kscan00002")
    a, b = load_pair(mixed, "previous", "latest", kind="scan")
    assert (a.id, b.id) == ("kscan00001", "kscan00002")


def test_cross_kind_diff_is_refused(mixed: str) -> None:
    with pytest.raises(UsageError, match="same kind"):
        load_pair(mixed, "kscan00002", "kaudt00001")
    proc = smbsign("diff", "kscan00002", "kaudt00001", db=mixed)
    assert proc.returncode == 2 and "same kind" in _one_line(proc.stderr)
    assert proc.stdout == ""
    proc = smbsign("diff", "previous", "latest", db=mixed)  # latest is an audit: no 2nd audit
    assert proc.returncode == 2 and "audit" in _one_line(proc.stderr)
    proc = smbsign("diff", "previous", "latest", "--kind", "scan", db=mixed)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("kscan00001 -> kscan00002: 0 regressed")


def _scan_argv(port: int, url: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from smbsign.cli import main; main()",
        "scan",
        "127.0.0.1",
        "--ports",
        str(port),
        "--read-timeout",
        "120",
        "--no-progress",
        "--db",
        url,
    ]


def test_interrupted_scan_is_stored_incomplete(tmp_path: Path) -> None:
    """Ctrl-C while a probe waits on a silent server: the run is stored, marked incomplete."""
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(60)
        port = int(silent.getsockname()[1])
        proc = subprocess.Popen(
            _scan_argv(port, url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            conn, _ = silent.accept()  # the probe connected and now waits for an answer
            with conn:
                time.sleep(0.3)
                proc.send_signal(signal.SIGINT)
                _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    assert proc.returncode == 130, stderr
    assert "recorded incomplete scan run" in stderr
    assert [r.complete for r in list_runs(url)] == [False]
    # The same scan run to its end (nothing listens now: closed) is complete.
    done = subprocess.run(_scan_argv(port, url), capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr
    assert [r.complete for r in list_runs(url)] == [True, False]

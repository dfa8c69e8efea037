"""The history store on a real SQLite file and a real PostgreSQL server (tests/pgcluster.py):
round trips, run references, trend, schema, concurrency from several processes, and errors
that never show a password."""

from __future__ import annotations

import multiprocessing
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

import pgcluster
import report_samples as rs
from smbsign.errors import UsageError
from smbsign.report.run import Run
from smbsign.serialize import finding_to_dict, scan_record_to_dict
from smbsign.store import (
    RunNotFound,
    StoreError,
    StoreMissing,
    count_rows,
    default_url,
    list_runs,
    load_run,
    record_run,
    redact_url,
    trend,
)


def _same(a: Run, b: Run) -> None:
    assert (a.id, a.kind, a.started, a.finished, a.argv) == (
        b.id,
        b.kind,
        b.started,
        b.finished,
        b.argv,
    )
    assert [scan_record_to_dict(r) for r in a.records] == [
        scan_record_to_dict(r) for r in b.records
    ]
    assert [finding_to_dict(f) for f in a.findings] == [finding_to_dict(f) for f in b.findings]


def test_round_trip_and_listing(store_url: str) -> None:
    scan = record_run(rs.scan_run("scanbbbb01"), store_url)
    audit = record_run(rs.audit_run("audtbbbb01"), store_url)
    mixed = record_run(rs.mixed_run("mixdbbbb01"), store_url)
    assert (scan.seq, audit.seq, mixed.seq) == (1, 2, 3)
    _same(load_run(store_url, "mixdbbbb01"), rs.mixed_run("mixdbbbb01"))
    _same(load_run(store_url, "1"), rs.scan_run("scanbbbb01"))
    runs = list_runs(store_url)
    assert [r.id for r in runs] == ["mixdbbbb01", "audtbbbb01", "scanbbbb01"]
    assert runs[2].summary == rs.scan_run().summary
    assert [r.id for r in list_runs(store_url, kind="scan")] == ["scanbbbb01"]
    assert [r.id for r in list_runs(store_url, limit=1)] == ["mixdbbbb01"]
    assert count_rows(store_url) == {
        "smbsign_runs": 3,
        "smbsign_scan_records": 12,
        "smbsign_findings": 18,
    }


def test_run_references(store_url: str) -> None:
    for i, rid in enumerate(("abcd000001", "abcd000002", "zzzz000003")):
        record_run(replace(rs.scan_run(rid), started=rs.T0.replace(minute=i)), store_url)
    assert load_run(store_url, "latest").id == "zzzz000003"
    assert load_run(store_url, "previous").id == "abcd000002"
    assert load_run(store_url, "2").id == "abcd000002"
    assert load_run(store_url, "zzzz").id == "zzzz000003"
    assert load_run(store_url, "ABCD000001").id == "abcd000001"
    with pytest.raises(UsageError, match="ambiguous"):
        load_run(store_url, "abcd")
    with pytest.raises(UsageError, match="bad run reference"):
        load_run(store_url, "ab%")
    with pytest.raises(RunNotFound):
        load_run(store_url, "99")
    with pytest.raises(RunNotFound):
        load_run(store_url, "latest", kind="audit")
    with pytest.raises(UsageError, match="bad run reference"):
        load_run(store_url, "a'; drop table x")


def test_trend_is_oldest_first_and_per_kind(store_url: str) -> None:
    for i in range(4):
        record_run(rs.scan_run(f"scan{i:06d}"), store_url)
        record_run(rs.audit_run(f"audt{i:06d}"), store_url)
    points = trend(store_url, upto_seq=7, kind="scan", limit=3)
    assert [p.id for p in points] == ["scan000001", "scan000002", "scan000003"]
    assert all(p.kind == "scan" for p in points)


def test_id_clash_gets_a_fresh_id(store_url: str) -> None:
    first = record_run(rs.scan_run("samesame01"), store_url)
    second = record_run(rs.scan_run("samesame01"), store_url)
    assert first.id == "samesame01" and second.id != first.id
    assert load_run(store_url, second.id).records == first.records


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    procs, per_proc, rows = 4, 5, 50
    record_run(rs.bulk_run("warm000000", 1), store_url)  # schema exists; writers still race
    ctx = multiprocessing.get_context("spawn")
    jobs = [(store_url, f"p{i}w", per_proc) for i in range(procs)]
    with ctx.Pool(procs) as pool:
        result = pool.map_async(rs.write_runs, jobs)
        ids = [rid for chunk in result.get(timeout=240) for rid in chunk]
    assert len(ids) == len(set(ids)) == procs * per_proc
    counts = count_rows(store_url)
    assert counts["smbsign_runs"] == procs * per_proc + 1
    assert counts["smbsign_scan_records"] == procs * per_proc * rows + 1
    assert counts["smbsign_findings"] == procs * per_proc * rows + 1
    seqs = sorted(r.seq for r in list_runs(store_url, limit=1000))
    assert seqs == sorted(set(seqs))
    for rid in ids[::per_proc]:
        loaded = load_run(store_url, rid)
        assert len(loaded.records) == rows and len(loaded.findings) == rows


def test_fresh_database_from_two_processes_at_once(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        result = pool.map_async(rs.write_runs, [(store_url, "a", 2), (store_url, "b", 2)])
        assert len([i for c in result.get(timeout=240) for i in c]) == 4
    assert count_rows(store_url)["smbsign_runs"] == 4


def test_wrong_password_never_echoed(pg_cluster: pgcluster.Cluster) -> None:
    secret = "Wr0ng-" + rs.PW
    url = pg_cluster.url("postgres", password=secret)
    with pytest.raises(StoreError) as err:
        list_runs(url)
    msg = str(err.value)
    assert secret not in msg and "***" in msg and "\n" not in msg
    assert secret not in redact_url(url)


def test_sqlite_file_is_private_and_default_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SMBSIGN_DB", raising=False)
    assert default_url() == f"sqlite:///{tmp_path / 'xdg' / 'smbsign' / 'history.sqlite'}"
    record_run(rs.scan_run("dflt000001"))
    db = tmp_path / "xdg" / "smbsign" / "history.sqlite"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    monkeypatch.setenv("SMBSIGN_DB", f"sqlite:///{tmp_path / 'env.sqlite'}")
    record_run(rs.scan_run("envv000001"))
    assert [r.id for r in list_runs()] == ["envv000001"]


def test_unwritable_or_bad_urls(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root ignores directory permissions
            with pytest.raises(StoreError):
                record_run(rs.scan_run(), f"sqlite:///{ro / 'x' / 'h.sqlite'}")
    finally:
        ro.chmod(0o700)
    (tmp_path / "notadb.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a database"):
        list_runs(f"sqlite:///{tmp_path / 'notadb.sqlite'}")
    with pytest.raises(UsageError, match="unsupported"):
        list_runs("mysql://u:pw@h/db")
    with pytest.raises(UsageError, match=r"invalid database URL .* use sqlite:///PATH"):
        list_runs("::not a url::")


def test_postgres_scheme_is_an_alias(pg_cluster: pgcluster.Cluster) -> None:
    """libpq (psql) accepts postgres://; SQLAlchemy alone would not."""
    url = pg_cluster.createdb("smbsign_alias").replace("postgresql+psycopg://", "postgres://")
    record_run(rs.scan_run("alias00001"), url)
    assert [r.id for r in list_runs(url)] == ["alias00001"]


def test_readers_never_create_a_store(tmp_path: Path) -> None:
    """history / report / diff on a mistyped --db must not leave an empty database behind."""
    db = tmp_path / "typo" / "history.sqlite"
    url = f"sqlite:///{db}"
    with pytest.raises(StoreMissing, match="no smbsign store there"):
        list_runs(url)
    assert trend(url, upto_seq=5, kind="scan") == []
    assert count_rows(url)["smbsign_runs"] == 0
    with pytest.raises(RunNotFound, match="no runs recorded"):
        load_run(url, "latest")
    assert not db.exists() and not db.parent.exists()
    record_run(rs.scan_run("made000001"), url)  # writing does create it
    assert [r.id for r in list_runs(url)] == ["made000001"]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///"])
def test_in_memory_sqlite_is_refused(url: str) -> None:
    """A run "recorded" in memory would be lost at exit while we print that it was stored."""
    with pytest.raises(UsageError, match="in-memory"):
        record_run(rs.scan_run(), url)


def test_bad_urls_are_usage_errors_without_the_password() -> None:
    secret = "Qz-" + rs.PW
    with pytest.raises(UsageError, match="invalid database URL") as err:
        list_runs(f"postgresql://bob:{secret}@h:notaport/db")
    assert secret not in str(err.value)
    for url in (
        f"postgresql://bob:{secret}@h/db",
        f"postgresql://bob@h/db?sslmode=require&password={secret}",
        f"postgresql://bob@corp:{secret}@h/db",  # user name with '@' (SQLAlchemy reads it)
        f"postgresql://bob:ab@{secret}@h/db",  # '@' in a password that was not encoded
    ):
        assert secret not in redact_url(url), url


def test_query_password_never_echoed(pg_cluster: pgcluster.Cluster) -> None:
    secret = "Qp-" + rs.PW
    url = pg_cluster.url("postgres").replace(f":{pgcluster.PASSWORD}@", "@")
    with pytest.raises(StoreError) as err:
        list_runs(f"{url}&password={secret}")
    assert secret not in str(err.value) and "password=***" in str(err.value)


def test_damaged_rows_are_one_line_store_errors(sqlite_url: str) -> None:
    """Hand-edited or half-migrated rows: a StoreError naming the run, never a traceback."""
    import sqlite3

    for rid in ("dmgd000001", "dmgd000002", "dmgd000003"):
        record_run(rs.scan_run(rid), sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE smbsign_runs SET summary = '{bad' WHERE seq = 1")
        conn.execute("UPDATE smbsign_runs SET started = 'yesterday' WHERE seq = 2")
        conn.execute("UPDATE smbsign_scan_records SET data = '{}' WHERE run_seq = 3 AND idx = 0")
    for ref, where in (("1", "run #1"), ("2", "run #2"), ("3", "run dmgd000003")):
        with pytest.raises(StoreError, match=f"{where} is damaged in the store"):
            load_run(sqlite_url, ref)
    with pytest.raises(StoreError, match="damaged"):
        list_runs(sqlite_url)

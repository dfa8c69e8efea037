"""A shared PostgreSQL store under load (#10 item 6): eight ``smbsign import`` processes at
once lose and duplicate nothing; a connection dropped mid-import (``pg_terminate_backend``
from another session) rolls that file back and says so in one line; a store of an unknown
version is refused. Real server: tests/pgcluster.py. The URL (with its password) reaches
the processes through ``$SMBSIGN_DB``, never argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from smbsign.scan.shard import Shard
from smbsign.scan.shardfile import begin_line, end_line
from smbsign.store import count_rows, list_runs, load_run

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _rec(n: int, required: bool) -> str:
    target = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"  # data only: nothing is probed
    return json.dumps(
        {"target": target, "hostname": None, "port": 445, "transport": "direct_tcp",
         "status": "ok", "signing_required": required, "relayable": not required,
         "smb1": {"offered": False, "signing": None, "security_mode": None,
                  "capabilities": None, "reason": ""},
         "smb2": {"dialect": "3.1.1", "dialect_revision": 785, "security_mode": 3 if required
                  else 1, "signing_required": required, "capabilities": 0,
                  "server_guid": f"{n:032x}", "cipher": None, "signing_algorithm": None},
         "reason": "", "elapsed_ms": 1.0},
        separators=(",", ":"),
    )  # fmt: skip


def write_shard(path: Path, run_id: str, shard: Shard, numbers: range) -> Path:
    with path.open("w") as fh:
        fh.write(begin_line(run_id, shard, started=T0, tool_version="t", argv=["smbsign"]))
        for n in numbers:
            fh.write(_rec(n, n % 5 != 0) + "\n")
        fh.write(end_line(run_id, shard, complete=True, records=len(numbers), finished=T0))
    return path


def _import(url: str, *files: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SMBSIGN_DB": url}
    return subprocess.Popen(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "import", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _run(url: str, *files: Path) -> int:
    proc = _import(url, *files)
    _, stderr = proc.communicate(timeout=300)
    assert "Traceback" not in stderr, stderr
    return proc.returncode


def _conninfo(url: str) -> str:
    u = make_url(url)
    return psycopg.conninfo.make_conninfo(
        dbname=u.database,
        user=u.username,
        password=u.password,
        host=u.query["host"],
        port=u.query["port"],
    )


def test_eight_writers_at_once_lose_and_duplicate_nothing(pg_url: str, tmp_path: Path) -> None:
    per = 3000
    files = [
        write_shard(tmp_path / f"s{i}.jsonl", "fleet8", Shard(i, 8), range(i * per, (i + 1) * per))
        for i in range(1, 9)
    ]
    warm = write_shard(tmp_path / "warm.jsonl", "warmrun", Shard(1, 1), range(1))
    assert _run(pg_url, warm) == 0  # the schema exists; the writers still race
    t0 = time.monotonic()
    # each writer imports its own shard and its neighbour's: every shard twice, at once
    procs = [_import(pg_url, files[k], files[(k + 1) % 8]) for k in range(8)]
    outs = [p.communicate(timeout=300) for p in procs]
    elapsed = time.monotonic() - t0
    assert [p.returncode for p in procs] == [0] * 8, [o[1] for o in outs]
    stderr = "".join(o[1] for o in outs)
    assert stderr.count("nothing changed") == 8 and stderr.count("stored 3,000 records") == 8
    assert "Traceback" not in stderr
    counts = count_rows(pg_url)
    assert counts == {"smbsign_runs": 2, "smbsign_scan_records": 8 * per + 1, "smbsign_findings": 0}
    run = load_run(pg_url, "fleet8")
    targets = [(r.target, r.port) for r in run.records]
    assert len(targets) == len(set(targets)) == 8 * per
    assert run.complete and run.summary.relayable == sum(
        1 for n in range(per, 9 * per) if n % 5 == 0
    )
    assert [r.complete for r in list_runs(pg_url, limit=5)] == [True, True]
    sys.stderr.write(
        f"\n8 writers, 16 imports of 8 x {per:,} records: {elapsed:.1f} s "
        f"({8 * per / elapsed:,.0f} stored records/s)\n"
    )


def test_a_dropped_connection_rolls_the_import_back(pg_url: str, tmp_path: Path) -> None:
    warm = write_shard(tmp_path / "warm.jsonl", "warmrun", Shard(1, 1), range(1))
    assert _run(pg_url, warm) == 0
    big = write_shard(tmp_path / "big.jsonl", "droprun", Shard(1, 2), range(60_000))
    dbname = make_url(pg_url).database
    proc = _import(pg_url, big)
    killed = False
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as admin:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                " AND query LIKE 'INSERT INTO smbsign_scan_records%%'",
                (dbname,),
            ).fetchone()
            if row is not None:  # records of this file are being written: drop it now
                killed = admin.execute("SELECT pg_terminate_backend(%s)", (row[0],)).fetchone()[0]
                break
            time.sleep(0.01)
    _, stderr = proc.communicate(timeout=120)
    assert killed, "the import finished before it could be interrupted"
    assert proc.returncode == 3, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "import rolled back, nothing of it stored" in lines[0], stderr
    assert "big.jsonl" in lines[0] and "Traceback" not in stderr
    assert "pg-Test-Secret" not in stderr
    assert count_rows(pg_url) == {
        "smbsign_runs": 1,
        "smbsign_scan_records": 1,
        "smbsign_findings": 0,
    }  # nothing of the dropped file, not even its run row
    again = _import(pg_url, big)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert count_rows(pg_url)["smbsign_scan_records"] == 60_001
    assert [r.complete for r in list_runs(pg_url, limit=1)] == [False]  # 1 of 2 shards


def test_an_unknown_store_version_is_refused(pg_url: str, tmp_path: Path) -> None:
    warm = write_shard(tmp_path / "warm.jsonl", "warmrun", Shard(1, 1), range(1))
    assert _run(pg_url, warm) == 0
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as admin:
        admin.execute("UPDATE smbsign_meta SET value = '99' WHERE key = 'store_version'")
    other = write_shard(tmp_path / "o.jsonl", "otherrun", Shard(1, 1), range(5))
    proc = _import(pg_url, other)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3
    assert len(stderr.strip().splitlines()) == 1 and "store version 99 is not supported" in stderr
    env = {**os.environ, "SMBSIGN_DB": pg_url}
    hist = subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "history"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert hist.returncode != 0 and "store version 99 is not supported" in hist.stderr
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as admin:
        n = admin.execute("SELECT count(*) FROM smbsign_runs").fetchone()
    assert n == (1,)

"""``scan --shard I/N --run-id ID`` writes framed JSONL shard outputs and ``smbsign import``
merges them into one stored run: idempotent, incomplete until every shard arrived and
finished, every bad line a one-line error that stores nothing of its file (#10 item 4)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_scan_cli import Loopback, wait_for

from smbsign.scan.shard import Shard
from smbsign.scan.shardfile import ShardFileError, begin_line, end_line
from smbsign.scan.shardread import read_shard
from smbsign.store import count_rows, list_runs, load_run

HOSTS = {f"127.0.0.{i}": ("not_required" if i % 3 == 0 else "required") for i in range(20, 44)}


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Loopback]:
    with Loopback(HOSTS) as lo:
        yield lo


def _scan(lab: Loopback, out: Path, shard: str, db: str, *extra: str) -> str:
    proc = run(
        "scan", "127.0.0.20-43", "--ports", str(lab.port), "--shard", shard, "--run-id",
        "fleet7", "-o", str(out), "--db", db, "--no-progress", *extra,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stderr


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_three_shards_merge_into_one_run(lab: Loopback, tmp_path: Path) -> None:
    local = f"sqlite:///{tmp_path / 'jump.sqlite'}"
    central = f"sqlite:///{tmp_path / 'central.sqlite'}"
    outs = [tmp_path / f"s{i}.jsonl" for i in (1, 2, 3)]
    for i, out in enumerate(outs, 1):
        _scan(lab, out, f"{i}/3", local)
    heads = [_lines(o)[0] for o in outs]
    tails = [_lines(o)[-1] for o in outs]
    assert [(h["state"], h["run_id"], h["shard"]) for h in heads] == [
        ("begin", "fleet7", f"{i}/3") for i in (1, 2, 3)
    ]
    assert all(t["state"] == "end" and t["complete"] is True for t in tails)
    targets = [r["target"] for o in outs for r in _lines(o)[1:-1]]
    assert sorted(targets) == sorted(HOSTS)  # disjoint and covering, over the wire too
    assert [t["records"] for t in tails] == [len(_lines(o)) - 2 for o in outs]

    first = run("import", str(outs[0]), "--db", central)
    assert first.returncode == 0, first.stderr
    assert "1/3 shards arrived, run incomplete" in first.stderr
    assert [r.complete for r in list_runs(central)] == [False]
    both = run("import", str(outs[1]), str(outs[2]), "--db", central)
    assert both.returncode == 0 and "3/3 shards arrived, run complete" in both.stderr
    rows = count_rows(central)
    again = run("import", *map(str, outs), "--db", central)  # idempotent
    assert again.returncode == 0 and again.stderr.count("nothing changed") == 3
    assert (
        count_rows(central)
        == rows
        == {
            "smbsign_runs": 1,
            "smbsign_scan_records": len(HOSTS),
            "smbsign_findings": 0,
        }
    )
    stored = load_run(central, "fleet7")
    assert stored.complete and sorted(r.target for r in stored.records) == sorted(HOSTS)
    relayable = sorted(r.target for r in stored.records if r.signing_required is False)
    assert relayable == sorted(h for h, p in HOSTS.items() if p == "not_required")
    # the jump host recorded its own shards as the same one run, with the same digests
    assert [(r.id, r.complete) for r in list_runs(local)] == [("fleet7", True)]
    same = run("import", *map(str, outs), "--db", local)
    assert same.stderr.count("nothing changed") == 3, same.stderr
    hist = run("history", "--db", central, "--format", "json")
    assert json.loads(hist.stdout)["runs"][0]["complete"] is True, hist.stdout
    rep = run("report", "fleet7", "--db", central, "--format", "json")
    assert rep.returncode == 0, rep.stderr
    diff = run("diff", "fleet7", "fleet7", "--db", central)
    assert diff.returncode == 0, diff.stderr


def test_an_interrupted_shard_keeps_the_run_incomplete_until_rerun(
    tmp_path: Path,
) -> None:
    hosts = {"127.0.0.60": "not_required", **{f"127.0.0.{i}": "silent" for i in range(61, 90)}}
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    out = tmp_path / "s1.jsonl"
    with Loopback(hosts) as lo:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from smbsign.cli import main; main()", "scan",
             "127.0.0.60-89", "--ports", str(lo.port), "--concurrency", "2", "--read-timeout",
             "120", "--shard", "1/1", "--run-id", "cutrun1", "-o", str(out), "--no-store",
             "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for(out, "127.0.0.60", proc)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    assert proc.returncode == 130, stderr
    tail = _lines(out)[-1]
    assert (tail["state"], tail["complete"]) == ("end", False)
    res = run("import", str(out), "--db", db)
    assert res.returncode == 0 and "this shard is incomplete" in res.stderr, res.stderr
    assert [r.complete for r in list_runs(db)] == [False]
    # a shard killed outright (no end line, last line cut) is incomplete too
    text = out.read_text().splitlines(keepends=True)
    killed = tmp_path / "killed.jsonl"
    killed.write_text("".join(text[:-1]) + text[1][:40])
    shard = read_shard(killed)
    assert not shard.complete and "cut off" in shard.note


def _shard(path: Path, run_id: str, shard: Shard, records: list[str], *, end: bool = True) -> Path:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    text = begin_line(run_id, shard, started=now, tool_version="t", argv=["smbsign"])
    text += "".join(line + "\n" for line in records)
    if end:
        text += end_line(run_id, shard, complete=True, records=len(records), finished=now)
    path.write_text(text)
    return path


def _rec(target: str, *, required: bool = True) -> str:
    mode = 3 if required else 1
    return json.dumps(
        {"target": target, "hostname": None, "port": 445, "transport": "direct_tcp",
         "status": "ok", "signing_required": required, "relayable": not required,
         "smb1": {"offered": False, "signing": None, "security_mode": None,
                  "capabilities": None, "reason": ""},
         "smb2": {"dialect": "3.1.1", "dialect_revision": 785, "security_mode": mode,
                  "signing_required": required, "capabilities": 0, "server_guid": "",
                  "cipher": None, "signing_algorithm": None},
         "reason": "", "elapsed_ms": 1.5}
    )  # fmt: skip


def test_rerun_replaces_an_incomplete_shard_never_a_complete_one(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    part = _shard(tmp_path / "a.jsonl", "rerun01", Shard(1, 2), [_rec("192.0.2.1")], end=False)
    full = _shard(
        tmp_path / "b.jsonl", "rerun01", Shard(1, 2), [_rec("192.0.2.1"), _rec("192.0.2.3")]
    )
    two = _shard(tmp_path / "c.jsonl", "rerun01", Shard(2, 2), [_rec("192.0.2.2", required=False)])
    assert run("import", str(part), str(two), "--db", db).returncode == 0
    assert [r.complete for r in list_runs(db)] == [False]
    res = run("import", str(full), "--db", db)
    assert res.returncode == 0 and "replaced the incomplete shard" in res.stderr, res.stderr
    stored = load_run(db, "rerun01")
    assert stored.complete and sorted(r.target for r in stored.records) == [
        "192.0.2.1", "192.0.2.2", "192.0.2.3"
    ]  # fmt: skip
    other = _shard(tmp_path / "d.jsonl", "rerun01", Shard(1, 2), [_rec("192.0.2.9")])
    res = run("import", str(other), "--db", db)
    assert res.returncode == 3 and "already stored, complete" in res.stderr
    assert len(res.stderr.splitlines()) == 1
    wrong_n = _shard(tmp_path / "e.jsonl", "rerun01", Shard(3, 4), [_rec("192.0.2.8")])
    res = run("import", str(wrong_n), "--db", db)
    assert res.returncode == 3 and "split in 2 shards" in res.stderr
    assert count_rows(db)["smbsign_scan_records"] == 3


BAD_LINES = [
    ("not json", "not JSON"),
    ('{"target": "192.0.2.1"}', "not a scan record"),
    (_rec("192.0.2.1").replace('"port": 445', '"port": 70000'), "port"),
    (_rec("192.0.2.1").replace('"relayable": false', '"relayable": true'), "not a scan record"),
    (_rec("").replace('"target": ""', '"target": 5'), "target"),
    ("[1, 2]", "not a JSON object"),
    ('{"type": "smbsign.shard", "state": "begin"}', "expected the shard end line"),
]


@pytest.mark.parametrize(("line", "needle"), BAD_LINES)
def test_a_bad_line_is_one_error_and_stores_nothing_of_its_file(
    tmp_path: Path, line: str, needle: str
) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    good = _shard(tmp_path / "good.jsonl", "badrun1", Shard(2, 2), [_rec("192.0.2.7")])
    bad = _shard(tmp_path / "bad.jsonl", "badrun1", Shard(1, 2), [_rec("192.0.2.5"), line])
    res = run("import", str(bad), str(good), "--db", db)
    assert res.returncode == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("smbsign: error:")]
    assert len(errors) == 1 and f"{bad}:3:" in errors[0] and needle in errors[0], res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(r.target for r in load_run(db, "badrun1").records) == ["192.0.2.7"]


def test_file_level_problems(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text(_rec("192.0.2.1") + "\n")
    with pytest.raises(ShardFileError, match="no shard begin line"):
        read_shard(plain)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ShardFileError, match="empty"):
        read_shard(empty)
    long = _shard(tmp_path / "long.jsonl", "longrun", Shard(1, 1), ["x" * (1 << 21)])
    with pytest.raises(ShardFileError, match="line longer than"):
        read_shard(long)
    miscount = _shard(tmp_path / "m.jsonl", "miscnt", Shard(1, 1), [_rec("192.0.2.1")])
    miscount.write_text(miscount.read_text().replace('"records":1', '"records":2'))
    with pytest.raises(ShardFileError, match="counts 2 records"):
        read_shard(miscount)
    after = _shard(tmp_path / "after.jsonl", "aftrun", Shard(1, 1), [])
    after.write_text(after.read_text() + _rec("192.0.2.1") + "\n")
    with pytest.raises(ShardFileError, match="data after the shard end line"):
        read_shard(after)
    res = run("import", str(tmp_path / "missing.jsonl"), "--db", f"sqlite:///{tmp_path}/x.db")
    assert res.returncode == 2 and "cannot read" in res.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--shard", "2/3"), "--shard needs --run-id"),
        (("--shard", "4/3", "--run-id", "abcd1"), "bad shard"),
        (("--run-id", "1234"), "bad run id"),
        (("--run-id", "Abc-1"), "bad run id"),
        (("--run-id", "abcd1", "-f", "csv"), "JSONL shard outputs"),
        (("--part", "1/2"), "--part needs --run-id"),
        (("--shard", "1/2", "--part", "1/2", "--run-id", "abcd1"), "exclude each other"),
    ],
)
def test_scan_shard_usage_errors(args: tuple[str, ...], needle: str) -> None:
    proc = run("scan", "127.0.0.1", "--ports", "9", "--no-store", *args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_part_scans_its_targets_as_given(tmp_path: Path) -> None:
    out = tmp_path / "zone2.jsonl"
    proc = run(
        "scan", "127.0.0.1-6", "--ports", "9", "--part", "2/3", "--run-id", "zones1",
        "-o", str(out), "--no-store", "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = _lines(out)
    assert lines[0]["shard"] == "2/3" and lines[-1]["complete"] is True
    assert sorted(r["target"] for r in lines[1:-1]) == [f"127.0.0.{i}" for i in range(1, 7)]


def test_an_ordinary_run_with_that_id_is_never_joined(tmp_path: Path) -> None:
    from dataclasses import replace

    from smbsign.run import Run, utc_now
    from smbsign.store import record_run

    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    now = utc_now()
    empty = Run(id="plainrun1", kind="scan", started=now, finished=now, tool_version="t", argv=())
    record_run(empty, db)  # a scan where nothing answered: no records, no parts
    record_run(replace(empty, id="auditrun1", kind="audit"), db)
    for rid, needle in (("plainrun1", "ordinary stored scan"), ("auditrun1", "audit run")):
        part = _shard(tmp_path / f"{rid}.jsonl", rid, Shard(1, 2), [_rec("192.0.2.1")])
        res = run("import", str(part), "--db", db)
        assert res.returncode == 3 and needle in res.stderr, res.stderr
    assert count_rows(db)["smbsign_scan_records"] == 0


def test_the_fleet_store_imports_no_presentation() -> None:
    code = (
        "import sys, smbsign.store.shards, smbsign.scan.shardfile, smbsign.scan.shardread;"
        "pres = ('smbsign.report', 'smbsign.output');"
        "bad = sorted(m for m in sys.modules if m.startswith(pres));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_audit_output_is_imported_once_as_its_own_audit_run(tmp_path: Path) -> None:
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\n server signing = mandatory\n")
    out = tmp_path / "audit-samba1.jsonl"
    audit = run("audit", "--local", "--samba-conf", str(conf), "-f", "jsonl", "-o", str(out),
                "--no-store")  # fmt: skip
    assert audit.returncode in (0, 1), audit.stderr
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    first = run("import", str(out), "--db", db)
    assert first.returncode == 0 and "stored audit run" in first.stderr, first.stderr
    again = run("import", str(out), "--db", db)
    assert again.returncode == 0 and "nothing changed" in again.stderr
    runs = list_runs(db)
    assert [r.kind for r in runs] == ["audit"]
    stored = load_run(db, runs[0].id)
    assert len(stored.findings) == len(out.read_text().splitlines())
    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text().splitlines()[0] + "\n" + '{"host": "x"}\n')
    res = run("import", str(bad), "--db", db)
    assert res.returncode == 2 and f"{bad}:2: not a finding" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert count_rows(db)["smbsign_runs"] == 1

"""`ad audit` stores its run without holding every finding in memory (issue #9 item 9)."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest
from ad_fakes import DOMAIN, Lab, link
from typer.testing import CliRunner

import smbsign.ad.sysvol as sysvol
import smbsign.cli.ad_cmd as ad_cmd
import smbsign.store as store
from smbsign.cli import app
from smbsign.model import Finding
from smbsign.run import summarize
from smbsign.serialize import finding_to_dict

GUID = "10000000-0000-0000-0000-000000000001"
OU = f"OU=Servers,{DOMAIN}"
N = 40


def _lab() -> Lab:
    lab = Lab()
    lab.gpo(GUID, "on", 1)
    lab.ou(OU, link(GUID))
    for i in range(N):
        lab.computer(f"s{i}", OU)
    lab.d.close = lambda: None  # type: ignore[attr-defined]
    lab.fs.close = lambda: None  # type: ignore[attr-defined]
    return lab


def _audit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str = "jsonl"
) -> tuple[int, list[int], str]:
    """Run ``ad audit`` through the CLI over the fakes; returns (exit, live findings at
    the moment the run is written to the store, the store URL)."""
    lab = _lab()
    monkeypatch.setattr(ad_cmd, "_open", lambda *a: lab.d)
    monkeypatch.setattr(sysvol, "SmbSysvol", lambda *a, **k: lab.fs)
    monkeypatch.setenv("SMBSIGN_PASSWORD", "pw")
    monkeypatch.delenv("SMBSIGN_NO_STORE", raising=False)
    live: list[int] = []
    real = store.record_run
    # Findings other tests of this process still hold are not this run's: keep them alive
    # (so their ids cannot be reused) and count only the others.
    gc.collect()
    earlier = [o for o in gc.get_objects() if isinstance(o, Finding)]
    earlier_ids = {id(o) for o in earlier}

    def counting(*args: Any, **kwargs: Any) -> Any:
        gc.collect()
        live.append(
            sum(isinstance(o, Finding) and id(o) not in earlier_ids for o in gc.get_objects())
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "record_run", counting)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    out = tmp_path / f"ad.{fmt}"
    res = CliRunner().invoke(
        app,
        ["ad", "audit", "--dc", "dc1", "--user", "LAB\\a", "--db", url, "-f", fmt, "-o", str(out)],
    )
    del earlier
    return res.exit_code, live, url


def test_stored_run_holds_no_findings_in_memory_when_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, live, _url = _audit(monkeypatch, tmp_path)
    assert code in (0, 1) and len(live) == 1
    assert live[0] == 0  # before: every finding of the run (13 a computer) was alive


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_stored_run_reads_back_as_the_streamed_findings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str
) -> None:
    code, _live, url = _audit(monkeypatch, tmp_path, fmt)
    assert code in (0, 1)
    run = store.load_run(url, "latest")
    if fmt == "jsonl":
        streamed = [json.loads(x) for x in (tmp_path / "ad.jsonl").read_text().splitlines()]
    else:
        streamed = json.loads((tmp_path / "ad.json").read_text())["findings"]
    assert len(run.findings) == len(streamed) >= 2 * N
    assert [finding_to_dict(f) for f in run.findings] == streamed
    (info,) = store.list_runs(url)
    assert info.kind == "audit" and info.summary == summarize((), run.findings)
    assert info.summary.hosts == N
    assert store.count_rows(url)["smbsign_findings"] == len(streamed)


def test_spooled_rows_are_the_rows_record_run_writes_for_findings(tmp_path: Path) -> None:
    """A spooled run and the same run stored from Finding objects give identical rows."""
    import sqlite3
    from dataclasses import replace

    from smbsign.ad.view import audit_domain
    from smbsign.catalog import load_catalog
    from smbsign.run import Run, utc_now
    from smbsign.runspool import FindingSpool

    _snap, results = audit_domain(_lab().d, _lab().fs, load_catalog())  # type: ignore[arg-type]
    findings = [f for r in results for f in r.findings]
    spool = FindingSpool()
    for f in findings:
        spool.add(f)
    now = utc_now()
    base = Run(id="", kind="audit", started=now, finished=now, tool_version="t", argv=())
    urls = [f"sqlite:///{tmp_path / n}.db" for n in ("objects", "spooled")]
    store.record_run(replace(base, id="aaaa1111", findings=tuple(findings)), urls[0])
    store.record_run(replace(base, id="aaaa1111"), urls[1], spool=spool)
    with pytest.raises(ValueError):
        store.record_run(replace(base, findings=tuple(findings[:1])), urls[1], spool=spool)
    spool.close()
    dumps = []
    runs_q = "SELECT summary, n_findings, n_records FROM smbsign_runs"
    for name in ("objects", "spooled"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            rows = db.execute("SELECT * FROM smbsign_findings ORDER BY idx").fetchall()
            dumps.append((rows, db.execute(runs_q).fetchall()))
    assert dumps[0] == dumps[1] and len(dumps[0][0]) == len(findings) > N

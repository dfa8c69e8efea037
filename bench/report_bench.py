"""Report and store throughput on a large synthetic run.

Run: ``.venv/bin/python bench/report_bench.py``.

10,000 scan records and 30,000 findings (10,000 hosts x 3 controls): time and output size of
every format (and the HTML report with the full catalog), and store write/read on a SQLite
file and, where Debian's postgresql is installed, a throwaway PostgreSQL server. Numbers go
to stdout; nothing asserted.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pgcluster
import report_samples as rs
from smbsign.catalog import load_catalog
from smbsign.model import Status
from smbsign.report import FORMATS
from smbsign.report.run import Run
from smbsign.store import list_runs, load_run, record_run

HOSTS = 10_000


def main() -> None:
    base = rs.bulk_run("benchaaa01", HOSTS)
    fs = tuple(
        replace(f, host=f"host{i}", control=c)
        for i, f in enumerate(base.findings)
        for c in (rs.SERVER, rs.CLIENT, rs.SMB1)
    )
    run = replace(base, findings=fs)
    cat = rs.catalog()
    print(f"run: {len(run.records)} records, {len(run.findings)} findings")
    for name, render in FORMATS.items():
        t0 = time.perf_counter()
        out = render(run, cat)
        print(f"{name:9s} {time.perf_counter() - t0:7.2f} s {len(out) / 1e6:8.1f} MB")
    # The packaged catalog (every control, every framework it maps): the HTML report adds a
    # score row per framework and a folded requirement table per framework.
    full = load_catalog()
    ids = sorted(full.controls)
    statuses = (Status.PASS, Status.FAIL, Status.UNKNOWN, Status.PASS, Status.ERROR)
    many = tuple(
        replace(base.findings[0], host=f"host{i}", control=c, status=statuses[(i + j) % 5])
        for i in range(HOSTS // 5)
        for j, c in enumerate(ids)
    )
    catalog_run = replace(base, records=(), findings=many)
    t0 = time.perf_counter()
    out = FORMATS["html"](catalog_run, full)
    print(
        f"html, full catalog ({len(full.frameworks)} frameworks, {len(many)} findings): "
        f"{time.perf_counter() - t0:.2f} s {len(out) / 1e6:.1f} MB"
    )
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/h.sqlite"
        t0 = time.perf_counter()
        record_run(run, url)
        t1 = time.perf_counter()
        loaded = load_run(url, "latest")
        t2 = time.perf_counter()
        list_runs(url)
        t3 = time.perf_counter()
        size = Path(d, "h.sqlite").stat().st_size
        assert len(loaded.findings) == len(run.findings)
        print(
            f"store write {t1 - t0:.2f} s, read {t2 - t1:.2f} s, history {t3 - t2:.3f} s, "
            f"file {size / 1e6:.1f} MB"
        )
    _postgres(run)


def _postgres(run: Run) -> None:
    """The same run through a throwaway PostgreSQL server (tests/pgcluster.py), if installed."""
    reason = pgcluster.skip_reason()
    if reason:
        print(f"postgresql: skipped ({reason})")
        return
    cluster = pgcluster.start_cluster()
    try:
        url = cluster.createdb("bench")
        t0 = time.perf_counter()
        record_run(run, url)
        t1 = time.perf_counter()
        loaded = load_run(url, "latest")
        t2 = time.perf_counter()
        assert len(loaded.findings) == len(run.findings)
        print(f"postgresql write {t1 - t0:.2f} s, read {t2 - t1:.2f} s")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()

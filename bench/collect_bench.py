"""Collector benchmark: audit a directory of 10,000 mixed evidence files.

Writes 100 host directories x 100 files (every collector's formats, every encoding, a few
unknown files) into a temporary directory, runs ``collect_paths`` over it, prints files per
second, values and errors seen, and peak memory (tracemalloc and ru_maxrss), then deletes
the directory. Usage: ``.venv/bin/python bench/collect_bench.py [--files N]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from smbsign.collect import collect_paths

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "collect"
SEEDS = sorted(
    p for p in FIX.rglob("*")
    if p.is_file() and p.suffix not in (".py", ".md", ".xml") and not p.name.startswith(".")
    and "include" not in p.parts and "cycle" not in p.name
)  # fmt: skip


def populate(root: Path, files: int, per_host: int = 100) -> None:
    blobs = [(p.name, p.read_bytes()) for p in SEEDS] + [("notes.bin", b"\x00\x01junk" * 50)]
    for i in range(files):
        name, data = blobs[i % len(blobs)]
        host = root / f"host{i // per_host:04d}"
        host.mkdir(exist_ok=True)
        (host / f"{i:05d}-{name}").write_bytes(data)


def run(hosts: list[Path]) -> tuple[int, int, int]:
    n_files = n_values = n_errors = 0
    for _host, result in collect_paths(hosts, None):
        n_files += 1
        n_values += len(result.values)
        n_errors += len(result.errors)
    return n_files, n_values, n_errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="smbsign-bench-") as tmp:
        root = Path(tmp)
        populate(root, args.files)
        hosts = sorted(p for p in root.iterdir() if p.is_dir())
        start = time.perf_counter()
        n_files, n_values, n_errors = run(hosts)
        elapsed = time.perf_counter() - start
        tracemalloc.start()  # second pass, traced: peak Python allocation
        run(hosts)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"formats: {len(SEEDS)} seed files; hosts: {len(hosts)}")
    print(f"results: {n_files} (files {args.files}); values: {n_values}; errors: {n_errors}")
    print(f"time: {elapsed:.2f} s; throughput: {args.files / elapsed:,.0f} files/s")
    print(f"peak traced memory: {peak / 2**20:.1f} MiB; peak RSS: {rss_kib / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Audit benchmark: ``smbsign audit`` over a directory of 10,000 mixed evidence files.

Writes N files (default 10,000) into 100 host directories under one temporary directory:
every collector's formats and encodings (the committed fixtures of ``tests/fixtures/collect``
and the outcome matrix ``tests/fixtures/matrix``), some unrecognised and some broken files.
Then it runs the real CLI in a subprocess, the way a user would:

    smbsign audit DIR/host0000 ... DIR/host0099 --format jsonl -o /dev/null --no-store

(one argument per host directory, so every directory is one host: collect + host facts +
evaluation of the whole catalog + the JSONL writer), and a second time as ``smbsign audit
DIR`` (one directory: all files are one host's evidence). For each it prints wall time, files
per second, findings written and the child's peak RSS (``os.wait4`` rusage of that child,
checked against ``getrusage(RUSAGE_CHILDREN)``). A third, in-process line times the
collectors alone (``collect_paths``) for comparison.

Usage: ``.venv/bin/python bench/collect_bench.py [--files N]``. Run from the repository with the
project venv; the temporary directory is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smbsign.collect import collect_paths

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = (ROOT / "tests" / "fixtures" / "collect", ROOT / "tests" / "fixtures" / "matrix")
SKIP_SUFFIXES = (".py", ".md", ".xml", ".args")
JUNK = (("notes.bin", b"\x00\x01junk" * 50), ("readme.txt", b"not evidence\n"))


def seeds() -> list[tuple[str, bytes]]:
    """Every committed evidence fixture (file name, bytes), plus unrecognised files."""
    out: list[tuple[str, bytes]] = []
    for base in FIXTURES:
        for p in sorted(base.rglob("*")):
            if (
                p.is_file()
                and p.suffix not in SKIP_SUFFIXES
                and not p.name.startswith(".")
                and "include" not in p.relative_to(base).parts
                and "cycle" not in p.name
            ):
                out.append((p.name, p.read_bytes()))
    return out + list(JUNK)


def populate(root: Path, files: int, per_host: int) -> list[Path]:
    """Write ``files`` files, ``per_host`` per host directory; return the directories."""
    blobs = seeds()
    hosts: list[Path] = []
    for i in range(files):
        name, data = blobs[i % len(blobs)]
        host = root / f"host{i // per_host:04d}"
        if not hosts or hosts[-1] != host:
            host.mkdir()
            hosts.append(host)
        (host / f"{i:05d}-{name}").write_bytes(data)
    return hosts


def smbsign_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("smbsign")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "smbsign"]


def run_audit(args: list[str], out: Path, err: Path) -> tuple[float, int, int, int]:
    """(seconds, exit code, findings written, peak RSS KiB of this child).

    ``os.wait4`` gives the rusage of this one child; ``getrusage(RUSAGE_CHILDREN)`` (the
    largest child so far) is checked to agree with it.
    """
    cmd = [*smbsign_cmd(), "audit", *args, "--format", "jsonl", "-o", str(out), "--no-store"]
    start = time.perf_counter()
    with err.open("wb") as stderr:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    text = err.read_text(encoding="utf-8", errors="replace")
    if code not in (0, 1) or "Traceback" in text:
        raise SystemExit(f"audit failed (exit {code}): {text[-2000:]}")
    with out.open(encoding="utf-8") as fh:
        findings = sum(1 for line in fh if line.strip())
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss >= usage.ru_maxrss
    return elapsed, code, findings, usage.ru_maxrss


def collect_only(hosts: list[Path]) -> tuple[float, int, int]:
    """In-process: the collectors alone (no evaluation, no output)."""
    start = time.perf_counter()
    n_values = n_errors = 0
    for _host, result in collect_paths(hosts, None):
        n_values += len(result.values)
        n_errors += len(result.errors)
    return time.perf_counter() - start, n_values, n_errors


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--per-host", type=int, default=100)
    args = ap.parse_args()
    if args.files < 1 or args.per_host < 1:
        ap.error("--files and --per-host must be positive")
    with tempfile.TemporaryDirectory(prefix="smbsign-bench-") as tmp:
        root = Path(tmp) / "evidence"
        root.mkdir()
        hosts = populate(root, args.files, args.per_host)
        out, err = Path(tmp) / "findings.jsonl", Path(tmp) / "stderr.txt"
        n_seeds = len(seeds())
        print(f"smbsign audit benchmark: {args.files} files ({n_seeds} distinct evidence files "
              f"and junk), {len(hosts)} host directories; {os.cpu_count()} CPUs")  # fmt: skip
        rows = [
            ("audit HOSTDIR... (one host a directory)", [str(h) for h in hosts]),
            ("audit DIR (all files one host)", [str(root)]),
        ]
        for label, argv in rows:
            secs, code, findings, peak = run_audit(argv, out, err)
            print(
                f"{label}: {secs:.2f} s, {args.files / secs:,.0f} files/s, "
                f"{findings} findings, exit {code}, peak RSS {peak / 1024:.1f} MiB"
            )
        secs, n_values, n_errors = collect_only(hosts)
        print(
            f"collectors only, in process: {secs:.2f} s, {args.files / secs:,.0f} files/s, "
            f"{n_values} values, {n_errors} errors"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scan throughput and memory, smbsign next to nmap in one run, inside the lab (issue #2 item 7).

Run as root from the repository: ``.venv/bin/python bench/scan_bench.py`` (``--help``).
Everything runs in the lab's client namespace; targets are the lab's Samba hosts (each
with many extra addresses) and the lab's silent range, which drops SYNs without an answer.

1. live: every catalog host plus ``--aliases`` extra addresses per Samba host, port 445;
   smbsign's and nmap's verdicts are held against the ground truth derived from smb.conf.
2. dead /16 (10.224.0.0/16): wall time, hosts/s, the physical limit
   ``addresses x connect timeout / concurrency`` and smbsign's ratio to it; nmap with the
   same timeouts and parallelism, SYN scan (its default as root) and connect scan (-sT).
3. memory: smbsign's peak RSS (``wait4`` rusage of the scan process) for a /20, /16 and /12.

Results: a table on stdout and ``bench/results/latest.md``. Bounded: each run has a deadline.
``--quick`` is a ~30 s smoke run (a /20 instead of the /16, no dead-range nmap, no /12) that
writes ``bench/results/quick.md``; neither mode runs in CI (speed is measured here, not in
tests).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from smbsign import __version__
from smbsign.lab import netns
from smbsign.lab.check import compare
from smbsign.lab.hosts import HostKind
from smbsign.lab.lab import Lab, lab_unavailable_reason, smbsign_argv
from smbsign.lab.nmap import nmap_argv, parse_xml

RESULTS = Path(__file__).with_name("results")
READ_TIMEOUT = 3.0  # smbsign's default; only live hosts ever reach the read
# nmap's smb library does a NetBIOS name lookup per host under one global mutex (reference.md §8):
# live hosts are answered one by one, so its per-host deadline must not cut the run short.
NMAP_LIVE_HOST_TIMEOUT = 900.0
NMAP_DEAD_HOST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Run:
    tool: str
    what: str
    addresses: int
    seconds: float
    max_rss_mb: float
    exit_code: int
    lines: int  # stdout lines (smbsign JSONL records)

    @property
    def rate(self) -> float:
        return self.addresses / self.seconds if self.seconds else 0.0


def measure(
    lab: Lab,
    tool: str,
    what: str,
    argv: list[str],
    addresses: int,
    deadline: float,
    keep_stdout: Path | None = None,
) -> Run:
    """Run argv in the client namespace; wall time, peak RSS (wait4) and stdout line count."""
    full = netns.exec_argv(lab.client_ns, argv)
    start = time.monotonic()
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    count = [0]
    sink = keep_stdout.open("wb") if keep_stdout else None

    def drain() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            count[0] += chunk.count(b"\n")
            if sink:
                sink.write(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=30)
    proc.stdout.close()
    if sink:
        sink.close()
    return Run(tool, what, addresses, elapsed, usage.ru_maxrss / 1024, proc.returncode, count[0])


def smbsign_scan(targets_file: Path, *, concurrency: int, timeout: float) -> list[str]:
    return [
        *smbsign_argv(),
        "scan",
        "-iL",
        str(targets_file),
        "--ports",
        "445",
        "--concurrency",
        str(concurrency),
        "--connect-timeout",
        f"{timeout:g}",
        "--read-timeout",
        f"{2 * timeout:g}",
        "--format",
        "jsonl",
        "--no-store",
        "-q",
        "--no-progress",
    ]


def live_phase(lab: Lab, args: argparse.Namespace, tmp: Path) -> tuple[list[Run], list[str]]:
    """Every lab address on 445, both tools; records and verdicts against the ground truth."""
    names = [h.name for h in lab.hosts]
    targets = [a for n in names for a in (lab.address(n), *lab.addresses(n).aliases)]
    tfile = tmp / "live.txt"
    tfile.write_text("".join(f"{t}\n" for t in targets))
    out = tmp / "live.jsonl"
    argv = smbsign_scan(tfile, concurrency=args.live_concurrency, timeout=args.live_timeout)
    ours = measure(lab, "smbsign", "live lab", argv, len(targets), 600, out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    wrong: dict[str, list[str]] = {}
    for rec in records:
        host = lab.name_of(rec["target"])
        problems = compare(rec, lab.truth(host)) if host else ["not a lab address"]
        if problems:
            wrong[rec["target"]] = problems
    notes = [
        f"smbsign: {len(records) - len(wrong)}/{len(targets)} records equal to the ground "
        "truth in every field (status, port, signing_required, SMB1 and SMB2 SecurityMode, "
        "dialect, relayable, reason)"
        + "".join(f"; MISMATCH {t}: {p}" for t, p in list(wrong.items())[:5])
    ]
    xml = tmp / "live.xml"
    nmap = nmap_argv(
        str(tfile),
        str(xml),
        connect_timeout=args.live_timeout,
        host_timeout=NMAP_LIVE_HOST_TIMEOUT,
        parallelism=args.live_concurrency,
        syn=True,
    )
    theirs = measure(lab, "nmap -sS", "live lab", nmap, len(targets), 1200)
    verdicts = parse_xml(xml.read_text())
    differ: Counter[tuple[str, str]] = Counter()
    for t in targets:
        host = lab.name_of(t) or "?"
        truth = lab.truth(host)
        got = verdicts.get(t)
        says = None if got is None else got.signing_required
        if says != truth.signing_required:
            differ[(host, f"nmap {says}, truth {truth.signing_required}")] += 1
    notes.append(
        f"nmap: {len(targets) - sum(differ.values())}/{len(targets)} signing verdicts equal to "
        "the ground truth"
        + "".join(f"; {h}: {d} on {n} addresses" for (h, d), n in sorted(differ.items()))
    )
    return [ours, theirs], notes


def dead_phase(lab: Lab, args: argparse.Namespace, tmp: Path) -> list[Run]:
    runs = []
    prefix = 20 if args.quick else 16
    tfile = tmp / f"dead{prefix}.txt"
    tfile.write_text(f"10.224.0.0/{prefix}\n")
    n = 1 << (32 - prefix)
    runs.append(
        measure(
            lab,
            "smbsign",
            f"dead /{prefix}",
            smbsign_scan(tfile, concurrency=args.concurrency, timeout=args.timeout),
            n,
            900,
        )
    )
    if not args.skip_nmap:
        for syn in (True, False):
            argv = nmap_argv(
                str(tfile),
                "/dev/null",
                connect_timeout=args.timeout,
                host_timeout=NMAP_DEAD_HOST_TIMEOUT,
                parallelism=args.concurrency,
                syn=syn,
            )
            tool = "nmap -sS" if syn else "nmap -sT"
            runs.append(measure(lab, tool, f"dead /{prefix}", argv, n, 900))
    return runs


def memory_phase(lab: Lab, args: argparse.Namespace, tmp: Path, dead: Run) -> list[Run]:
    """smbsign's peak RSS for a /20, /16 and /12 (the dead-phase run is reused, not redone)."""
    runs = []
    sizes = [("/20", "10.224.0.0/20", 4096), ("/16", "10.224.0.0/16", 65536)]
    if not args.skip_12:
        sizes.append(("/12", "10.224.0.0/12", 1 << 20))
    for label, net, n in sizes:
        if dead.what == f"dead {label}":
            runs.append(dead)
            continue
        if args.quick:
            continue
        tfile = tmp / f"dead{label[1:]}.txt"
        tfile.write_text(f"{net}\n")
        runs.append(
            measure(
                lab,
                "smbsign",
                f"dead {label}",
                smbsign_scan(tfile, concurrency=args.concurrency, timeout=args.timeout),
                n,
                900,
            )
        )
    return runs


def _speedup(theirs: float, ours: float) -> str:
    if ours <= theirs:
        return f"smbsign {theirs / ours:.1f}x faster"
    return f"smbsign {ours / theirs:.1f}x slower"


def physical_limit(addresses: int, args: argparse.Namespace) -> float:
    """Seconds a dead range needs at best: addresses x connect timeout / concurrency."""
    return addresses * args.timeout / args.concurrency


def render(
    args: argparse.Namespace,
    live: list[Run],
    notes: list[str],
    dead: list[Run],
    mem: list[Run],
    lab_hosts: int,
) -> str:
    ours = dead[0]
    limit = physical_limit(ours.addresses, args)
    lines = [
        f"# smbsign scan benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"smbsign {__version__}, nmap 7.93 (Debian), Samba 4.17.12 servers in network "
        f"namespaces; {os.cpu_count()} CPU cores, Linux {platform.release()}. Both tools run in "
        "the lab's client namespace, one after the other.",
        "",
        f"Matched settings: connect timeout {args.live_timeout:g} s live / {args.timeout:g} s "
        "dead (nmap --initial-rtt-timeout and --max-rtt-timeout), no retries (nmap "
        "--max-retries 0), no host discovery (-Pn -n), port 445, concurrency "
        f"{args.live_concurrency} live / {args.concurrency} dead (nmap --min-parallelism and "
        "--min-hostgroup), nmap per-host deadline (--host-timeout/--script-timeout) "
        f"{NMAP_LIVE_HOST_TIMEOUT:g} s live / {NMAP_DEAD_HOST_TIMEOUT:g} s dead, "
        f"smbsign read timeout {READ_TIMEOUT:g} s. nmap scripts: "
        "smb2-security-mode,smb-security-mode.",
        "",
        "Physical limit of a dead range: addresses x connect timeout / concurrency (every "
        "address costs one unanswered SYN for the full connect timeout).",
        "",
        "| run | tool | addresses | wall s | hosts/s | limit s | x limit | peak RSS MB | exit "
        "| records |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [*live, *dead, *(m for m in mem if m is not ours)]:
        if r.what.startswith("dead"):
            lim = physical_limit(r.addresses, args)
            limit_cells = f"{lim:.1f} | {r.seconds / lim:.2f}"
        else:
            limit_cells = "- | -"
        lines.append(
            f"| {r.what} | {r.tool} | {r.addresses} | {r.seconds:.1f} | {r.rate:.0f} | "
            f"{limit_cells} | {r.max_rss_mb:.0f} | {r.exit_code} | "
            f"{r.lines if r.tool == 'smbsign' else '-'} |"
        )
    lines += [
        "",
        f"Live lab: {lab_hosts} lab hosts, {live[0].addresses} addresses; smbsign "
        f"{live[0].rate:.0f} hosts/s, nmap {live[1].rate:.0f} hosts/s "
        f"({_speedup(live[1].seconds, live[0].seconds)}).",
        "",
    ]
    lines += [f"- {n}" for n in notes]
    lines += [
        "",
        f"{ours.what.capitalize()}: physical limit {ours.addresses} x {args.timeout:g} s / "
        f"{args.concurrency} = {limit:.1f} s; smbsign {ours.seconds:.1f} s = "
        f"{ours.seconds / limit:.2f}x the limit.",
    ]
    for r in dead[1:]:
        lines.append(f"- vs {r.tool}: {r.seconds:.1f} s, {_speedup(r.seconds, ours.seconds)}.")
    lines += [
        "",
        "Peak RSS of smbsign (same concurrency and timeout): "
        + ", ".join(f"{r.what.split()[-1]} {r.max_rss_mb:.0f} MB ({r.seconds:.0f} s)" for r in mem)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aliases", type=int, default=20, help="extra addresses per Samba host")
    ap.add_argument("--timeout", type=float, default=1.0, help="dead-range connect timeout, s")
    ap.add_argument(
        "--live-timeout",
        type=float,
        default=2.0,
        help="live-lab connect timeout, s (smbsign's default)",
    )
    ap.add_argument("--concurrency", type=int, default=4096, help="dead-range concurrency")
    ap.add_argument("--live-concurrency", type=int, default=128)
    ap.add_argument(
        "--skip-nmap", action="store_true", help="skip the two dead-range nmap runs (about 2 min)"
    )
    ap.add_argument("--skip-12", action="store_true", help="no /12 memory run (saves ~5 min)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (~30 s): 2 aliases, dead /20 only, no dead-range nmap, no /12; "
        "results go to bench/results/quick.md",
    )
    args = ap.parse_args()
    if args.quick:
        args.aliases, args.skip_nmap, args.skip_12 = min(args.aliases, 2), True, True
    reason = lab_unavailable_reason()
    if reason:
        print(f"scan_bench: {reason}", file=sys.stderr)
        return 3
    with (
        Lab(aliases=args.aliases) as lab,
        tempfile.TemporaryDirectory(prefix=f"{lab.run_id}-bench-") as tmpdir,
    ):
        tmp = Path(tmpdir)
        samba = sum(1 for h in lab.hosts if h.kind is HostKind.SAMBA)
        print(
            f"lab up: {len(lab.hosts)} hosts ({samba} Samba x {1 + args.aliases} addresses)",
            file=sys.stderr,
        )
        live, notes = live_phase(lab, args, tmp)
        print(f"live done: {live[0].seconds:.1f} s / nmap {live[1].seconds:.1f} s", file=sys.stderr)
        dead = dead_phase(lab, args, tmp)
        print(f"{dead[0].what} done", file=sys.stderr)
        mem = memory_phase(lab, args, tmp, dead[0])
        text = render(args, live, notes, dead, mem, len(lab.hosts))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("quick.md" if args.quick else "latest.md")).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

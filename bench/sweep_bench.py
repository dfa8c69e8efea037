"""A sparse /16 holding the live lab: smbsign at its defaults vs tuned nmap -sS (issue #10).

Run as root from the repository: ``.venv/bin/python bench/sweep_bench.py`` (``--help``).
Everything runs in the lab's client namespace, one tool after the other, in one lab:

* the /16 ``10.213.0.0/16`` holds every lab host (each Samba host with ``--aliases`` extra
  addresses) and is otherwise silent: the bench gives the client a /32 route per lab address
  and sends the rest of the /16 to the lab's sink namespace, which drops it (no RST, no ICMP);
* smbsign at its default settings (SYN sweep, as root) and with ``--sweep connect`` (today's
  connect scan, the same defaults otherwise): wall time, peak RSS, and the verdict of every
  live address in both runs, held against each other and against the ground truth;
* nmap -sS with ``smb2-security-mode,smb-security-mode``, tuned (settings printed); masscan
  followed by ``smbsign scan -iL`` when a masscan binary runs here;
* memory and scale: smbsign's defaults on a silent /20, /16 and /12 of the lab's silent range;
  the /8 is extrapolated from the /12.

"limit" = addresses / rate + one timeout (the issue's definition), and since every silent
address gets two SYNs (one retransmission) also packets / rate + one timeout; timeout = the
default connect timeout, 2 s. Results: a table on stdout, ``bench/results/sweep.json`` and
``sweep.md`` (``--quick``: a /20 instead of the /16, 2 aliases, no nmap, no /12; results in
``sweep-quick.*``). Never in CI.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_bench import Run

from smbsign import __version__
from smbsign.cli.scan_options import DEFAULT_SWEEP_RATE
from smbsign.lab import netns
from smbsign.lab.check import compare
from smbsign.lab.lab import SINK_OCTET, Lab, ipv4, lab_unavailable_reason, smbsign_argv
from smbsign.lab.nmap import SCRIPTS, parse_xml

RESULTS = Path(__file__).with_name("results")
LIVE_NET = "10.213.0.0/16"
CONNECT_TIMEOUT = 2.0  # smbsign's default
NMAP_RATE = int(DEFAULT_SWEEP_RATE)
FAST_RATE = 100_000  # one extra /12 run: what this machine's CPU sustains
VERDICT_FIELDS = ("status", "port", "signing_required", "relayable", "smb1", "smb2")


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(word) for word in fh.read().split()]
    except (OSError, ValueError):
        return []


def _tree_hwm_kb(pid: int) -> int:
    """The high-water marks of ``pid`` and its descendants, added up: smbsign runs its SYN
    sweep in a child process (scan/sweep_fork.py). Pages the child shares with its parent
    after the fork count twice, so this is an upper bound."""
    return _hwm_kb(pid) + sum(_tree_hwm_kb(child) for child in _children(pid))


def measure(
    lab: Lab, tool: str, what: str, argv: list[str], addresses: int, deadline: float
) -> Run:
    """Run argv in the client namespace: wall time and peak RSS.

    Peak RSS is the process's own high-water mark (``VmHWM`` in /proc/PID/status, read every
    20 ms; ``ip netns exec`` execs the tool in place, and a new program starts a new mark),
    plus those of its children while they run (:func:`_tree_hwm_kb`).
    ``wait4``'s ``ru_maxrss`` is not used: Linux starts it at the spawning process's size,
    so the bench's own memory would be counted.
    """
    start = time.monotonic()
    proc = subprocess.Popen(
        netns.exec_argv(lab.client_ns, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_hwm_kb(proc.pid))
        if time.monotonic() - start > deadline:
            proc.kill()
            proc.wait()
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    return Run(tool, what, addresses, elapsed, peak / 1024, proc.returncode, 0)


def silent_rest(lab: Lab, live: list[str]) -> None:
    """Make the /16 silent but for the lab's addresses: /32 routes to them, the rest to the sink.

    Only this lab's client and sink namespaces change; the sink drops the /16 before routing.
    """
    sink = ipv4(SINK_OCTET)
    cmds = [f"route add {a}/32 dev eth0" for a in [*live, sink]]
    cmds += [f"route del {LIVE_NET} dev eth0", f"route add {LIVE_NET} via {sink} dev eth0"]
    netns.batch(lab.client_ns, cmds)
    # masscan sends everything to one router: the sink forwards the live addresses back onto
    # the bridge (no redirects) and drops the rest of the /16.
    netns.sysctl(
        lab.sink_ns,
        {
            "net.ipv4.ip_forward": "1",
            "net.ipv4.conf.all.send_redirects": "0",
            "net.ipv4.conf.eth0.send_redirects": "0",
        },
    )
    keep = ", ".join([sink, *live])
    netns.nft_load(
        lab.sink_ns,
        f"""table ip sweepbench {{
    chain pre {{
        type filter hook prerouting priority -300; policy accept;
        ip daddr {LIVE_NET} ip daddr != {{ {keep} }} drop
    }}
}}
""",
    )


def smbsign_default(target: str, out: Path, *extra: str) -> list[str]:
    """smbsign at its defaults; only where records go (a file, no history store) is set."""
    return [*smbsign_argv(), "scan", target, "-o", str(out), "--no-store", "--no-progress", *extra]


def nmap_tuned(target: str, xml: Path) -> list[str]:
    return [
        "nmap", "-sS", "-Pn", "-n", "-p", "445",
        "--min-rate", str(NMAP_RATE),
        "--min-hostgroup", "4096",
        "--max-retries", "1",
        "--max-rtt-timeout", f"{round(CONNECT_TIMEOUT * 1000)}ms",
        "--script", SCRIPTS,
        "-oX", str(xml),
        target,
    ]  # fmt: skip


def nmap_settings() -> str:
    return (
        f"nmap -sS -Pn -n -p 445 --min-rate {NMAP_RATE} --min-hostgroup 4096 --max-retries 1 "
        f"--max-rtt-timeout {round(CONNECT_TIMEOUT * 1000)}ms --script {SCRIPTS}"
    )


def records(path: Path, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The records of ``wanted`` addresses only: the bench process stays small (its size at
    spawn time would count in the peak RSS of the runs after it)."""
    out = {}
    with path.open() as fh:
        for line in fh:
            target = line[len('{"target":"') :].split('"', 1)[0]
            if target in wanted:
                out[target] = json.loads(line)
    return out


def _verdict(rec: dict[str, Any]) -> dict[str, Any]:
    v = {k: rec[k] for k in VERDICT_FIELDS}
    if v["smb2"]:
        v["smb2"] = {**v["smb2"], "server_guid": None}  # Samba's GUID is per process start
    return v


def compare_live(
    lab: Lab, live: dict[str, str], swept: dict[str, Any], plain: dict[str, Any]
) -> dict[str, Any]:
    """Live addresses: sweep vs connect scan field by field, each vs the ground truth."""
    differ, wrong, missing = [], [], []
    for address, host in live.items():
        a, b = swept.get(address), plain.get(address)
        if a is None or b is None:
            missing.append(address)
            continue
        if _verdict(a) != _verdict(b):
            differ.append(address)
        problems = compare(a, lab.truth(host)) + compare(b, lab.truth(host))
        if problems:
            wrong.append(f"{address} ({host}): {'; '.join(problems)[:160]}")
    return {"live": len(live), "differ": differ, "wrong": wrong, "missing": missing}


def nmap_check(lab: Lab, live: dict[str, str], xml: Path) -> dict[str, Any]:
    try:
        verdicts = parse_xml(xml.read_text())
    except (OSError, ValueError) as exc:
        return {"error": str(exc)}
    wrong = [
        a
        for a, host in live.items()
        if (verdicts[a].signing_required if a in verdicts else None)
        != lab.truth(host).signing_required
    ]
    return {"live": len(live), "wrong": wrong}


def masscan_pipeline(lab: Lab, target: str, tmp: Path) -> tuple[list[Run], str]:
    """masscan at the same rate, then ``smbsign scan -iL`` on its list, when masscan runs."""
    binary = shutil.which("masscan")
    if binary is None:
        return [], "masscan: not installed (apt-get install masscan failed or was not run)"
    listing = tmp / "masscan.lst"
    argv = [binary, target, "-p445", "--rate", str(NMAP_RATE), "--wait", "2", "-oL", str(listing)]
    argv += ["--adapter", "eth0", "--router-ip", ipv4(SINK_OCTET)]
    size = ipaddress.ip_network(target).num_addresses
    first = measure(lab, "masscan", "live /16", argv, size, 900)
    if first.exit_code != 0 or not listing.exists():
        why = lab.run_in_client([binary, "--version"], timeout=30)
        return [first], f"masscan: exit {first.exit_code} ({why.stdout.strip()[:80]})"
    out = tmp / "masscan-smbsign.jsonl"
    second = measure(
        lab,
        "smbsign -iL masscan",
        "live /16",
        [
            *smbsign_argv(),
            "scan",
            "-iL",
            str(listing),
            "-o",
            str(out),
            "--no-store",
            "--no-progress",
        ],
        size,
        900,
    )
    return [first, second], ""


def limit(addresses: int, rate: float, packets: int | None = None) -> float:
    return (packets if packets is not None else addresses) / rate + CONNECT_TIMEOUT


def row(r: Run, *, live: int = 0) -> dict[str, Any]:
    silent = r.addresses - live
    d = asdict(r)
    d["rate_hosts_s"] = round(r.rate)
    if r.tool == "smbsign" and "connect" not in r.what:
        rate = FAST_RATE if "--rate" in r.what else DEFAULT_SWEEP_RATE
        d["limit_addresses_s"] = round(limit(r.addresses, rate), 2)
        d["limit_packets_s"] = round(limit(r.addresses, rate, r.addresses + silent), 2)
        d["x_limit_addresses"] = round(r.seconds / d["limit_addresses_s"], 2)
        d["x_limit_packets"] = round(r.seconds / d["limit_packets_s"], 2)
    return d


def render(rows: list[dict[str, Any]], notes: list[str], header: str) -> str:
    lines = [
        header,
        "",
        "| run | tool | addresses | wall s | hosts/s | limit s (addr) | x | limit s (packets) | x "
        "| peak RSS MB | exit | records |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in rows:
        lim_a = d.get("limit_addresses_s", "-")
        lim_p = d.get("limit_packets_s", "-")
        lines.append(
            f"| {d['what']} | {d['tool']} | {d['addresses']} | {d['seconds']:.1f} | "
            f"{d['rate_hosts_s']} | {lim_a} | {d.get('x_limit_addresses', '-')} | {lim_p} | "
            f"{d.get('x_limit_packets', '-')} | {d['max_rss_mb']:.0f} | {d['exit_code']} | "
            f"{d['lines'] if d['tool'].startswith('smbsign') else '-'} |"
        )
    lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aliases", type=int, default=20, help="extra addresses per Samba host")
    ap.add_argument("--skip-nmap", action="store_true")
    ap.add_argument("--skip-12", action="store_true", help="no /12 run (saves ~2-3 min)")
    ap.add_argument("--quick", action="store_true", help="smoke: /20, 2 aliases, no nmap, no /12")
    args = ap.parse_args()
    if args.quick:
        args.aliases, args.skip_nmap, args.skip_12 = min(args.aliases, 2), True, True
    reason = lab_unavailable_reason()
    if reason:
        print(f"sweep_bench: {reason}", file=sys.stderr)
        return 3
    net = "10.213.0.0/20" if args.quick else LIVE_NET
    size = ipaddress.ip_network(net).num_addresses
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    result: dict[str, Any] = {}
    with (
        Lab(aliases=args.aliases) as lab,
        tempfile.TemporaryDirectory(prefix=f"{lab.run_id}-sweep-") as tmpdir,
    ):
        tmp = Path(tmpdir)
        live = {
            a: h.name
            for h in lab.hosts
            for a in (lab.address(h.name), *lab.addresses(h.name).aliases)
        }
        silent_rest(lab, list(live))
        print(f"lab up: {len(live)} live addresses in {net}", file=sys.stderr)

        swept_out, plain_out = tmp / "swept.jsonl", tmp / "plain.jsonl"
        ours = measure(lab, "smbsign", f"live {net}", smbsign_default(net, swept_out), size, 900)
        print(f"smbsign defaults: {ours.seconds:.1f} s", file=sys.stderr)
        plain = measure(
            lab,
            "smbsign",
            f"live {net} (--sweep connect)",
            smbsign_default(net, plain_out, "--sweep", "connect"),
            size,
            900,
        )
        print(f"smbsign --sweep connect: {plain.seconds:.1f} s", file=sys.stderr)
        rows += [row(ours, live=len(live)), row(plain)]
        wanted = set(live)
        check = compare_live(lab, live, records(swept_out, wanted), records(plain_out, wanted))
        result["verdicts"] = check
        notes.append(
            f"verdicts of the {check['live']} live addresses: sweep vs connect scan differ on "
            f"{len(check['differ'])} {check['differ'][:5]}; differ from the ground truth on "
            f"{len(check['wrong'])} {check['wrong'][:3]}; missing {len(check['missing'])}"
        )
        nmap_run = None
        if not args.skip_nmap:
            xml = tmp / "nmap.xml"
            nmap_run = measure(lab, "nmap -sS", f"live {net}", nmap_tuned(net, xml), size, 1800)
            print(f"nmap: {nmap_run.seconds:.1f} s", file=sys.stderr)
            rows.append(row(nmap_run))
            result["nmap_verdicts"] = nmap_check(lab, live, xml)
            notes.append(
                f"{nmap_settings()}: {nmap_run.seconds:.1f} s; smbsign defaults "
                f"{nmap_run.seconds / ours.seconds:.1f}x faster (goal >= 5x); nmap verdicts wrong "
                f"on {len(result['nmap_verdicts'].get('wrong', []))} live addresses"
            )
            runs, why = masscan_pipeline(lab, net, tmp)
            rows += [row(r) for r in runs]
            if why:
                notes.append(why)
            elif len(runs) == 2:
                total = runs[0].seconds + runs[1].seconds
                notes.append(
                    f"masscan (--rate {NMAP_RATE}) then smbsign -iL: {total:.1f} s together"
                )
        for label, silent_net, n in (
            ("/20", "10.224.0.0/20", 1 << 12),
            ("/16", "10.224.0.0/16", 1 << 16),
            ("/12", "10.224.0.0/12", 1 << 20),
        ):
            if label == "/12" and args.skip_12:
                continue
            if args.quick and label != "/20":
                continue
            out = tmp / "silent.jsonl"
            argv = smbsign_default(silent_net, out, "--force")
            run = measure(lab, "smbsign", f"silent {label}", argv, n, 1800)
            print(f"silent {label}: {run.seconds:.1f} s", file=sys.stderr)
            rows.append(row(run))
            out.unlink(missing_ok=True)
        if not args.skip_12:  # the ceiling of this machine: a rate the CPU cannot keep up with
            out = tmp / "silent.jsonl"
            argv = smbsign_default("10.224.0.0/12", out, "--force", "--rate", str(FAST_RATE))
            fast = measure(lab, "smbsign", f"silent /12 --rate {FAST_RATE}", argv, 1 << 20, 1800)
            print(f"silent /12 --rate {FAST_RATE}: {fast.seconds:.1f} s", file=sys.stderr)
            rows.append(row(fast))
            out.unlink(missing_ok=True)
            notes.append(
                f"/8 extrapolated from the /12 at --rate {FAST_RATE} (x16): "
                f"{fast.seconds * 16 / 60:.1f} min (limit by packets at that rate "
                f"{limit(1 << 24, FAST_RATE, 2 << 24) / 60:.1f} min)"
            )
        silent_rows = [d for d in rows if d["what"].startswith("silent")]
        at_default = [d for d in silent_rows if "--rate" not in d["what"]]
        if silent_rows:
            rss = ", ".join(f"{d['what']} {d['max_rss_mb']:.0f} MB" for d in silent_rows)
            notes.append(f"peak RSS of smbsign at its defaults: {rss}")
        if at_default and at_default[-1]["addresses"] >= 1 << 20:  # from a /12, not a /20
            biggest = at_default[-1]
            factor = (1 << 24) / biggest["addresses"]
            notes.append(
                f"/8 extrapolated from the {biggest['what']} (x{factor:.0f}): "
                f"{biggest['seconds'] * factor / 60:.1f} min at the default rate "
                f"{DEFAULT_SWEEP_RATE:,.0f} SYNs/s (limit by packets "
                f"{limit(1 << 24, DEFAULT_SWEEP_RATE, 2 << 24) / 60:.1f} min)"
            )
    header = (
        f"# smbsign SYN sweep benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
        f"smbsign {__version__}, Samba servers in network namespaces, {os.cpu_count()} CPU "
        f"cores, Linux {platform.release()}, load average {os.getloadavg()[0]:.1f} at the end. "
        f"smbsign at its defaults (SYN sweep at {DEFAULT_SWEEP_RATE:,.0f} SYNs/s, connect "
        f"timeout {CONNECT_TIMEOUT:g} s; only -o FILE --no-store --no-progress given)."
    )
    text = render(rows, notes, header)
    RESULTS.mkdir(exist_ok=True)
    stem = "sweep-quick" if args.quick else "sweep"
    (RESULTS / f"{stem}.md").write_text(text)
    payload = {"rows": rows, "notes": notes, **result, "nmap": nmap_settings()}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

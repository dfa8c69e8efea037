"""The SYN pre-sweep against the real lab (issue #10 item 1): raw sockets, real Samba servers.

Packets go only to the lab's namespaces: its hosts and its silent range, which the sink
namespace drops. Held here: the sweep finds exactly the live hosts (and nothing else answers),
every verdict is the one the connect scan gives, silent addresses get ``filtered`` with
``no SYN-ACK``, an excluded address never receives a packet and every other one gets exactly
two SYNs (nft counters in the sink), and without CAP_NET_RAW ``--sweep auto`` falls back to
the connect scan with one line while ``--sweep syn`` is a usage error.
"""

from __future__ import annotations

import json
import re
import shlex
import sys

import pytest
from lab_helpers import require_lab

from smbsign.lab import netns
from smbsign.lab.check import compare, scan_in_lab
from smbsign.lab.hosts import CATALOG, HostKind
from smbsign.lab.lab import Lab, smbsign_argv

pytestmark = pytest.mark.lab

SILENT = "10.224.0.0/23"  # 512 addresses of the lab's silent range: the set is above 256

SWEEP_ONLY = """
import asyncio, json, sys
from smbsign.scan.sweep_fork import start_sweep
from smbsign.scan.sweep_result import SweepOptions
from smbsign.scan.targets import TargetSource
src = TargetSource(sys.argv[2:])
src.prepare()
opts = SweepOptions((445, 139), 5000.0, 0.5, fork=sys.argv[1] == "fork")
async def main():
    return await start_sweep(opts, asyncio.get_running_loop()).run(lambda: iter(src))
res = asyncio.run(main())
print(json.dumps({"answers": res.answers, "sent": res.sent}))
"""


def _all_addresses(lab: Lab) -> list[tuple[str, str]]:
    out = []
    for h in CATALOG:
        addrs = lab.addresses(h.name)
        out += [(h.name, addrs.ipv4), (h.name, addrs.ipv6)]
    return out


@pytest.mark.parametrize("mode", ["in-process", "fork"])
def test_sweep_finds_exactly_the_listening_hosts(lab: Lab, mode: str) -> None:
    """SYN-ACK from every Samba host on each port it listens on, RST from the others; the
    same whether the sweep runs in the scanning process or in a child (scan/sweep_fork.py)."""
    targets = [t for _, t in _all_addresses(lab)] + [SILENT]
    argv = [sys.executable, "-c", SWEEP_ONLY, mode, *targets]
    proc = lab.run_in_client(argv, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    answers: dict[str, int] = got["answers"]
    want_sa: dict[str, set[int]] = {}
    for name, address in _all_addresses(lab):
        host = lab.host(name)
        if host.kind is HostKind.SAMBA:
            want_sa[address] = {139} if name == "port139-mandatory" else {445, 139}
    syn_ack = {
        a: {p for i, p in enumerate((445, 139)) if bits >> (3 * i) & 1}
        for a, bits in answers.items()
    }
    assert {a: p for a, p in syn_ack.items() if p} == want_sa
    closed = lab.addresses("closed")
    for address in (closed.ipv4, closed.ipv6):
        assert answers[address] == 2 | 2 << 3  # RST on 445 and on 139
    filtered = lab.addresses("filtered")
    assert filtered.ipv4 not in answers and filtered.ipv6 not in answers
    assert not any(a.startswith("10.224.") for a in answers)
    # one SYN per address and port; a second one per port that stayed silent: the silent
    # range and the filtered host (IPv4 and IPv6)
    addresses = len(targets) - 1 + 512
    assert got["sent"] == 2 * addresses + 2 * (512 + 2)


def test_sweep_verdicts_equal_the_connect_scan_and_the_truth(lab: Lab) -> None:
    pairs = _all_addresses(lab)
    targets = [t for _, t in pairs]
    swept = scan_in_lab(lab, [*targets, SILENT], extra=("--sweep", "syn"))
    plain = scan_in_lab(lab, targets, extra=("--sweep", "connect"))
    by_swept, by_plain = swept.by_target(), plain.by_target()
    problems = []
    for host, target in pairs:
        problems += [f"{host} {target}: {p}" for p in compare(by_swept[target], lab.truth(host))]
        for key in ("status", "port", "signing_required", "relayable", "smb1", "smb2"):
            a, b = by_swept[target][key], by_plain[target][key]
            if key == "smb2" and a and b:
                a, b = {**a, "server_guid": None}, {**b, "server_guid": None}
            if a != b:
                problems.append(f"{host} {target} {key}: sweep {a} connect {b}")
    assert problems == []
    assert swept.relay_list == plain.relay_list
    assert swept.returncode == plain.returncode == 1
    silent = [r for r in swept.records if r["target"].startswith("10.224.")]
    assert len(silent) == 512
    assert {r["status"] for r in silent} == {"filtered"}
    assert {r["reason"] for r in silent} == {
        "filtered: no SYN-ACK within 0.5 s (sweep, SYN sent twice)"
    }
    assert swept.summary["statuses"]["filtered"] == 512 + 2  # and the filtered host, v4 + v6


COUNTERS = """table ip sweepcount {
    chain pre {
        type filter hook prerouting priority -400; policy accept;
        ip daddr 10.224.1.7 tcp dport 445 counter
        ip daddr 10.224.1.8 tcp dport 445 counter
        ip daddr 10.224.0.0/12 tcp dport 445 counter
        ip daddr 10.224.0.0/12 counter
    }
}
"""


def _counters(lab: Lab) -> list[int]:
    proc = lab.run_in(lab.sink_ns, ["nft", "list", "table", "ip", "sweepcount"], timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [int(n) for n in re.findall(r"counter packets (\d+)", proc.stdout)]


def test_excluded_addresses_never_get_a_packet() -> None:
    require_lab()
    with Lab(hosts=()) as lab:
        netns.nft_load(lab.sink_ns, COUNTERS)
        run = scan_in_lab(
            lab,
            ["10.224.1.0/24", "10.224.2.0/24"],
            extra=("--sweep", "syn", "--exclude", "10.224.1.7", "--exclude", "10.224.2.0/25"),
        )
        assert run.returncode == 0, run.records[:2]
        assert len(run.records) == 256 + 128 - 1
        assert "10.224.1.7" not in run.by_target()
        excluded, neighbour, port_445, everything = _counters(lab)
        assert excluded == 0
        assert neighbour == 2  # the SYN and its one retransmission
        assert port_445 == everything == 2 * (256 + 128 - 1)  # nothing else, nowhere else


def _drop_net_raw(argv: list[str]) -> list[str]:
    return ["capsh", "--drop=cap_net_raw", "--", "-c", shlex.join(argv)]


def test_auto_falls_back_without_cap_net_raw(lab: Lab) -> None:
    base = [*smbsign_argv(), "scan", SILENT, lab.address("default"), "--no-store", "--no-progress"]
    base += ["--connect-timeout", "0.5", "--format", "jsonl"]
    proc = lab.run_in_client(_drop_net_raw(base), timeout=120)
    assert proc.returncode == 1, proc.stderr  # the default host does not require signing
    notes = [line for line in proc.stderr.splitlines() if "--sweep auto" in line]
    assert notes == [
        "smbsign: note: --sweep auto: connect scan, no SYN sweep: raw sockets not permitted "
        "(needs root or CAP_NET_RAW)"
    ]
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == 513
    assert {r["reason"] for r in records if r["status"] == "filtered"} == {
        "filtered: no answer within 0.5 s"  # the connect scan's own records
    }
    syn = lab.run_in_client(_drop_net_raw([*base, "--sweep", "syn"]), timeout=60)
    assert syn.returncode == 2
    assert syn.stderr.strip().splitlines() == [
        "smbsign: error: --sweep syn: raw sockets not permitted (needs root or CAP_NET_RAW)"
    ]
    assert syn.stdout == ""

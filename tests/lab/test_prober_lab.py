"""probe_port against the real Samba lab (network namespaces; docs/reference.md §4.6, §5.7-5.9).

Every catalog host, on 445 and on 139, must give exactly the lab's derived ground truth:
status, verdict, raw SMB2 SecurityMode and dialect, and the SMB1 answer. The DROP host is the
real `filtered` case, the address without a listener the real `closed` case, and IPv6 (ULA and
link-local with ``%scope``) is probed too. The prober runs inside the lab's client namespace.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from smbsign.lab.check import compare
from smbsign.lab.hosts import CATALOG
from smbsign.lab.lab import Lab

pytestmark = pytest.mark.lab

_PROBE = """
import asyncio, json, sys
from smbsign.scan.prober import ProbeOptions, probe_port
from smbsign.serialize import scan_record_to_dict
a = sys.argv[1:]
targets = [(a[i], int(a[i + 1])) for i in range(0, len(a), 2)]
async def main():
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=2.0)
    recs = await asyncio.gather(*(probe_port(h, p, opts) for h, p in targets))
    print(json.dumps([scan_record_to_dict(r) for r in recs]))
asyncio.run(main())
"""


def probe(lab: Lab, targets: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    argv = [sys.executable, "-c", _PROBE]
    for host, port in targets:
        argv += [host, str(port)]
    proc = lab.run_in_client(argv, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records: list[dict[str, Any]] = json.loads(proc.stdout)
    return records


@pytest.mark.parametrize("port", [445, 139])
def test_prober_matches_ground_truth(lab: Lab, port: int) -> None:
    """Every field the truth fixes (smbsign.lab.check.expected_fields), reason included."""
    names = [h.name for h in CATALOG]
    records = probe(lab, [(lab.address(n), port) for n in names])
    problems = [
        f"{name}: {problem}"
        for name, rec in zip(names, records, strict=True)
        for problem in compare(rec, lab.truth(name, (port,)))
    ]
    assert problems == []
    for rec in records:
        assert rec["transport"] == ("netbios" if port == 139 else "direct_tcp")
        if rec["status"] != "ok":
            assert rec["smb2"] is None, rec


def test_prober_ipv6_ula_and_link_local_scope(lab: Lab) -> None:
    addrs = lab.addresses("mandatory")
    records = probe(lab, [(addrs.ipv6, 445), (lab.link_local_target("mandatory"), 445)])
    for rec in records:
        assert rec["status"] == "ok", rec
        assert rec["signing_required"] is True, rec
        assert rec["reason"] == "SMB2 3.1.1 signing required; SMB1 not offered"
    assert records[1]["target"] == lab.link_local_target("mandatory")

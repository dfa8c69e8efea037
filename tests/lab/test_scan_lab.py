"""`smbsign scan` against real Samba 4.17 servers (issue #2 item 5).

The real CLI runs as a separate process in the lab's client namespace; every record is held
against the ground truth derived from that server's smb.conf (smbsign.lab.hosts), field by
field: status, port, transport, signing_required, relayable, SMB1 offered/signing/
SecurityMode, SMB2 SecurityMode/signing_required/dialect, and the reason (in full for ``ok``,
its machine token otherwise; smbsign.lab.check.expected_fields). The relay list and the exit
code are checked exactly. nmap agrees with the same ground truth (tests/lab/test_lab.py).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

import pytest
from lab_helpers import require_lab

from smbsign.lab.check import ScanRun, compare, scan_in_lab
from smbsign.lab.hosts import CATALOG, HostKind
from smbsign.lab.lab import Lab, smbsign_argv
from smbsign.scan.targets import address_sort_key

pytestmark = pytest.mark.lab

ALL = [h.name for h in CATALOG]


def _check(lab: Lab, run: ScanRun, pairs: Sequence[tuple[str, str]], ports: Sequence[int]) -> None:
    """Every (host, target) has exactly one record, equal to the truth; relay list exact."""
    records = run.by_target()
    assert len(run.records) == len(pairs), [r["target"] for r in run.records]
    problems = []
    for host, target in pairs:
        rec = records.get(target)
        if rec is None:
            problems.append(f"{host} {target}: no record")
            continue
        problems += [f"{host} {target}: {p}" for p in compare(rec, lab.truth(host, ports))]
    assert problems == []
    want_relay = sorted(
        (t for h, t in pairs if lab.truth(h, ports).relayable), key=address_sort_key
    )
    assert list(run.relay_list) == want_relay
    assert run.complete is True
    assert run.returncode == (1 if want_relay else 0), run.stderr


def test_every_lab_host_on_445(lab: Lab) -> None:
    """Default ports: the 139-only host is closed on 445; exit 1 for the relayable ones."""
    pairs = [(h, lab.address(h)) for h in ALL]
    run = scan_in_lab(lab, [t for _, t in pairs], extra=("-q",))
    _check(lab, run, pairs, (445,))
    by = run.by_target()
    assert by[lab.address("port139-mandatory")]["status"] == "closed"
    assert by[lab.address("filtered")]["status"] == "filtered"
    assert by[lab.address("closed")]["relayable"] is False
    assert run.summary["signing_not_required"] == 5
    assert run.summary["signing_required"] == 3
    assert run.summary["unknown"] == 0


def test_ports_445_then_139_reach_the_139_only_host(lab: Lab) -> None:
    pairs = [(h, lab.address(h)) for h in ALL]
    run = scan_in_lab(lab, [t for _, t in pairs], ports=(445, 139), extra=("-q",))
    _check(lab, run, pairs, (445, 139))
    rec = run.by_target()[lab.address("port139-mandatory")]
    assert (rec["port"], rec["transport"], rec["signing_required"]) == (139, "netbios", True)
    assert rec["smb2"]["security_mode"] == 0x03


def test_ipv6_ula_and_link_local_targets(lab: Lab) -> None:
    pairs = [
        ("mandatory", lab.addresses("mandatory").ipv6),
        ("smb1-only", lab.addresses("smb1-only").ipv6),
        ("smb3-only", lab.addresses("smb3-only").ipv6),
        ("smb1-auto", lab.link_local_target("smb1-auto")),
        ("smb311-mandatory", lab.link_local_target("smb311-mandatory")),
    ]
    run = scan_in_lab(lab, [t for _, t in pairs], extra=("-q",))
    _check(lab, run, pairs, (445,))
    assert "fe80::5a6d:12%eth0" in run.relay_list  # IPv6 without brackets, scope kept
    relayx = scan_in_lab(lab, [t for _, t in pairs], extra=("-q", "--relay-format", "ntlmrelayx"))
    assert list(relayx.relay_list) == [f"[{t}]" for t in run.relay_list]
    # ntlmrelayx -tf reads urlparse("smb://" + line) and connects to .hostname/.port
    # (impacket examples/ntlmrelayx/utils/targetsutils.py, clients/__init__.py)
    parsed = [urllib.parse.urlparse(f"smb://{line}") for line in relayx.relay_list]
    assert [(u.hostname, u.port) for u in parsed] == [(t, None) for t in run.relay_list]


def test_only_required_hosts_exit_0_with_an_empty_relay_list(lab: Lab) -> None:
    names = [h.name for h in CATALOG if lab.truth(h.name).signing_required is True]
    assert len(names) == 3
    pairs = [(h, lab.address(h)) for h in names]
    run = scan_in_lab(lab, [t for _, t in pairs], extra=("-q",))
    _check(lab, run, pairs, (445,))
    assert run.relay_list == ()


def test_silent_range_is_filtered_never_relayable(lab: Lab) -> None:
    """A CIDR of the silent range: every address times out (no RST, no ICMP) -> filtered."""
    run = scan_in_lab(lab, ["10.224.7.0/29"], connect_timeout=0.5, extra=("-q",))
    assert run.records
    assert {r["status"] for r in run.records} == {"filtered"}
    assert all(r["signing_required"] is None and not r["relayable"] for r in run.records)
    assert run.relay_list == ()
    assert run.returncode == 0, run.stderr


def test_a_reloaded_server_is_seen_by_the_next_scan() -> None:
    """Fix-and-verify loop on a real server: not required -> reload mandatory -> required."""
    require_lab()
    with Lab(hosts=()) as lab:
        lab.start_server("target", {"server min protocol": "NT1", "server signing": "auto"})
        pairs = [("target", lab.address("target"))]
        before = scan_in_lab(lab, [pairs[0][1]], extra=("-q",))
        _check(lab, before, pairs, (445,))
        assert before.records[0]["smb1"]["signing"] == "enabled"
        lab.reload("target", {"server min protocol": "NT1", "server signing": "mandatory"})
        after = scan_in_lab(lab, [pairs[0][1]], extra=("-q",))
        _check(lab, after, pairs, (445,))
        assert after.records[0]["signing_required"] is True
        assert after.records[0]["smb1"]["signing"] == "required"


def test_special_ranges_skipped_and_large_sets_refused_in_a_namespace() -> None:
    """#11 item 2, from a namespace with no default route (nothing can leave it): ranges
    that cross 0/8, 127/8, 224/4 and 240/4 probe only the ordinary addresses (each fails
    at once: no route), and 0.0.0.0/0 without --force is refused before any probe."""
    require_lab()
    with Lab(hosts=()) as lab:
        specs = ["126.255.255.254-128.0.0.1", "0.0.0.0/30", "223.255.255.255-224.0.0.2"]
        run = scan_in_lab(lab, [*specs, "255.255.255.254/31"], connect_timeout=0.5)
        assert sorted(r["target"] for r in run.records) == [
            "126.255.255.254",
            "126.255.255.255",
            "128.0.0.0",
            "128.0.0.1",
            "223.255.255.255",
        ]
        assert {r["reason"].split(":")[0] for r in run.records} == {"unreachable"}, run.records
        assert "special-purpose addresses in the ranges skipped" in run.stderr
        big = lab.run_in_client([*smbsign_argv(), "scan", "0.0.0.0/0", "--no-store"], timeout=60)
        assert big.returncode == 2, big.stderr
        assert big.stdout == ""
        assert big.stderr.startswith("smbsign: error: 3,724,541,952 targets, more than a /16")
        assert big.stderr.count("\n") == 1


def test_catalog_has_the_issue_hosts() -> None:
    """Guards the host list the tests above iterate over (no silent shrink)."""
    kinds = [h.kind for h in CATALOG]
    assert kinds.count(HostKind.SAMBA) == 9
    assert kinds.count(HostKind.CLOSED) == kinds.count(HostKind.FILTERED) == 1

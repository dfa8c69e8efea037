"""The lab itself: real smbd servers answer as their smb.conf says, nothing leaks.

Checked with two peers that share no code with smbsign's scanner: ``rawprobe.py`` (a
standard-library NEGOTIATE probe) and nmap 7.93's smb2-security-mode/smb-security-mode.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from lab_helpers import rawprobe, require_lab

from smbsign.errors import LabError
from smbsign.lab import netns
from smbsign.lab.hosts import (
    ALL_DIALECTS,
    CATALOG,
    HostKind,
    LabHost,
    catalog_host,
    negotiated_dialect,
    parse_config,
)
from smbsign.lab.lab import Lab, cleanup_stale
from smbsign.lab.nmap import nmap_argv, parse_xml
from smbsign.model import ScanStatus

pytestmark = pytest.mark.lab

SAMBA = [h.name for h in CATALOG if h.kind is HostKind.SAMBA]
DIALECT_WIRE = {"2.0.2": 0x0202, "2.1": 0x0210, "3.0": 0x0300, "3.0.2": 0x0302, "3.1.1": 0x0311}


def _lab_pids(run_id: str) -> list[int]:
    """Processes whose command line mentions this lab run (smbd, unshare wrappers)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if run_id.encode() in cmd:
            pids.append(int(proc.name))
    return pids


def _assert_gone(run_id: str) -> None:
    assert not [n for n in netns.list_namespaces() if n.startswith(run_id)]
    assert _lab_pids(run_id) == []
    assert not list(Path("/tmp").glob(f"{run_id}-*"))


@pytest.mark.parametrize("port", [445, 139])
def test_every_samba_host_answers_as_its_config_says(lab: Lab, port: int) -> None:
    """Raw SecurityMode, dialect and SMB1 answer equal the derived ground truth
    (reference.md §4.6)."""
    results = rawprobe(lab, [(lab.address(n), port) for n in SAMBA])
    for name, got in zip(SAMBA, results, strict=True):
        truth = lab.truth(name, (port,))
        if truth.status is ScanStatus.CLOSED:
            assert got["smb2"] == {"error": "ConnectionRefusedError"}, name
            continue
        if truth.smb2_security_mode is None:  # NT1 only: SMB2 NEGOTIATE is dropped
            assert got["smb2"] == {"error": "ConnectionError"}, name
        else:  # rawprobe offers 2.0.2-3.1.1 on both ports; Samba picks 3.1.1 on 139 too
            best = negotiated_dialect(parse_config(catalog_host(name).conf_map), ALL_DIALECTS)
            assert got["smb2"] == {
                "status": 0,
                "security_mode": truth.smb2_security_mode,
                "dialect": DIALECT_WIRE[best or ""],
            }, name
        if truth.smb1_offered:
            assert got["smb1"] == {"dialect_index": 0, "security_mode": truth.smb1_security_mode}, (
                name
            )
        else:
            assert got["smb1"] == {"dialect_index": 0xFFFF, "security_mode": None}, name


def test_closed_filtered_and_silent_range(lab: Lab) -> None:
    """RST from the closed host; silence (timeout, no RST/ICMP) from the DROP host and range."""
    results = rawprobe(
        lab,
        [
            (lab.address("closed"), 445),
            (lab.address("filtered"), 445),
            (lab.address("filtered"), 139),
            ("10.224.0.1", 445),
            ("10.239.255.254", 445),
        ],
        timeout=1.0,
    )
    assert results[0]["smb2"] == {"error": "ConnectionRefusedError"}
    for r in results[1:]:
        assert r["smb2"] == {"error": "TimeoutError"}, r


def test_ipv6_ula_and_link_local_with_scope(lab: Lab) -> None:
    a = lab.addresses("mandatory")
    ll = lab.link_local_target("smb1-auto")
    assert ll == f"{lab.addresses('smb1-auto').link_local}%eth0"
    got = rawprobe(lab, [(a.ipv6, 445), (ll, 445)])
    assert got[0]["smb2"]["security_mode"] == 0x03
    assert got[1]["smb2"]["security_mode"] == 0x01
    assert got[1]["smb1"] == {"dialect_index": 0, "security_mode": 0x07}


def test_nmap_agrees_with_ground_truth_except_known_gaps(lab: Lab, tmp_path: Path) -> None:
    """nmap 7.93 as a second peer; its only gap here is the port-139-only host under -p445."""
    names = [h.name for h in CATALOG]
    targets = tmp_path / "targets.txt"
    targets.write_text("".join(f"{lab.address(n)}\n" for n in names))
    xml = tmp_path / "nmap.xml"
    proc = lab.run_in_client(
        nmap_argv(
            str(targets),
            str(xml),
            ports=(445,),
            connect_timeout=1.0,
            host_timeout=20,
            parallelism=16,
        ),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    verdicts = parse_xml(xml.read_text())
    for name in names:
        truth = lab.truth(name)
        v = verdicts[lab.address(name)]
        state = {
            ScanStatus.OK: "open",
            ScanStatus.CLOSED: "closed",
            ScanStatus.FILTERED: "filtered",
        }[truth.status]
        assert v.ports[445] == state, name
        assert v.signing_required == truth.signing_required, name
        if truth.smb1_signing is not None:
            assert (
                v.smb1_signing
                == {"required": "required", "enabled": "supported", "disabled": "disabled"}[
                    truth.smb1_signing.value
                ]
            ), name


def test_root_namespace_is_untouched(lab: Lab) -> None:
    """No lab address or route leaks into the namespace the tests run in."""
    text = subprocess.run(["ip", "addr"], capture_output=True, text=True, check=True).stdout
    text += subprocess.run(["ip", "-6", "route"], capture_output=True, text=True, check=True).stdout
    text += subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    for marker in ("10.213.", "10.224.", "fd00:5a6d:", "fe80::5a6d:"):
        assert marker not in text
    assert lab.client_ns in netns.list_namespaces()


def test_start_server_probe_reload_stop() -> None:
    """The API other parts use: add a server, probe it, reload a new config, stop it."""
    require_lab()
    with Lab(hosts=()) as lab:
        host = lab.start_server("fixme", {"server signing": "auto"})
        assert lab.truth("fixme").smb2_security_mode == 0x01
        assert lab.conf_path("fixme").read_text().count("server signing = auto") == 1
        before = rawprobe(lab, [(lab.address("fixme"), 445)])[0]
        assert before["smb2"]["security_mode"] == 0x01
        lab.reload("fixme", {"server signing": "mandatory"})
        assert lab.truth("fixme").smb2_security_mode == 0x03
        after = rawprobe(lab, [(lab.address("fixme"), 445)])[0]
        assert after["smb2"]["security_mode"] == 0x03
        with pytest.raises(LabError, match="restart"):
            lab.reload("fixme", {"smb ports": "139"})
        with pytest.raises(LabError, match="already exists"):
            lab.start_server("fixme", {})
        with pytest.raises(LabError, match="server signing"):
            lab.start_server("bad", {"server signing": "bogus"})
        lab.stop_server("fixme")
        stopped = rawprobe(lab, [(lab.address("fixme"), 445)])[0]
        assert stopped["smb2"] == {"error": "ConnectionRefusedError"}
        assert host.octet >= 100
        run_id = lab.run_id
    _assert_gone(run_id)


def test_teardown_on_success_and_on_build_failure() -> None:
    require_lab()
    lab = Lab(hosts=(catalog_host("default"), catalog_host("closed")))
    with lab:
        assert _lab_pids(lab.run_id)
        assert len([n for n in netns.list_namespaces() if n.startswith(lab.run_id)]) == 5
    _assert_gone(lab.run_id)

    clash = (
        catalog_host("default"),
        LabHost("twin", HostKind.SAMBA, catalog_host("default").octet),
    )
    broken = Lab(hosts=clash)
    with pytest.raises(LabError, match="failed"), broken:
        pass
    _assert_gone(broken.run_id)


_CHILD = textwrap.dedent("""
    import sys, time
    from smbsign.lab.hosts import catalog_host
    from smbsign.lab.lab import Lab
    with Lab(hosts=(catalog_host("mandatory"),)) as lab:
        print(lab.run_id, flush=True)
        time.sleep(60)
""")


def _spawn_child() -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    assert run_id.startswith("sslab-"), run_id
    return child, run_id


def _reap(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(timeout=10)
    if child.stdout is not None:
        child.stdout.close()


def test_sigterm_tears_the_lab_down() -> None:
    require_lab()
    child, run_id = _spawn_child()
    try:
        assert _lab_pids(run_id)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        _reap(child)
    _assert_gone(run_id)


def test_sigkill_leftovers_are_removed_by_cleanup_stale() -> None:
    """SIGKILL: smbd dies with its owner (parent-death signal), namespaces wait for cleanup."""
    require_lab()
    child, run_id = _spawn_child()
    _reap(child)
    deadline = time.monotonic() + 10
    while _lab_pids(run_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _lab_pids(run_id) == []
    assert [n for n in netns.list_namespaces() if n.startswith(run_id)]
    removed = cleanup_stale()
    assert any(r.startswith(run_id) for r in removed)
    _assert_gone(run_id)
    # A live run's namespaces are never touched.
    assert all(not r.startswith(f"sslab-{os.getpid()}-") for r in removed)

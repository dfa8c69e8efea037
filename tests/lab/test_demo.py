"""`smbsign demo`, the main-job command, end to end as a user runs it (root, real Samba)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from lab_helpers import require_lab

from smbsign.lab import netns
from smbsign.lab.hosts import CATALOG

pytestmark = pytest.mark.lab

SMBSIGN = str(Path(sys.executable).with_name("smbsign"))


def _assert_torn_down(run_id: str) -> None:
    """Nothing of this demo's lab is left: namespaces, processes (smbd), work directories.

    Only this run's names are checked: other labs (parallel tests) may be up meanwhile.
    """
    assert run_id.startswith("sslab-")
    assert [n for n in netns.list_namespaces() if n.startswith(f"{run_id}-")] == []
    left = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"{run_id}-".encode() in (proc / "cmdline").read_bytes():
                    left.append(proc.name)
            except OSError:
                continue
    assert left == []
    assert list(Path("/tmp").glob(f"{run_id}-*")) == []


def test_demo_json_matches_ground_truth_and_cleans_up() -> None:
    require_lab()
    proc = subprocess.run(
        [SMBSIGN, "demo", "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    relay_file = Path(doc["relay_list_file"])
    try:
        assert doc["kind"] == "smbsign.demo"
        assert doc["all_match"] is True
        assert doc["scan_exit_code"] == 1  # the lab has hosts that do not require signing
        rows = doc["rows"]
        assert len(rows) == len(CATALOG) + 2  # every host by IPv4, plus ULA and link-local
        assert all(r["match"] and r["problems"] == [] for r in rows)
        by_host = {(r["host"], r["target"]): r for r in rows}
        p139 = next(r for (h, _), r in by_host.items() if h == "port139-mandatory")
        assert (p139["record"]["port"], p139["record"]["signing_required"]) == (139, True)
        relayable = sorted({r["target"] for r in rows if r["expected"]["relayable"]})
        assert sorted(doc["relay_list"]) == relayable
        assert len(relayable) == 6
        assert relay_file.read_text().splitlines() == doc["relay_list"]
    finally:
        relay_file.unlink(missing_ok=True)
    _assert_torn_down(doc["lab"]["run_id"])


def test_demo_table_output() -> None:
    require_lab()
    proc = subprocess.run([SMBSIGN, "demo"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"{len(CATALOG) + 2}/{len(CATALOG) + 2} results match the ground truth" in out
    assert "port139-mandatory" in out and "fe80::5a6d:12%eth0" in out
    assert "✗" not in out
    relay = out.split("Relay list (6 hosts, ", 1)[1].split(")", 1)[0]
    Path(relay).unlink()
    assert "lab torn down" in proc.stderr
    _assert_torn_down(proc.stderr.split("lab ", 1)[1].split(":", 1)[0])


def test_demo_interrupted_mid_scan_tears_down() -> None:
    """Ctrl-C while the scan runs: exit 130, one line, nothing of the lab left."""
    require_lab()
    proc = subprocess.Popen(
        [SMBSIGN, "demo"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # "lab <run id>: 11 hosts up; scanning ..."
        assert first.startswith("lab sslab-"), first
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == 130, rest
    assert rest.splitlines()[-1] == "smbsign: demo interrupted; lab torn down"
    assert "Traceback" not in rest
    _assert_torn_down(first.split(" ", 2)[1].rstrip(":"))


def test_demo_cleanup_removes_only_dead_runs() -> None:
    require_lab()
    stale = "sslab-999999999-1-0-client"  # pid that cannot exist
    netns.add_namespace(stale)
    try:
        proc = subprocess.run(
            [SMBSIGN, "demo", "--cleanup"], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert stale in proc.stdout
        assert stale not in netns.list_namespaces()
    finally:
        netns.delete_namespace(stale)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_demo_without_root_is_a_one_line_error() -> None:
    proc = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SMBSIGN, "demo"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("smbsign: error: demo: the lab needs root")

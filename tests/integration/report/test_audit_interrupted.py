"""Ctrl-C during an audit: the hosts judged so far are written and stored as an incomplete run.

The audit core judges each host as soon as no later source may name it (issue #8 item 1), so
an evidence file's host is judged before the slow remote reads start. A silent listener on
port 445 of a private loopback address holds the remote read while SIGINT arrives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smbsign.store import list_runs, load_run

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "collect" / "reg"
SILENT = "127.83.17.5"  # a loopback address of its own: nothing else listens there


def _listener() -> socket.socket:
    sock = socket.socket()
    try:
        sock.bind((SILENT, 445))
    except PermissionError:
        sock.close()
        pytest.skip("binding port 445 needs root (or CAP_NET_BIND_SERVICE)")
    sock.listen(8)
    sock.settimeout(60)
    return sock


def _argv(evidence: Path, url: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from smbsign.cli import main; main()",
        "audit",
        str(evidence),
        "--remote",
        SILENT,
        "--user",
        "auditor",
        "-f",
        "json",
        "--db",
        url,
    ]


def test_interrupted_audit_keeps_and_stores_the_hosts_judged_so_far(tmp_path: Path) -> None:
    pytest.importorskip("impacket")
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    evidence = tmp_path / "fs01.reg"
    evidence.write_bytes((FIX / "server-not-required.fail.regedit4.reg").read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "SMBSIGN_DB"}
    env["SMBSIGN_PASSWORD"] = "not-a-real-secret"  # nothing checks it
    with _listener() as silent:
        proc = subprocess.Popen(
            _argv(evidence, url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            conn, _ = silent.accept()  # fs01 is judged; the remote read now waits
            with conn:
                time.sleep(0.3)
                proc.send_signal(signal.SIGINT)
                stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr and "recorded incomplete audit run" in stderr
    hosts = {f["host"] for f in json.loads(stdout)["findings"]}
    assert hosts == {"fs01"}  # valid output with what was judged; the remote host is not
    (info,) = list_runs(url)
    assert info.kind == "audit" and info.complete is False
    stored = load_run(url, "latest")
    assert {f.host for f in stored.findings} == {"fs01"} and len(stored.findings) > 1

"""What real Samba servers send as SMB2 ServerGuid, and what the reports make of it (issue #11
item 23), on lab servers in separate network namespaces (docs/lab.md).

Samba's ServerGuid is its lower-cased NetBIOS name, zero padded: the same over IPv4 and
IPv6, and the same on two *different* servers that share a NetBIOS name. So a Samba GUID on
its own must never merge two addresses into one server.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from lab_helpers import require_lab

from smbsign.lab.lab import Lab, smbsign_argv
from smbsign.report.run import server_key
from smbsign.store import load_run

pytestmark = pytest.mark.lab


def test_samba_server_guid_is_the_netbios_name_and_never_merges(tmp_path: Path) -> None:
    require_lab()
    db = f"sqlite:///{tmp_path}/history.sqlite"
    with Lab(hosts=()) as lab:
        lab.start_server("srva", {"server signing": "auto"})
        lab.start_server("srvb", {"server signing": "auto", "netbios name": "LAB-SRVA"})
        targets = [a for n in ("srva", "srvb") for a in (lab.address(n), lab.addresses(n).ipv6)]
        proc = lab.run_in_client(
            [*smbsign_argv(), "scan", *targets, "--db", db, "--no-progress", "-o", os.devnull]
        )
        assert proc.returncode == 1, proc.stderr
    run = load_run(db, "latest")
    guids = {r.target: r.smb2.server_guid for r in run.records if r.smb2}
    assert set(guids) == set(targets)
    want = str(uuid.UUID(bytes_le=b"lab-srva".ljust(16, b"\0")))
    assert set(guids.values()) == {want}  # both servers, both families: one GUID
    assert all(server_key(r) is None for r in run.records)
    assert (run.summary.hosts, run.summary.relayable) == (4, 4)  # two servers never merged

"""The Ansible collection built from findings carries an inventory of the failed hosts, and each
role of the playbook runs only on the hosts where its control failed (docs/fix.md).

``ansible-inventory`` (ansible-core, test extra) reads the generated inventory back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smbsign.catalog import load_catalog
from smbsign.cli.fix_cmd import _context
from smbsign.remediate.plan import TargetKind, build_plan
from smbsign.remediate.render import FORMATS

INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def _finding(host: str, control: str, status: str = "fail") -> dict[str, str]:
    return {"host": host, "control": control, "status": status, "reason": "r"}


def _render(findings: list[dict[str, str]]) -> dict[str, bytes]:
    catalog = load_catalog()
    plan = build_plan(list(catalog.controls.values()), TargetKind.WINDOWS_CLIENT, findings=findings)
    return FORMATS["ansible"].render(plan, _context(catalog, ""))


FINDINGS = [
    _finding("WIN11-ENT-01", "smb-client-signing-required"),
    _finding("WIN11-ENT-01", "smb-server-signing-required"),
    _finding("WIN11-ENT-02", "smb-server-signing-required"),
    _finding("WIN11-ENT-03", "smb-server-signing-required", "pass"),
    _finding("evil ansible_host=203.0.113.9\n[windows]", "smb-server-signing-required"),
]


def test_the_inventory_lists_only_the_failed_hosts_per_control() -> None:
    files = _render(FINDINGS)
    text = files["inventory.ini"].decode()
    assert "WIN11-ENT-03" not in text and "203.0.113.9" not in text and "evil" not in text
    assert "1 host name(s) left out" in text
    groups: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            groups[current] = []
        elif line and not line.startswith("#"):
            groups[current].append(line)
    assert groups == {
        "windows:children": ["smb_client_signing_required", "smb_server_signing_required"],
        "smb_client_signing_required": ["WIN11-ENT-01"],
        "smb_server_signing_required": ["WIN11-ENT-01", "WIN11-ENT-02"],
    }
    play = yaml.safe_load(files["playbooks/smbsign_fix.yml"])[0]
    assert play["hosts"] == "windows"
    assert [(r["role"].rsplit(".", 1)[1], r["when"]) for r in play["roles"]] == [
        ("smb_client_signing_required", "'smb_client_signing_required' in group_names"),
        ("smb_server_signing_required", "'smb_server_signing_required' in group_names"),
    ]
    assert "inventory.ini" in yaml.safe_load(files["galaxy.yml"])["build_ignore"]


def test_a_plan_without_hosts_has_no_inventory_and_unconditioned_roles() -> None:
    catalog = load_catalog()
    plan = build_plan(
        list(catalog.controls.values()),
        TargetKind.WINDOWS_SERVER,
        control_ids=["smb-server-signing-required"],
    )
    files = FORMATS["ansible"].render(plan, _context(catalog, ""))
    assert "inventory.ini" not in files
    play = yaml.safe_load(files["playbooks/smbsign_fix.yml"])[0]
    assert all("when" not in r for r in play["roles"])


@pytest.mark.skipif(not INVENTORY.exists(), reason="ansible-core not installed")
def test_ansible_reads_the_inventory_back(tmp_path: Path) -> None:
    path = tmp_path / "inventory.ini"
    path.write_bytes(_render(FINDINGS)["inventory.ini"])
    proc = subprocess.run(
        [str(INVENTORY), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(proc.stdout)
    assert sorted(doc["windows"]["children"]) == [
        "smb_client_signing_required",
        "smb_server_signing_required",
    ]
    assert doc["smb_server_signing_required"]["hosts"] == ["WIN11-ENT-01", "WIN11-ENT-02"]
    assert "[WARNING]" not in proc.stderr

"""The collection built from findings changes only the failed hosts, each only for the controls
that failed on it: a real ``ansible-playbook`` run with the generated ``inventory.ini``.

Three hosts run locally (``ansible_connection=local``), each with its own JSON-backed stand-in
registry (tests/fixtures/ansible_fake_windows; the interpreter wrapper of each host points
``SMBSIGN_FAKE_REGISTRY`` at its file). The connection variables come from a second inventory
source, as an administrator adds them; the generated one holds only names and groups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smbsign.catalog import load_catalog
from smbsign.cli.fix_cmd import _context
from smbsign.remediate.plan import TargetKind, build_plan
from smbsign.remediate.render import FORMATS

BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"
FAKE_WINDOWS = Path(__file__).parents[1] / "fixtures" / "ansible_fake_windows"
SERVER = "hklm:\\system\\currentcontrolset\\services\\lanmanserver\\parameters"
CLIENT = "hklm:\\system\\currentcontrolset\\services\\lanmanworkstation\\parameters"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PLAYBOOK.exists(), reason="ansible-core not installed"),
]


def _value(registry: Path, key: str) -> object:
    doc = json.loads(registry.read_text())
    return doc.get(key, {}).get("requiresecuritysignature", {}).get("value")


@pytest.mark.timeout(600)
def test_each_role_runs_only_on_the_hosts_where_its_control_failed(tmp_path: Path) -> None:
    findings = [
        {"host": "WIN11-ENT-01", "control": "smb-client-signing-required", "status": "fail"},
        {"host": "WIN11-ENT-01", "control": "smb-server-signing-required", "status": "fail"},
        {"host": "WIN11-ENT-02", "control": "smb-server-signing-required", "status": "fail"},
        {"host": "WIN11-ENT-03", "control": "smb-server-signing-required", "status": "pass"},
    ]
    catalog = load_catalog()
    plan = build_plan(list(catalog.controls.values()), TargetKind.WINDOWS_CLIENT, findings=findings)
    coll = tmp_path / "collections" / "ansible_collections" / "smbsign" / "remediation"
    for rel, data in FORMATS["ansible"].render(plan, _context(catalog, "")).items():
        (coll / rel).parent.mkdir(parents=True, exist_ok=True)
        (coll / rel).write_bytes(data)

    registries: dict[str, Path] = {}
    lines = []
    for n in ("01", "02", "03"):
        host = f"WIN11-ENT-{n}"
        registries[host] = tmp_path / f"registry-{n}.json"
        registries[host].write_text("{}")
        wrapper = tmp_path / f"python-{n}"
        wrapper.write_text(
            f'#!/bin/sh\nSMBSIGN_FAKE_REGISTRY="{registries[host]}" exec "{sys.executable}" "$@"\n'
        )
        wrapper.chmod(0o755)
        lines.append(f"{host} ansible_connection=local ansible_python_interpreter={wrapper}")
    connections = tmp_path / "connections.ini"
    connections.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": f"{FAKE_WINDOWS}{os.pathsep}{coll.parents[2]}",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "HOME": str(home),
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [
            str(PLAYBOOK),
            "-i",
            str(coll / "inventory.ini"),
            "-i",
            str(connections),
            "playbooks/smbsign_fix.yml",
        ],
        cwd=coll,
        env=env,
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    one, two, three = (registries[f"WIN11-ENT-{n}"] for n in ("01", "02", "03"))
    assert (_value(one, CLIENT), _value(one, SERVER)) == (1, 1)
    assert (_value(two, CLIENT), _value(two, SERVER)) == (None, 1)  # client role skipped
    assert json.loads(three.read_text()) == {}  # passed: not in the inventory at all
    assert "WIN11-ENT-03" not in proc.stdout

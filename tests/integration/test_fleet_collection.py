"""The shipped smbsign.fleet collection parses and passes ansible-lint with its own config
(the real run against sshd namespaces is tests/lab/test_fleet_ansible.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
COLLECTIONS = ROOT / "ansible"
FLEET = COLLECTIONS / "ansible_collections" / "smbsign" / "fleet"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not (BIN / "ansible-playbook").exists(), reason="ansible-core not installed"
)


def _env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1"}


def test_playbook_syntax() -> None:
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,",
         "smbsign.fleet.fleet_scan"],
        capture_output=True, text=True, env=_env(), timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(not (BIN / "ansible-lint").exists(), reason="ansible-lint not installed")
@pytest.mark.timeout(600)
def test_ansible_lint_is_clean() -> None:
    proc = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "-q", "--nocolor", "-c", ".ansible-lint", "."],
        capture_output=True, text=True, env=_env(), cwd=FLEET, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_role_has_defaults_and_tasks() -> None:
    roles = sorted(p.name for p in (FLEET / "roles").iterdir())
    assert roles == ["audit_local", "import", "install", "scan"]
    for role in roles:
        assert (FLEET / "roles" / role / "tasks" / "main.yml").is_file()
        assert (FLEET / "roles" / role / "defaults" / "main.yml").is_file()
    imp = (FLEET / "roles" / "import" / "tasks" / "main.yml").read_text()
    assert "no_log: true" in imp and "SMBSIGN_DB" in imp  # the URL never on a command line

"""The generated Ansible collection passes the real tools.

``ansible-playbook --syntax-check`` resolves every module and role (``ansible.windows``
comes from the PyPI ``ansible`` package in the test extra, since Galaxy is not reachable
here) and ``ansible-lint`` runs with the production profile, offline. Mutated copies (a
misspelled module, a task without a name) must fail, so these checks can fail. ansible-lint
does not check the arguments of PowerShell modules, so every module argument is also
checked against ``ansible-doc`` of the installed modules.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smbsign.catalog import load_catalog

BIN = Path(sys.executable).parent
# Every Windows control of the catalog: a role per control must pass the real tools.
WINDOWS_IDS = [
    c.id for c in load_catalog().controls.values() if "windows" in c.applies_to.os_families
]
PLAYBOOK = BIN / "ansible-playbook"
LINT = BIN / "ansible-lint"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PLAYBOOK.exists() or not LINT.exists(),
        reason="ansible-core / ansible-lint not installed (pip install -e '.[test]')",
    ),
]


def _has_ansible_windows() -> bool:
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", "-l", "ansible.windows"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return "win_regedit" in proc.stdout


# Catalog roles each Windows fix target covers (remediate/plan.py): a role is generated for a
# control only when the control applies to one of them.
TARGET_ROLES = {
    "windows-server": {"member_server", "standalone"},
    "domain-controller": {"domain_controller"},
}


def generate(tmp: Path, *extra: str, target: str = "windows-server") -> Path:
    """`smbsign fix --format ansible`, installed as collection smbsign.remediation."""
    out = tmp / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from smbsign.cli import main; main()",
            "fix",
            "--target",
            target,
            "--controls",
            ",".join(WINDOWS_IDS),
            "--format",
            "ansible",
            "-o",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    coll = tmp / "collections" / "ansible_collections" / "smbsign" / "remediation"
    shutil.copytree(out, coll)  # one format: written into -o DIR itself (#11 item 21)
    return coll


def env_for(coll: Path) -> dict[str, str]:
    home = coll.parents[3] / "home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(coll.parents[2]),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_COLOR": "1",
    }


def lint(coll: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--offline", "--profile", "production", "--nocolor"],
        cwd=coll,
        env=env_for(coll),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def windows_collection() -> None:
    if not _has_ansible_windows():
        pytest.skip("ansible.windows not installed (the 'ansible' package in the test extra)")


@pytest.mark.parametrize("playbook", ["smbsign_fix.yml", "smbsign_rollback.yml"])
def test_syntax_check_resolves_every_module_and_role(
    tmp_path: Path, windows_collection, playbook: str
) -> None:
    coll = generate(tmp_path)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[windows]\nwin1 ansible_connection=winrm\n")
    proc = subprocess.run(
        [str(PLAYBOOK), "-i", str(inventory), "--syntax-check", f"playbooks/{playbook}"],
        cwd=coll,
        env=env_for(coll),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"playbook: playbooks/{playbook}" in proc.stdout


def test_ansible_lint_production_profile_passes(tmp_path: Path, windows_collection) -> None:
    coll = generate(tmp_path)
    proc = lint(coll)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


def test_with_a_repository_no_lint_rule_is_skipped(tmp_path: Path, windows_collection) -> None:
    coll = generate(tmp_path, "--collection-repository", "https://git.example.org/infra/smb")
    assert not (coll / ".ansible-lint").exists()
    proc = lint(coll)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("target", sorted(TARGET_ROLES))
def test_every_module_argument_matches_the_installed_module_spec(
    tmp_path: Path, windows_collection, target: str
) -> None:
    """ansible-lint does not validate PowerShell modules' arguments; check them against
    ``ansible-doc`` of the installed ansible.windows instead (type choices, known options).
    Both targets, so that the domain-controller-only (LDAP) roles are checked too."""
    coll = generate(tmp_path, target=target)
    specs = {}
    for module in (
        "ansible.windows.win_regedit",
        "ansible.windows.win_reg_stat",
        "ansible.windows.win_reboot",
    ):
        doc = subprocess.run(
            [str(BIN / "ansible-doc"), "-j", module],
            env=env_for(coll),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        specs[module] = json.loads(doc.stdout)[module]["doc"]["options"]
    seen = 0
    for path in [*coll.glob("roles/*/*/main.yml"), *coll.glob("roles/*/tasks/rollback.yml")]:
        for task in yaml.safe_load(path.read_text()) or []:
            if not isinstance(task, dict):
                continue
            for module, spec in specs.items():
                args = task.get(module)
                if args is None:
                    continue
                seen += 1
                assert set(args or {}) <= set(spec), (path, args)
                for key, value in (args or {}).items():
                    choices = spec[key].get("choices")
                    templated = isinstance(value, str) and value.startswith("{{")
                    assert not choices or templated or value in choices, (path, key, value)
                if module.endswith("win_regedit") and args.get("state") != "absent":
                    assert args["type"] != spec["type"]["default"]  # never the REG_SZ default
    roles = {p.name for p in (coll / "roles").iterdir()}
    applicable = [
        c.id
        for c in load_catalog().controls.values()
        if "windows" in c.applies_to.os_families and TARGET_ROLES[target] & set(c.applies_to.roles)
    ]
    assert roles == {cid.replace("-", "_") for cid in applicable}
    assert seen >= 3 * len(roles)  # before, write and read-back per value


def test_syntax_check_fails_on_an_unknown_module(tmp_path: Path, windows_collection) -> None:
    """Negative control: a misspelled module is caught, so resolution really happens."""
    coll = generate(tmp_path)
    tasks = coll / "roles" / "smb_server_signing_required" / "tasks" / "main.yml"
    tasks.write_text(
        tasks.read_text().replace("ansible.windows.win_regedit:", "ansible.windows.win_regeditx:")
    )
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[windows]\nwin1\n")
    proc = subprocess.run(
        [str(PLAYBOOK), "-i", str(inventory), "--syntax-check", "playbooks/smbsign_fix.yml"],
        cwd=coll,
        env=env_for(coll),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0
    assert "win_regeditx" in proc.stdout + proc.stderr


def test_lint_fails_a_task_without_a_name(tmp_path: Path, windows_collection) -> None:
    """Negative control for the production profile."""
    coll = generate(tmp_path)
    tasks = coll / "roles" / "smb_server_signing_required" / "tasks" / "main.yml"
    tasks.write_text(
        tasks.read_text().replace("- name: Read RequireSecuritySignature back\n  ", "- ")
    )
    proc = lint(coll)
    assert proc.returncode != 0
    assert "name[missing]" in proc.stdout + proc.stderr


FAKE_WINDOWS = Path(__file__).parents[1] / "fixtures" / "ansible_fake_windows"
SERVER = "hklm:\\system\\currentcontrolset\\services\\lanmanserver\\parameters"
WORKSTATION = "hklm:\\system\\currentcontrolset\\services\\lanmanworkstation"
MRXSMB10 = "hklm:\\system\\currentcontrolset\\services\\mrxsmb10"
RECORDS = "hklm:\\software\\smbsign\\ansiblerollback"
BEFORE = {
    # the module's default type, the mistake a role must undo: REG_SZ "0"
    SERVER: {"requiresecuritysignature": {"name": "RequireSecuritySignature",
                                          "type": "REG_SZ", "value": "0"}},
    WORKSTATION: {"dependonservice": {"name": "DependOnService", "type": "REG_MULTI_SZ",
                                      "value": ["Bowser", "MRxSmb10", "MRxSmb20", "NSI"]}},
    MRXSMB10: {"start": {"name": "Start", "type": "REG_DWORD", "value": 2}},
}  # fmt: skip
# SmbServerNameHardeningLevel is absent before: the rollback must delete it again.


def _play(coll: Path, tmp: Path, playbook: str, registry: Path, *extra: str) -> str:
    inventory = tmp / "local.ini"
    local = f"ansible_connection=local ansible_python_interpreter={sys.executable}"
    inventory.write_text(f"[windows]\nlocalhost {local}\n")
    env = env_for(coll)
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{FAKE_WINDOWS}{os.pathsep}{coll.parents[2]}"
    env["SMBSIGN_FAKE_REGISTRY"] = str(registry)
    proc = subprocess.run(
        [str(PLAYBOOK), "-i", str(inventory), f"playbooks/{playbook}", *extra],
        cwd=coll,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.timeout(900)  # six real ansible-playbook runs
def test_rollback_playbook_restores_the_recorded_values_on_localhost(tmp_path: Path) -> None:
    """#11 item 25: the roles record each previous value once; smbsign_rollback.yml restores
    type and data, deletes what was absent, then removes the record. Runs the generated
    playbooks for real against localhost, with a JSON-backed stand-in for the registry
    modules (tests/fixtures/ansible_fake_windows)."""
    from smbsign.cli.fix_cmd import _context
    from smbsign.remediate.plan import TargetKind, build_plan
    from smbsign.remediate.render import FORMATS

    ids = ["smb-server-signing-required", "smb1-client-disabled", "smb-server-spn-hardening"]
    catalog = load_catalog()
    plan = build_plan(list(catalog.controls.values()), TargetKind.WINDOWS_SERVER, control_ids=ids)
    coll = tmp_path / "collections" / "ansible_collections" / "smbsign" / "remediation"
    for rel, data in FORMATS["ansible"].render(plan, _context(catalog, "")).items():
        (coll / rel).parent.mkdir(parents=True, exist_ok=True)
        (coll / rel).write_bytes(data)
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(BEFORE))

    _play(coll, tmp_path, "smbsign_fix.yml", registry)
    fixed = json.loads(registry.read_text())
    assert fixed[SERVER]["requiresecuritysignature"]["type"] == "REG_DWORD"
    assert fixed[SERVER]["requiresecuritysignature"]["value"] == 1
    assert fixed[SERVER]["smbservernamehardeninglevel"]["value"] == 1
    assert fixed[MRXSMB10]["start"]["value"] == 4
    assert fixed[WORKSTATION]["dependonservice"]["value"] == ["Bowser", "MRxSmb20", "NSI"]
    assert any(k.startswith(RECORDS) for k in fixed)

    _play(coll, tmp_path, "smbsign_fix.yml", registry)  # a second run keeps the first record
    assert json.loads(registry.read_text()) == fixed

    _play(coll, tmp_path, "smbsign_rollback.yml", registry, "--check")
    assert json.loads(registry.read_text()) == fixed  # a dry run changes nothing

    _play(coll, tmp_path, "smbsign_rollback.yml", registry)
    assert json.loads(registry.read_text()) == BEFORE  # exact, record removed

    again = _play(coll, tmp_path, "smbsign_rollback.yml", registry)  # nothing recorded
    assert json.loads(registry.read_text()) == BEFORE
    assert "nothing to roll back" in again

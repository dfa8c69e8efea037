"""The smbsign.fleet collection for real (#10 item 5): ``ansible-playbook`` from the lab's client
namespace against three managed hosts, each a lab network namespace running its own sshd
(own host key and config, key authentication only, created and removed here). The install
role builds a virtualenv on each from a wheel of this checkout (``pip wheel --no-deps``;
the dependencies come from this venv's site-packages through ``smbsign_deps_site``, the
air-gapped option the role documents). Each host scans its own zone of the lab as one part
of a fleet run; the controller imports the parts into a real PostgreSQL (tests/pgcluster.py)
whose URL, with its password, is in a vars file, never in argv. One host dies midway (its
namespace's processes are killed while its scan runs): the other two parts are stored and
the run stays incomplete.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_helpers import require_lab

import pgcluster
from smbsign.lab import netns
from smbsign.lab.lab import Lab, ipv4
from smbsign.model import ScanStatus
from smbsign.store import list_runs, load_run

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"
SSHD = Path("/usr/sbin/sshd")
RUN_ID = "fleetlab1"
pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(not PLAYBOOK.exists(), reason="ansible-core not installed"),
    pytest.mark.skipif(not SSHD.exists(), reason="openssh-server not installed (bootstrap)"),
]


@pytest.fixture(scope="module")
def pg() -> Iterator[pgcluster.Cluster]:
    reason = pgcluster.skip_reason()
    if reason:
        pytest.skip(reason)
    cluster = pgcluster.start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def _sshd(ns: str, address: str, home: Path, pubkey: str) -> subprocess.Popen[bytes]:
    """sshd in ``ns`` on ``address``:22, with its own host key and config, keys only."""
    home.mkdir(parents=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "host_key")],
        check=True,
        timeout=30,
    )
    (home / "authorized_keys").write_text(pubkey)
    conf = home / "sshd_config"
    conf.write_text(
        f"Port 22\nListenAddress {address}\nHostKey {home / 'host_key'}\n"
        f"PidFile {home / 'sshd.pid'}\nAuthorizedKeysFile {home / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nMaxStartups 50\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    with (home / "sshd.log").open("wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            netns.exec_argv(ns, [str(SSHD), "-D", "-e", "-f", str(conf)]),
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + 20
    while 22 not in netns.listening_ports(proc.pid):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"sshd in {ns} did not start: {(home / 'sshd.log').read_text()}")
        time.sleep(0.05)
    return proc


def _wheelhouse(tmp: Path) -> Path:
    house = tmp / "wheelhouse"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "-w", str(house), str(ROOT)],
        check=True, timeout=300,
    )  # fmt: skip
    return house


@pytest.mark.timeout(900)
def test_three_zones_merge_into_one_postgresql_run(tmp_path: Path, pg: pgcluster.Cluster) -> None:
    require_lab()
    db_url = pg.createdb("fleet")
    key = tmp_path / "controller_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    house = _wheelhouse(tmp_path)
    deps = sysconfig.get_paths()["purelib"]
    sshds: list[subprocess.Popen[bytes]] = []
    with Lab() as lab:
        names = [h.name for h in lab.hosts]
        zones = {k: [n for i, n in enumerate(names) if i % 3 == k] for k in range(3)}
        jumps: dict[str, dict[str, object]] = {}
        spaces: dict[str, str] = {}
        stack = contextlib.ExitStack()
        try:
            for k in range(3):
                name = f"jump{k + 1}"
                ns = spaces[name] = lab.attach_namespace(name, 201 + k)
                sshds.append(_sshd(ns, ipv4(201 + k), tmp_path / name / "ssh",
                                   (tmp_path / "controller_key.pub").read_text()))  # fmt: skip
                targets = [lab.address(n) for n in zones[k]]
                scan_args = ["--read-timeout", "5"]
                if k == 2:  # the host that dies: a slow silent range keeps its scan busy
                    targets.append("10.224.0.0/22")
                    scan_args += ["--sweep", "connect", "--connect-timeout", "20",
                                  "--concurrency", "4"]  # fmt: skip
                jumps[name] = {
                    "ansible_host": ipv4(201 + k),
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(key),
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "smbsign_python": sys._base_executable,
                    "smbsign_venv": str(tmp_path / name / "venv"),
                    "smbsign_wheel_dir": str(tmp_path / name / "wheels"),
                    "smbsign_remote_dir": str(tmp_path / name / "out"),
                    "smbsign_targets": targets,
                    "smbsign_scan_args": scan_args,
                }
            inventory = {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                            "smbsign_controller_bin": str(BIN / "smbsign"),
                        }
                    },
                    "children": {
                        "smbsign_jump": {
                            "children": {
                                f"zone_{k + 1}": {"hosts": {f"jump{k + 1}": jumps[f"jump{k + 1}"]}}
                                for k in range(3)
                            },
                            "vars": {"smbsign_wheelhouse": str(house), "smbsign_deps_site": deps},
                        }
                    },
                    "vars": {
                        "smbsign_run_id": RUN_ID,
                        "smbsign_fetch_dir": str(tmp_path / "results"),
                    },
                }
            }
            (tmp_path / "inventory.yml").write_text(json.dumps(inventory))
            secret = tmp_path / "store.yml"
            secret.write_text(json.dumps({"smbsign_db_url": db_url}))
            secret.chmod(0o600)
            env = {
                **os.environ,
                "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "ansible"),
                "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp"),
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
                "ANSIBLE_FORKS": "5",
                "ANSIBLE_NOCOLOR": "1",
            }
            argv = [str(PLAYBOOK), "-i", str(tmp_path / "inventory.yml"), "-e",
                    f"@{secret}", "smbsign.fleet.fleet_scan"]  # fmt: skip
            log = stack.enter_context((tmp_path / "ansible.log").open("w"))
            play = subprocess.Popen(
                netns.exec_argv(lab.client_ns, argv), stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,
            )  # fmt: skip
            out3 = tmp_path / "jump3" / "out" / f"{RUN_ID}-jump3.jsonl"
            deadline = time.monotonic() + 600
            while not (out3.exists() and out3.read_text().count("\n") >= 1):
                assert play.poll() is None, (tmp_path / "ansible.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "jump3 never started its scan"
                time.sleep(0.2)
            time.sleep(1.0)
            netns.kill_namespace_pids(spaces["jump3"])  # the host dies midway
            rc = play.wait(600)
            log.flush()
            text = (tmp_path / "ansible.log").read_text()
        finally:
            stack.close()
            for proc in sshds:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(30)
        assert rc != 0, text[-3000:]  # jump3 is unreachable/failed
        assert "jump3" in text and pgcluster.PASSWORD not in text
        for k in (1, 2):
            assert (tmp_path / "results" / f"jump{k}.jsonl").is_file(), text[-3000:]
        assert not (tmp_path / "results" / "jump3.jsonl").exists()
        runs = list_runs(db_url)
        assert [(r.id, r.complete) for r in runs] == [(RUN_ID, False)], text[-3000:]
        stored = load_run(db_url, RUN_ID)
        by_target = {r.target: r for r in stored.records}
        for k in (0, 1):
            for name in zones[k]:
                truth = lab.truth(name)
                addr = lab.address(name)
                if truth.status is ScanStatus.OK:
                    assert by_target[addr].signing_required == truth.signing_required, name
                else:
                    assert addr not in by_target  # dead hosts are not stored
        assert not {lab.address(n) for n in zones[2]} & set(by_target)
        assert "2/3 shards arrived, run incomplete" in text, text[-3000:]

"""Fault injection for `smbsign fix --samba CONF --apply --yes` and `smbsign rollback`.

Every case runs the real CLI in a subprocess with the real testparm and smbcontrol (no smbd
runs here, so a reload genuinely fails unless ``--reload-cmd`` says otherwise). ``fix``
checks before any change that its ``--verify`` address answers SMB (issue #11 item 3), so
the cases verify against a small loopback SMB2 responder (signing not required) that this
module runs in a thread. Full disks
and read-only file systems are real: a private mount namespace (``unshare -m``) with a tiny
tmpfs, so nothing leaks to the machine. In every case the original smb.conf must be intact
byte for byte and the error must be one line without a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from smbwire_builders import framed, smb2_negotiate_response

from smbsign.catalog import load_catalog
from smbsign.errors import RemediationError
from smbsign.remediate.apply.base import apply_safely
from smbsign.remediate.apply.samba import SambaApplier, SambaOptions
from smbsign.remediate.plan import TargetKind, build_plan
from smbsign.remediate.snapshot import SnapshotStore

CLI = [sys.executable, "-c", "import sys; from smbsign.cli import main; main()"]
needs_samba = pytest.mark.skipif(
    shutil.which("testparm") is None or shutil.which("smbcontrol") is None,
    reason="Samba tools not installed (scripts/bootstrap installs them)",
)
needs_mounts = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare for a private mount namespace",
)
pytestmark = needs_samba


_VERIFY: list[str] = []  # --verify of the loopback responder, set by the fixture below


def _answer_smb2(listener: socket.socket) -> None:
    """Answer each SMB2 (or multi-protocol) NEGOTIATE with SMB 3.1.1, signing enabled but
    not required [MS-SMB2 2.2.4]; close on an SMB1-only one (SMB1 not offered)."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return  # closed by the fixture
        with conn:
            try:
                conn.settimeout(5)
                size = struct.unpack(">I", conn.recv(4).rjust(4, b"\0"))[0] & 0xFFFFFF
                body = b""
                while len(body) < size:
                    chunk = conn.recv(size - len(body))
                    if not chunk:
                        break
                    body += chunk
                if body[:4] == b"\xfeSMB" or b"SMB 2.???" in body:
                    conn.sendall(framed(smb2_negotiate_response(security_mode=0x01)))
            except OSError:
                continue


@pytest.fixture(scope="module", autouse=True)
def smb_responder() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    thread = threading.Thread(target=_answer_smb2, args=(listener,), daemon=True)
    thread.start()
    _VERIFY[:] = ["--verify", f"127.0.0.1:{port}"]
    try:
        yield port
    finally:
        _VERIFY.clear()
        listener.close()
        thread.join(timeout=10)


def closed_port() -> int:
    """A loopback port with nothing behind it (bound, never listening, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def conf_text(root: Path, extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        # Site smb.conf - managed by hand; keep this comment
        [global]
        \tworkgroup = EXAMPLE
        \tserver role = standalone server
        \tserver signing = auto
        \tlock directory = {root}/lock
        \tpid directory = {root}/pid
        \tstate directory = {root}/state
        \tcache directory = {root}/cache
        \tprivate dir = {root}/private
        {extra}
        ; shares below
        [data]
        \tpath = {root}/data
        \tread only = yes
        """
    )


def make_dirs(root: Path) -> None:
    for sub in ("lock", "pid", "state", "cache", "private", "data"):
        (root / sub).mkdir(exist_ok=True)


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path, bytes]:
    etc = tmp_path / "etc"
    etc.mkdir()
    make_dirs(tmp_path)
    conf = etc / "smb.conf"
    data = conf_text(tmp_path).encode()
    conf.write_bytes(data)
    conf.chmod(0o640)
    return conf, tmp_path / "snapshots", data


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def temps(conf: Path) -> list[Path]:
    return sorted(conf.parent.glob(f".{conf.name}.smbsign-*.tmp"))


def snapshots(root: Path) -> list[Path]:
    return (
        sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())
        if root.exists()
        else []
    )


def apply_args(conf: Path, snaps: Path, *extra: str) -> list[str]:
    return [
        "fix",
        "--samba",
        str(conf),
        "--controls",
        "smb-server-signing-required",
        "--apply",
        "--yes",
        "--snapshot-dir",
        str(snaps),
        *_VERIFY,
        *extra,
    ]


# ----------------------------------------------------------------------------- dry run


def test_apply_without_yes_shows_the_diff_and_changes_nothing(site) -> None:
    conf, snaps, original = site
    proc = run_cli("fix", "--samba", str(conf), "--apply", "--snapshot-dir", str(snaps))
    assert proc.returncode == 0, proc.stderr
    assert "-\tserver signing = auto" in proc.stdout
    assert "+\tserver signing = mandatory" in proc.stdout
    assert "+\tclient ipc signing = required" in proc.stdout
    assert "Dry run: nothing changed" in proc.stdout
    assert conf.read_bytes() == original
    assert not snapshots(snaps)


def test_apply_succeeds_through_a_symlink_and_keeps_mode_and_link(site) -> None:
    """A control without a wire check: testparm verification only, reload by --reload-cmd."""
    conf, snaps, original = site
    real = conf.with_name("smb.conf.real")
    conf.rename(real)
    conf.symlink_to(real.name)
    proc = run_cli(
        "fix",
        "--samba",
        str(conf),
        "--controls",
        "samba-client-ipc-signing-required",
        "--apply",
        "--yes",
        "--snapshot-dir",
        str(snaps),
        "--reload-cmd",
        "true",
    )
    assert proc.returncode == 0, proc.stderr
    assert "verified testparm: client ipc signing as wanted" in proc.stdout
    assert conf.is_symlink() and conf.resolve() == real
    assert real.read_bytes() == original.replace(
        b"\n\n; shares below", b"\n\tclient ipc signing = required\n\n; shares below"
    )
    assert (real.stat().st_mode & 0o777) == 0o640
    (snap,) = snapshots(snaps)
    back = run_cli("rollback", str(snap), "--snapshot-dir", str(snaps), "--reload-cmd", "true")
    assert back.returncode == 0, back.stderr
    assert conf.is_symlink() and real.read_bytes() == original


# ----------------------------------------------------------------------------- faults


def test_testparm_rejecting_the_new_file_leaves_the_original(site, tmp_path) -> None:
    """Injected: a testparm wrapper (first on PATH) rejects files that require signing."""
    conf, snaps, original = site
    real = shutil.which("testparm")
    wrapper = tmp_path / "bin" / "testparm"
    wrapper.parent.mkdir()
    wrapper.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        for last; do :; done
        if grep -q 'server signing = mandatory' "$last"; then
            echo "ERROR: injected rejection of $last" >&2
            exit 1
        fi
        exec {real} "$@"
        """)
    )
    wrapper.chmod(0o755)
    path = f"{wrapper.parent}:{os.environ['PATH']}"
    proc = run_cli(*apply_args(conf, snaps), env={"PATH": path})
    assert_one_line_error(
        proc, "testparm rejected the new configuration", "injected rejection", "original restored"
    )
    assert conf.read_bytes() == original
    assert not temps(conf)
    assert len(snapshots(snaps)) == 1  # the snapshot was taken before anything else


def test_a_configuration_testparm_already_rejects_is_not_touched(site) -> None:
    conf, snaps, _ = site
    broken = conf_text(conf.parent.parent, "\tclient signing = bogus").encode()
    conf.write_bytes(broken)
    proc = run_cli(*apply_args(conf, snaps))
    assert_one_line_error(proc, "as it is already", "bogus", "fix that first")
    assert conf.read_bytes() == broken
    assert not temps(conf)


def test_an_include_that_overrides_the_edit_is_caught_before_the_rename(site) -> None:
    conf, snaps, _ = site
    other = conf.parent / "override.conf"
    other.write_text("[global]\n\tserver signing = disabled\n")
    data = conf_text(conf.parent.parent, f"\tinclude = {other}").encode()
    conf.write_bytes(data)
    proc = run_cli(*apply_args(conf, snaps))
    assert_one_line_error(proc, "testparm reads server signing = No", "include")
    assert conf.read_bytes() == data
    assert not temps(conf)


def test_a_failing_reload_rolls_back(site) -> None:
    conf, snaps, original = site
    proc = run_cli(*apply_args(conf, snaps))  # no smbd runs: smbcontrol cannot reach it
    line = assert_one_line_error(proc, "reload failed", "smbcontrol", "original restored")
    assert "Can't find pid" in line
    assert conf.read_bytes() == original
    assert (conf.stat().st_mode & 0o777) == 0o640
    assert not temps(conf)


def test_a_failing_wire_verification_rolls_back(site, smb_responder) -> None:
    """Reload 'succeeds' (true), but the probed server still does not require signing."""
    conf, snaps, original = site
    proc = run_cli(*apply_args(conf, snaps, "--reload-cmd", "true"))
    assert_one_line_error(
        proc,
        "verification failed",
        f"127.0.0.1:{smb_responder}",
        "signing not required",
        "original restored",
    )
    assert conf.read_bytes() == original


@pytest.mark.parametrize(
    "verify", ["garbage:::", "no such host!", "10.0.0.0/8", "127.0.0.1:0", "[::1]x"]
)
def test_a_malformed_verify_address_is_refused_before_anything(
    site, tmp_path: Path, verify: str
) -> None:
    """Issue #11 item 3: the address was checked only after the live change."""
    conf, snaps, original = site
    marker = tmp_path / "reloaded"
    proc = run_cli(*apply_args(conf, snaps, "--reload-cmd", f"touch {marker}"), "--verify", verify)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--verify" in lines[0] and "Traceback" not in proc.stderr
    assert conf.read_bytes() == original
    assert not marker.exists() and not snapshots(snaps) and not temps(conf)


def test_a_verify_address_that_does_not_answer_smb_is_refused_before_anything(
    site, tmp_path: Path
) -> None:
    """Issue #11 item 3: a closed loopback port left the new config live until the probes
    gave up; now it is probed first and nothing is touched."""
    conf, snaps, original = site
    marker = tmp_path / "reloaded"
    port = closed_port()
    proc = run_cli(
        *apply_args(conf, snaps, "--reload-cmd", f"touch {marker}", "--verify", f"127.0.0.1:{port}")
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert f"127.0.0.1:{port} does not answer SMB" in lines[0] and "nothing changed" in lines[0]
    assert conf.read_bytes() == original
    assert not marker.exists() and not snapshots(snaps) and not temps(conf)


def test_a_verify_address_that_answers_smb_lets_the_change_go_ahead(site, tmp_path: Path) -> None:
    """The positive case: the responder answers, so the change is made, reloaded (the
    marker), verified on the wire (it fails here: the responder never requires signing)
    and rolled back."""
    conf, snaps, original = site
    marker = tmp_path / "reloaded"
    proc = run_cli(*apply_args(conf, snaps, "--reload-cmd", f"touch {marker}"))
    assert_one_line_error(proc, "verification failed", "original restored")
    assert marker.exists()  # the change went live, so the pre-flight let it through
    assert conf.read_bytes() == original
    assert len(snapshots(snaps)) == 1


def test_snapshot_failure_changes_nothing(site) -> None:
    conf, _, original = site
    blocker = conf.parent / "not-a-dir"
    blocker.write_text("x")
    proc = run_cli(*apply_args(conf, blocker / "snaps"))
    assert_one_line_error(proc, "cannot write snapshot")
    assert conf.read_bytes() == original
    assert not temps(conf)


def test_crash_between_write_and_rename_leaves_the_original(site) -> None:
    """SIGKILL at the rename (the temp file is written and fsynced): nothing else runs."""
    conf, snaps, original = site
    crash = textwrap.dedent(
        f"""
        import os, pathlib, signal, sys
        real = pathlib.Path.replace
        def replace(self, target):
            if str(target) == {str(conf)!r}:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(self, target)
        pathlib.Path.replace = replace
        from smbsign.cli import main
        sys.argv = ["smbsign", *{apply_args(conf, snaps)!r}]
        main()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", crash], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == -9
    assert conf.read_bytes() == original
    leftover = temps(conf)
    assert len(leftover) == 1  # the fsynced temp file of the crashed run
    assert b"server signing = mandatory" in leftover[0].read_bytes()
    assert len(snapshots(snaps)) == 1
    # The next run removes the stale temp file (and, with no smbd, rolls back at reload).
    again = run_cli(*apply_args(conf, snaps))
    assert_one_line_error(again, "reload failed")
    assert conf.read_bytes() == original
    assert not temps(conf)


def _in_private_mounts(script: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a new mount namespace (mounts vanish when it exits)."""
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-ec", script]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False, cwd=tmp)


@needs_mounts
def test_a_full_disk_leaves_the_original(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    snaps = tmp_path / "snapshots"
    original = conf_text(tmp_path).encode()
    cli = " ".join(f"'{a}'" for a in [*CLI, *apply_args(mnt / "smb.conf", snaps)])
    script = textwrap.dedent(
        f"""
        mount -t tmpfs -o size=64k tmpfs {mnt}
        printf '%s' '{original.decode()}' > {mnt}/smb.conf
        dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null || true
        sha256sum {mnt}/smb.conf
        set +e
        {cli}
        echo "rc=$?"
        sha256sum {mnt}/smb.conf
        ls -a {mnt}
        """
    )
    proc = _in_private_mounts(script, tmp_path)
    want = hashlib.sha256(original).hexdigest()
    assert proc.stdout.count(want) == 2, proc.stdout + proc.stderr
    assert "rc=3" in proc.stdout
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("smbsign: error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert ".smbsign-" not in proc.stdout  # no temp file left on the full disk


@needs_mounts
def test_a_read_only_file_system_leaves_the_original(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    conf = etc / "smb.conf"
    original = conf_text(tmp_path).encode()
    conf.write_bytes(original)
    snaps = tmp_path / "snapshots"
    cli = " ".join(f"'{a}'" for a in [*CLI, *apply_args(conf, snaps)])
    script = textwrap.dedent(
        f"""
        mount --bind {etc} {etc}
        mount -o remount,ro,bind {etc}
        set +e
        {cli}
        echo "rc=$?"
        """
    )
    proc = _in_private_mounts(script, tmp_path)
    assert "rc=3" in proc.stdout, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("smbsign: error:")]
    assert len(errors) == 1 and "read-only" in errors[0], proc.stderr
    assert conf.read_bytes() == original
    assert len(snapshots(snaps)) == 1


def test_a_read_only_file_is_left_intact(site) -> None:
    """The file itself is read-only: immutable (``chattr +i``), which stops root too (a 0444
    mode does not stop root, who may edit such a file as any editor would)."""
    conf, snaps, original = site
    if shutil.which("chattr") is None:
        pytest.skip("chattr not installed (e2fsprogs)")
    if subprocess.run(["chattr", "+i", str(conf)], capture_output=True, check=False).returncode:
        pytest.skip("this file system or user cannot set the immutable attribute")
    try:
        proc = run_cli(*apply_args(conf, snaps, "--reload-cmd", "true"))
        assert_one_line_error(proc, "read-only", str(conf))
        assert conf.read_bytes() == original
        assert not temps(conf)
        assert len(snapshots(snaps)) == 1
    finally:
        subprocess.run(["chattr", "-i", str(conf)], check=False)


def test_enospc_while_writing_the_temp_file_in_process(site, monkeypatch) -> None:
    """Same fault without root: os.write fails with ENOSPC on the temp file only."""
    conf, snaps, original = site
    real_write = os.write
    real_open = os.open
    temp_fds: set[int] = set()

    def fake_open(path, flags, mode=0o777, **kw):
        fd = real_open(path, flags, mode, **kw)
        if ".smbsign-" in str(path):
            temp_fds.add(fd)
        return fd

    def fake_write(fd, data):
        if fd in temp_fds:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "write", fake_write)
    catalog = load_catalog()
    plan = build_plan(
        list(catalog.controls.values()),
        TargetKind.SAMBA,
        control_ids=["smb-server-signing-required"],
    )
    applier = SambaApplier(conf, SnapshotStore(snaps), SambaOptions(reload_cmd=("true",)))
    with pytest.raises(RemediationError, match="No space left on device") as err:
        apply_safely(applier, plan)
    assert "\n" not in str(err.value)
    assert conf.read_bytes() == original
    assert not temps(conf)


# ----------------------------------------------------------------------------- rollback


def test_rollback_restores_byte_for_byte_and_keeps_a_safety_snapshot(site) -> None:
    conf, snaps, original = site
    # A snapshot from a dry-run-free path: the failing reload leaves one behind.
    run_cli(*apply_args(conf, snaps))
    (snap,) = snapshots(snaps)
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(original).hexdigest()
    assert manifest["original_path"] == str(conf.resolve())
    assert manifest["mode"] == "0640"
    conf.write_bytes(b"[global]\n\tworkgroup = CHANGED-BY-HAND\n")
    conf.chmod(0o600)
    proc = run_cli("rollback", str(snap), "--snapshot-dir", str(snaps), "--reload-cmd", "true")
    assert proc.returncode == 0, proc.stderr
    assert conf.read_bytes() == original
    assert (conf.stat().st_mode & 0o777) == 0o640
    after = snapshots(snaps)
    assert len(after) == 2  # the hand edit was saved before it was replaced
    safety = next(p for p in after if p != snap)
    assert (safety / "original.conf").read_bytes() == b"[global]\n\tworkgroup = CHANGED-BY-HAND\n"
    listing = run_cli("rollback", "--list", "--snapshot-dir", str(snaps))
    assert str(snap) in listing.stdout and str(safety) in listing.stdout


def test_rollback_refuses_a_corrupt_snapshot(site) -> None:
    """A snapshot that does not verify is refused as a usage error (exit 2, issue #11
    item 1; tests/unit/test_apply_snapshot_trust.py has every tamper)."""
    conf, snaps, _ = site
    run_cli(*apply_args(conf, snaps))
    (snap,) = snapshots(snaps)
    (snap / "original.conf").write_bytes(b"tampered")
    conf.write_bytes(b"current\n")
    proc = run_cli("rollback", str(snap), "--snapshot-dir", str(snaps), "--reload-cmd", "true")
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "corrupt" in lines[0] and "nothing restored" in lines[0]
    assert conf.read_bytes() == b"current\n"


def test_rollback_with_a_failing_reload_says_the_file_is_restored(site) -> None:
    conf, snaps, original = site
    run_cli(*apply_args(conf, snaps))
    (snap,) = snapshots(snaps)
    conf.write_bytes(b"[global]\n")
    proc = run_cli("rollback", str(snap), "--snapshot-dir", str(snaps))
    assert_one_line_error(proc, "restored byte for byte", "reload failed")
    assert conf.read_bytes() == original


def test_rollback_of_a_missing_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("rollback", str(tmp_path / "nope"), "--snapshot-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "no snapshot" in proc.stderr and "Traceback" not in proc.stderr

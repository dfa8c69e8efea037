"""`smbsign rollback` never trusts a snapshot it cannot verify (issue #11 items 1, 22, 25).

A snapshot directory is input an attacker may have written: in every tampered case the
target file keeps its bytes, no command runs (a marker file stays absent), and the CLI
prints one line and exits 2. ``smbsign snapshots list|prune`` report and remove only
verified snapshots. All runs are the real CLI in a subprocess; the reload is ``true`` or a
``touch`` of a marker under tmp_path, so nothing outside the test directory is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from smbsign.remediate.apply.samba import SambaApplier, SambaOptions
from smbsign.remediate.snapshot import KEY_FILE, MAC_FILE, SnapshotStore

CLI = [sys.executable, "-c", "from smbsign.cli import main; main()"]
ORIGINAL = b"[global]\n\tworkgroup = ORIGINAL\n\tserver signing = auto\n"
CURRENT = b"[global]\n\tworkgroup = CURRENT\n"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


def one_line_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Restored" not in proc.stdout
    return lines[0]


class Site:
    def __init__(self, tmp_path: Path) -> None:
        self.conf = tmp_path / "etc" / "smb.conf"
        self.conf.parent.mkdir()
        self.conf.write_bytes(ORIGINAL)
        self.conf.chmod(0o640)
        self.victim = tmp_path / "victim.conf"
        self.victim.write_bytes(b"victim: must keep these bytes\n")
        self.marker = tmp_path / "PWNED"
        self.snaps = tmp_path / "snapshots"
        self.store = SnapshotStore(self.snaps)

    def snapshot(self, reload_cmd: tuple[str, ...] | None = None) -> Path:
        applier = SambaApplier(self.conf, self.store, SambaOptions(reload_cmd=reload_cmd))
        snap = applier.snapshot().path
        self.conf.write_bytes(CURRENT)  # what a later change left there
        return snap

    def rollback(self, snap: Path | str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run_cli(
            "rollback", str(snap), "--snapshot-dir", str(self.snaps), "--reload-cmd", "true", *extra
        )

    def assert_untouched(self) -> None:
        assert self.conf.read_bytes() == CURRENT
        assert self.victim.read_bytes() == b"victim: must keep these bytes\n"
        assert not self.marker.exists()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def edit_manifest(snap: Path, **changes: object) -> None:
    path = snap / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------- item 1


def test_a_verified_snapshot_is_restored_with_the_command_line_reload(site: Site) -> None:
    """The positive case: a genuine snapshot is restored; --reload-cmd is what runs."""
    snap = site.snapshot(reload_cmd=("touch", str(site.marker)))
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["reload"] == ["touch", str(site.marker)]  # recorded, for information
    proc = site.rollback(snap)
    assert proc.returncode == 0, proc.stderr
    assert site.conf.read_bytes() == ORIGINAL
    assert not site.marker.exists()


def test_rollback_without_reload_cmd_uses_smbcontrol_not_the_manifest(site: Site) -> None:
    """Even a genuine (signed) manifest's ``reload`` is never run; before the fix it was."""
    snap = site.snapshot(reload_cmd=("touch", str(site.marker)))
    proc = run_cli("rollback", str(snap), "--snapshot-dir", str(site.snaps))
    # no smbd runs here: smbcontrol fails, and says so; the manifest's command never ran
    assert proc.returncode == 3, proc.stderr
    assert "smbcontrol" in proc.stderr and "restored byte for byte" in proc.stderr
    assert not site.marker.exists()


def _other_path(site: Site, snap: Path) -> None:
    edit_manifest(snap, original_path=str(site.victim))


def _reload_command(site: Site, snap: Path) -> None:
    edit_manifest(snap, reload=["touch", str(site.marker)])


def _both(site: Site, snap: Path) -> None:
    """The reported exploit: another path and a command."""
    edit_manifest(snap, original_path=str(site.victim), reload=["touch", str(site.marker)])


def _edited_sha(site: Site, snap: Path) -> None:
    """New data with a consistent sha256 and size: only the MAC can tell."""
    data = b"[global]\n\tserver signing = disabled\n"
    (snap / "original.conf").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    edit_manifest(
        snap,
        sha256=digest,
        size=len(data),
        files={"original.conf": {"sha256": digest, "size": len(data)}},
    )


def _edited_data(site: Site, snap: Path) -> None:
    (snap / "original.conf").write_bytes(b"[global]\n\tserver signing = disabled\n")


def _group_writable_dir(site: Site, snap: Path) -> None:
    snap.chmod(0o770)


def _group_writable_manifest(site: Site, snap: Path) -> None:
    (snap / "manifest.json").chmod(0o660)


def _other_writable_data(site: Site, snap: Path) -> None:
    (snap / "original.conf").chmod(0o606)


def _symlinked_manifest(site: Site, snap: Path) -> None:
    elsewhere = site.snaps.parent / "manifest-copy.json"
    shutil.copy2(snap / "manifest.json", elsewhere)
    (snap / "manifest.json").unlink()
    (snap / "manifest.json").symlink_to(elsewhere)


def _symlinked_data(site: Site, snap: Path) -> None:
    elsewhere = site.snaps.parent / "data-copy.conf"
    shutil.copy2(snap / "original.conf", elsewhere)
    (snap / "original.conf").unlink()
    (snap / "original.conf").symlink_to(elsewhere)


def _unsigned(site: Site, snap: Path) -> None:
    """A snapshot made before snapshots were signed (or with its MAC removed)."""
    (snap / MAC_FILE).unlink()
    _both(site, snap)


def _forged_mac(site: Site, snap: Path) -> None:
    _both(site, snap)
    (snap / MAC_FILE).write_text("hmac-sha256:" + "0" * 64 + "\n")


def _other_id(site: Site, snap: Path) -> Path:
    """A genuine snapshot under another directory name (the MAC still matches)."""
    moved = snap.with_name("20260101T000000Z-samba-smb.conf-00000000")
    snap.rename(moved)
    return moved


def _replaced_key(site: Site, snap: Path) -> None:
    """An attacker who could replace the key would re-sign; a group-readable key is refused."""
    (site.snaps / KEY_FILE).chmod(0o640)


TAMPERS: dict[str, tuple[Callable[[Site, Path], Path | None], str]] = {
    "other path": (_other_path, "altered"),
    "reload command": (_reload_command, "altered"),
    "other path and reload command": (_both, "altered"),
    "edited sha": (_edited_sha, "altered"),
    "edited data": (_edited_data, "sha256"),
    "group-writable dir": (_group_writable_dir, "writable by group or others"),
    "group-writable manifest": (_group_writable_manifest, "writable by group or others"),
    "other-writable data": (_other_writable_data, "writable by group or others"),
    "symlinked manifest": (_symlinked_manifest, "symlink"),
    "symlinked data": (_symlinked_data, "symlink"),
    "unsigned (old) snapshot": (_unsigned, "not signed"),
    "forged MAC": (_forged_mac, "altered"),
    "id of another snapshot": (_other_id, "id"),
    "key readable by group": (_replaced_key, "readable or writable by group"),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_tampered_snapshot_writes_nothing_runs_nothing_exit_2(site: Site, tamper: str) -> None:
    snap = site.snapshot()
    how, needle = TAMPERS[tamper]
    snap = how(site, snap) or snap
    before = sorted(p.name for p in site.snaps.iterdir())
    proc = run_cli("rollback", str(snap), "--snapshot-dir", str(site.snaps))
    one_line_usage_error(proc, needle, "nothing restored")
    site.assert_untouched()
    assert sorted(p.name for p in site.snaps.iterdir()) == before  # no safety snapshot either


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to nobody needs root")
@pytest.mark.parametrize("what", ["dir", "manifest.json", "original.conf"])
def test_a_snapshot_owned_by_another_user_is_refused(site: Site, what: str) -> None:
    snap = site.snapshot()
    nobody = 65534
    os.chown(snap if what == "dir" else snap / what, nobody, nobody)
    proc = run_cli("rollback", str(snap), "--snapshot-dir", str(site.snaps))
    one_line_usage_error(proc, "owned by uid 65534")
    site.assert_untouched()


def test_a_symlinked_snapshot_directory_is_refused(site: Site) -> None:
    snap = site.snapshot()
    link = site.snaps.parent / "link-to-snapshot"
    link.symlink_to(snap)
    proc = run_cli("rollback", str(link), "--snapshot-dir", str(site.snaps))
    one_line_usage_error(proc, "symlink")
    site.assert_untouched()


def test_an_unsigned_snapshot_says_how_to_restore_by_hand(site: Site) -> None:
    snap = site.snapshot()
    (snap / MAC_FILE).unlink()
    line = one_line_usage_error(
        run_cli("rollback", str(snap), "--snapshot-dir", str(site.snaps)), "not signed"
    )
    assert "by hand" in line and str(snap / "original.conf") in line
    site.assert_untouched()


def test_a_snapshot_moved_into_another_store_is_refused(site: Site, tmp_path: Path) -> None:
    """The MAC is checked with the key of the store a snapshot is in: a genuine snapshot of
    one store copied into another (another key) does not verify there."""
    snap = site.snapshot()
    other = SnapshotStore(tmp_path / "other-store")
    SambaApplier(site.conf, other).snapshot()  # creates that store and its own key
    site.conf.write_bytes(CURRENT)
    moved = other.root / snap.name
    shutil.copytree(snap, moved)
    proc = run_cli("rollback", str(moved), "--snapshot-dir", str(other.root))
    one_line_usage_error(proc, "altered")
    site.assert_untouched()


def test_a_snapshot_given_by_path_verifies_with_its_own_store(site: Site) -> None:
    """Without --snapshot-dir the default store is elsewhere; the snapshot's own directory
    holds the key that signed it, so it is restored."""
    snap = site.snapshot()
    proc = run_cli("rollback", str(snap), "--reload-cmd", "true")
    assert proc.returncode == 0, proc.stderr
    assert site.conf.read_bytes() == ORIGINAL


# ----------------------------------------------------------------------------- item 22


@pytest.mark.parametrize("name", ["file", "missing", "dir without manifest"])
def test_rollback_of_something_that_is_not_a_snapshot_is_a_usage_error(
    tmp_path: Path, name: str
) -> None:
    target = tmp_path / "thing"
    if name == "file":
        target.write_text("root:x:0:0:root:/root:/bin/bash\n")
    elif name == "dir without manifest":
        target.mkdir()
    proc = run_cli("rollback", str(target), "--snapshot-dir", str(tmp_path / "snaps"))
    one_line_usage_error(proc, str(target))
    if name == "file":
        assert target.read_text() == "root:x:0:0:root:/root:/bin/bash\n"


def test_rollback_of_etc_passwd_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("rollback", "/etc/passwd", "--snapshot-dir", str(tmp_path))
    one_line_usage_error(proc, "not a snapshot directory")


# ----------------------------------------------------------------------------- item 25


def _listing(site: Site) -> list[dict[str, object]]:
    proc = run_cli("snapshots", "list", "--format", "json", "--snapshot-dir", str(site.snaps))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert isinstance(rows, list)
    return rows


def test_snapshots_list_shows_state_kind_target_and_size(site: Site) -> None:
    good = site.snapshot()
    bad = site.snapshot()
    _both(site, bad)
    old = site.snapshot()
    (old / MAC_FILE).unlink()
    rows = {row["id"]: row for row in _listing(site)}
    assert set(rows) == {good.name, bad.name, old.name}
    assert rows[good.name]["state"] == "verified"
    assert rows[bad.name]["state"] == "tampered"
    assert rows[old.name]["state"] == "unsigned"
    assert rows[good.name]["kind"] == "samba-smb.conf"
    assert rows[good.name]["target"] == str(site.conf.resolve())
    assert rows[good.name]["size"] == sum(p.stat().st_size for p in good.iterdir())
    assert str(rows[good.name]["created"]).endswith("Z")
    table = run_cli("snapshots", "list", "--snapshot-dir", str(site.snaps))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "CREATED", "KIND"]
    assert any(good.name in ln and "verified" in ln for ln in lines)
    assert any(bad.name in ln and "tampered" in ln for ln in lines)


def test_snapshots_list_of_an_empty_or_missing_store(tmp_path: Path) -> None:
    proc = run_cli(
        "snapshots", "list", "--format", "json", "--snapshot-dir", str(tmp_path / "none")
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    assert not (tmp_path / "none").exists()  # a reader never creates the store


def test_prune_keeps_the_newest_verified_per_target_and_nothing_else(
    site: Site, tmp_path: Path
) -> None:
    first, second, third = (site.snapshot() for _ in range(3))
    # another target: its single snapshot is kept
    other_conf = tmp_path / "other.conf"
    other_conf.write_bytes(ORIGINAL)
    other = SambaApplier(other_conf, site.store).snapshot().path
    # not verified: never deleted, never counted
    tampered = site.snapshot()
    _both(site, tampered)
    # a symlink in the root to a verified snapshot elsewhere: never followed
    outside_store = SnapshotStore(tmp_path / "outside")
    outside = SambaApplier(site.conf, outside_store).snapshot().path
    link = site.snaps / "20990101T000000Z-samba-smb.conf-deadbeef"
    link.symlink_to(outside)
    # make the order explicit: ids carry the second, several were made in the same one
    for i, snap in enumerate((first, second, third)):
        os.utime(snap / "manifest.json", (1000 + i, 1000 + i))

    dry = run_cli(
        "snapshots", "prune", "--keep", "1", "--dry-run", "--snapshot-dir", str(site.snaps)
    )
    assert dry.returncode == 0, dry.stderr
    assert all(p.exists() for p in (first, second, third, other, tampered, link, outside))
    assert "would remove" in dry.stdout

    proc = run_cli("snapshots", "prune", "--keep", "1", "--snapshot-dir", str(site.snaps))
    assert proc.returncode == 0, proc.stderr
    removed = {ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith("removed ")}
    kept = {p for p in (first, second, third) if p.exists()}
    assert len(kept) == 1 and len(removed) == 2
    assert removed == {p.name for p in (first, second, third)} - {k.name for k in kept}
    assert other.exists() and tampered.exists()
    assert link.is_symlink() and outside.is_dir() and (outside / "manifest.json").is_file()
    assert dry.stdout.count("would remove") == 2


@pytest.mark.parametrize("keep", ["0", "-1", "x"])
def test_prune_needs_a_positive_keep(site: Site, keep: str) -> None:
    snap = site.snapshot()
    proc = run_cli("snapshots", "prune", "--keep", keep, "--snapshot-dir", str(site.snaps))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert snap.exists()


def test_prune_leaves_a_snapshot_with_an_unexpected_entry(site: Site) -> None:
    """A verified snapshot that holds something smbsign never writes there (a directory,
    a symlink) is not deleted: prune removes only what it knows."""
    old, new = site.snapshot(), site.snapshot()
    os.utime(old / "manifest.json", (1000, 1000))
    (old / "extra").symlink_to(site.victim)
    proc = run_cli("snapshots", "prune", "--keep", "1", "--snapshot-dir", str(site.snaps))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert old.exists() and new.exists() and site.victim.exists()
    assert "Traceback" not in proc.stderr

"""Snapshot store: one new directory per snapshot, a manifest, never an overwrite (docs/fix.md)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smbsign.errors import RemediationError, UsageError
from smbsign.remediate import snapshot as snapmod
from smbsign.remediate.snapshot import (
    KIND_SAMBA,
    SNAPSHOT_ENV,
    SnapshotStore,
    default_snapshot_dir,
)
from smbsign.remediate.snapshot_files import SnapshotRefused


class FrozenClock:
    """``datetime`` whose ``now`` is always the same second (two snapshots collide)."""

    @staticmethod
    def now(tz: object = None) -> datetime:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_name_collision_never_overwrites_an_existing_snapshot(tmp_path, monkeypatch) -> None:
    names = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(snapmod, "datetime", FrozenClock)
    monkeypatch.setattr(snapmod.secrets, "token_hex", lambda n: next(names))
    store = SnapshotStore(tmp_path)
    first = store.create(KIND_SAMBA, {"file": "original.conf"}, {"original.conf": b"first\n"})
    second = store.create(KIND_SAMBA, {"file": "original.conf"}, {"original.conf": b"second\n"})
    assert first.id == "20260102T030405Z-samba-smb.conf-aaaaaaaa"
    assert second.id == "20260102T030405Z-samba-smb.conf-bbbbbbbb"
    assert store.verified_file(first) == b"first\n"  # untouched by the second snapshot
    assert store.verified_file(second) == b"second\n"


def test_the_manifest_records_what_docs_promise(tmp_path) -> None:
    snap = SnapshotStore(tmp_path).create(
        KIND_SAMBA,
        {"original_path": "/etc/samba/smb.conf", "file": "original.conf"},
        {"original.conf": b"[global]\n"},
    )
    manifest = json.loads((snap.path / "manifest.json").read_text())
    assert manifest["smbsign_snapshot"] == 1
    assert manifest["kind"] == KIND_SAMBA and manifest["id"] == snap.id
    assert manifest["created"].endswith("Z") and manifest["host"]
    assert manifest["files"] == {
        "original.conf": {"sha256": hashlib.sha256(b"[global]\n").hexdigest(), "size": 9}
    }
    assert (snap.path.stat().st_mode & 0o777) == 0o700
    assert ((snap.path / "original.conf").stat().st_mode & 0o777) == 0o600


def test_load_by_directory_manifest_or_id_and_list(tmp_path) -> None:
    store = SnapshotStore(tmp_path)
    snap = store.create(KIND_SAMBA, {"file": "f"}, {"f": b"x"})
    for ref in (snap.path, snap.path / "manifest.json", snap.id):
        assert store.load(ref).id == snap.id
    (tmp_path / "not-a-snapshot").mkdir()
    assert [s.id for s in store.list()] == [snap.id]


def test_bad_snapshots_are_one_line_errors(tmp_path) -> None:
    store = SnapshotStore(tmp_path)
    with pytest.raises(UsageError, match="no snapshot"):
        store.load(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_bytes(b"\xff{not json")
    with pytest.raises(RemediationError) as err:
        store.load(bad)
    assert "\n" not in str(err.value)
    (bad / "manifest.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(RemediationError, match="cannot read"):
        store.load(bad)
    (bad / "manifest.json").write_text('{"smbsign_snapshot": 99}')
    with pytest.raises(RemediationError, match="not an smbsign snapshot"):
        store.load(bad)
    snap = store.create(KIND_SAMBA, {"file": "f"}, {"f": b"x"})
    (snap.path / "f").write_bytes(b"y")
    # a corrupt data file is refused like any tampered snapshot (usage error, exit 2: #11 item 1)
    with pytest.raises(SnapshotRefused, match="corrupt") as refused:
        store.verified_file(snap)
    assert "\n" not in str(refused.value)


def test_snapshot_directory_option_then_environment_then_user_data_dir(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv(SNAPSHOT_ENV, str(tmp_path / "env"))
    assert default_snapshot_dir() == tmp_path / "env"
    assert SnapshotStore().root == tmp_path / "env"
    assert SnapshotStore(tmp_path / "opt").root == tmp_path / "opt"
    monkeypatch.delenv(SNAPSHOT_ENV)
    assert default_snapshot_dir().parts[-2:] == ("smbsign", "snapshots")


def test_an_unwritable_snapshot_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RemediationError, match="cannot write snapshot under") as err:
        SnapshotStore(blocker / "snaps").create(KIND_SAMBA, {}, {"f": b"x"})
    assert "\n" not in str(err.value)

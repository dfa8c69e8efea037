"""Snapshots taken before any change: one directory each, a manifest, never overwritten.

Layout (docs/fix.md)::

    <snapshot dir>/.smbsign-snapshot-key                     32 random bytes, 0600
    <snapshot dir>/<UTC time>-<kind>-<8 hex>/manifest.json   what, where, sha256, mode, owner
    <snapshot dir>/<UTC time>-<kind>-<8 hex>/manifest.mac    HMAC-SHA256 of manifest.json
    <snapshot dir>/<UTC time>-<kind>-<8 hex>/<file>          the original bytes (Samba)

The snapshot directory is ``--snapshot-dir``, else ``$SMBSIGN_SNAPSHOT_DIR``, else
``platformdirs.user_data_dir("smbsign")/snapshots``. Every directory and file is created
exclusively (``mkdir`` / ``O_EXCL``), so an existing snapshot is never replaced; data files are
fsynced before the manifest is written, and the manifest is written last, so a snapshot with a
manifest is complete. Windows snapshots record each value's previous type and data, or that it
was absent (HardeningKitty applies without a backup; we never do).

A snapshot is input an attacker may have edited, so nothing that restores from it trusts it
(:meth:`SnapshotStore.verify`): the directory and its files must be owned by the invoking
user, not writable by group or others, and not symlinks; ``manifest.mac`` must be the
HMAC-SHA256 (RFC 2104) of ``manifest.json`` under the store's key, a file only the store's
owner can read, so the manifest's id, kind, ``original_path`` and data digests are bound
together; and no command is ever taken from a manifest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from smbsign.errors import RemediationError, UsageError
from smbsign.remediate.fileops import fsync_dir, write_new
from smbsign.remediate.priors import PriorValue as PriorValue
from smbsign.remediate.priors import RegData as RegData
from smbsign.remediate.priors import prior_from_dict as prior_from_dict
from smbsign.remediate.priors import prior_to_dict as prior_to_dict
from smbsign.remediate.priors import type_code as type_code
from smbsign.remediate.snapshot_files import KEY_FILE as KEY_FILE
from smbsign.remediate.snapshot_files import SnapshotRefused as SnapshotRefused
from smbsign.remediate.snapshot_files import check_stat as _check_stat
from smbsign.remediate.snapshot_files import dir_size as _size
from smbsign.remediate.snapshot_files import manifest_mac as _mac
from smbsign.remediate.snapshot_files import read_checked as _read_checked
from smbsign.remediate.snapshot_files import remove_files, store_key

SNAPSHOT_ENV = "SMBSIGN_SNAPSHOT_DIR"
MANIFEST = "manifest.json"
MAC_FILE = "manifest.mac"
FORMAT = 1
KIND_SAMBA = "samba-smb.conf"
KIND_WINDOWS = "windows-registry"
KINDS = (KIND_SAMBA, KIND_WINDOWS)
_ATTEMPTS = 5
MAX_MANIFEST_BYTES = 4 * 2**20  # a manifest is a few KiB (bounded memory)
MAX_DATA_BYTES = 16 * 2**20  # the saved smb.conf is at most 8 MiB (apply.samba.MAX_CONF_BYTES)
_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-(?P<kind>[a-z.-]+)-[0-9a-f]{8}$")
_PLAIN_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

STATE_VERIFIED = "verified"
STATE_UNSIGNED = "unsigned"
STATE_TAMPERED = "tampered"


def _by_hand(path: Path, body: bytes) -> str:
    """How to restore an unsigned snapshot without trusting it (its bytes are still there)."""
    try:
        manifest = json.loads(body)
        fname = manifest.get("file") if isinstance(manifest, dict) else None
    except (ValueError, RecursionError):
        fname = None
    if isinstance(fname, str) and _PLAIN_FILE.match(fname):
        return (
            f"; if you trust it, restore by hand: read {path / fname} and copy it over the "
            "file it was taken from, then reload Samba"
        )
    return "; `smbsign rollback DIR --format reg -o OUT` still writes its undo .reg to review"


def default_snapshot_dir() -> Path:
    env = os.environ.get(SNAPSHOT_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("smbsign")) / "snapshots"


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    manifest: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    def data_file(self) -> Path:
        return self.path / str(self.manifest["file"])

    def priors(self) -> tuple[PriorValue, ...]:
        values = self.manifest.get("values", ())
        if not isinstance(values, list | tuple):
            raise RemediationError(f"snapshot {self.id}: 'values' is not a list")
        return tuple(prior_from_dict(v) for v in values)

    @property
    def target(self) -> str:
        """What the snapshot restores: the file's path, or the registry of a host."""
        m = self.manifest
        if self.kind == KIND_SAMBA:
            return str(m.get("original_path", ""))
        values = m.get("values")
        count = len(values) if isinstance(values, list) else 0
        return f"registry of {m.get('host', '?')} ({count} value(s))"


@dataclass(frozen=True, slots=True)
class SnapshotStatus:
    """One snapshot as :meth:`SnapshotStore.status` sees it (``snapshots list``)."""

    path: Path
    state: str  # verified | unsigned | tampered
    reason: str
    snapshot: Snapshot | None  # None when its manifest cannot be read at all
    size: int  # bytes of its regular files

    @property
    def id(self) -> str:
        return self.path.name


class SnapshotStore:
    """Create and find snapshots under one root directory."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_snapshot_dir()

    def create(
        self, kind: str, manifest: Mapping[str, Any], files: Mapping[str, bytes] | None = None
    ) -> Snapshot:
        """Write a new snapshot; raise :class:`RemediationError` (one line) if it cannot."""
        files = dict(files or {})
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                key = self._key(create=True)
            except SnapshotRefused as exc:
                raise RemediationError(
                    f"snapshot dir {self.root} is not safe to keep snapshots in: {exc}"
                ) from None
            now = datetime.now(UTC)
            for _ in range(_ATTEMPTS):
                name = f"{now:%Y%m%dT%H%M%S}Z-{kind}-{secrets.token_hex(4)}"
                target = self.root / name
                try:
                    target.mkdir(mode=0o700)
                    break
                except FileExistsError:
                    continue
            else:  # pragma: no cover - 2**32 names per second
                raise RemediationError("could not pick a unique snapshot name")
            record: dict[str, Any] = {
                "smbsign_snapshot": FORMAT,
                "kind": kind,
                "id": name,
                "created": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
                "host": socket.gethostname(),
                **manifest,
            }
            for fname, data in files.items():
                write_new(target / fname, data)
                record.setdefault("files", {})[fname] = {
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            body = json.dumps(record, indent=2, sort_keys=True).encode() + b"\n"
            write_new(target / MAC_FILE, (_mac(key, body) + "\n").encode())
            write_new(target / MANIFEST, body)
            fsync_dir(target)
            fsync_dir(self.root)
        except OSError as exc:
            raise RemediationError(
                f"cannot write snapshot under {self.root}: {exc.strerror or exc}"
            ) from None
        return Snapshot(target, record)

    def _key(self, *, create: bool) -> bytes:
        """The store's HMAC key (created on first use, 0600); the root must be ours."""
        return store_key(self.root, create=create)

    def _dir(self, ref: str | Path) -> Path:
        """A snapshot directory from a directory, its manifest, or an id under the root;
        anything else is a usage error (one line)."""
        path = Path(ref)
        if path.name == MANIFEST:
            path = path.parent
        if not os.path.lexists(path) and not path.is_absolute() and len(path.parts) == 1:
            path = self.root / path
        if not os.path.lexists(path):
            raise UsageError(f"no snapshot at {path} (no such directory)")
        if not path.is_dir():
            raise UsageError(
                f"{path} is not a snapshot directory (give the directory, its "
                f"{MANIFEST}, or its id)"
            )
        if not os.path.lexists(path / MANIFEST):
            raise UsageError(f"no snapshot at {path} (no {MANIFEST})")
        return path

    def load(self, ref: str | Path) -> Snapshot:
        """A snapshot by directory, manifest path, or id under the root, NOT verified: only
        for reading it (``--format reg``); anything that restores uses :meth:`verify`."""
        path = self._dir(ref)
        manifest_path = path / MANIFEST
        try:
            with manifest_path.open("rb") as fh:
                raw = fh.read(MAX_MANIFEST_BYTES + 1)
            manifest = json.loads(raw) if len(raw) <= MAX_MANIFEST_BYTES else None
        except (OSError, ValueError, RecursionError) as exc:
            raise RemediationError(f"cannot read {manifest_path}: {exc}") from None
        return Snapshot(path, _checked_format(manifest, manifest_path))

    def verify(self, ref: str | Path | Snapshot) -> Snapshot:
        """The snapshot as smbsign wrote it, or :class:`SnapshotRefused` (one line, exit 2).

        Checks, with ``lstat`` and ``O_NOFOLLOW`` (no symlinks anywhere): the directory, its
        manifest, MAC and data files are the invoking user's and not writable by group or
        others; the MAC of the manifest under the key of the store it is in (its parent
        directory, itself the user's, with a key file only the user can read); the manifest's
        id is the directory's name and its kind is known; the data file's sha256. The manifest
        returned is the one whose bytes were verified.
        """
        path = self._dir(ref.path if isinstance(ref, Snapshot) else ref)
        try:
            return self._verify(path)
        except SnapshotRefused as exc:
            raise SnapshotRefused(
                f"refused: {exc}; nothing restored, nothing run{exc.hint}"
            ) from None

    def _verify(self, path: Path) -> Snapshot:
        where = f"snapshot {path}"
        try:
            _check_stat(os.lstat(path), where, directory=True)
            body = _read_checked(path, MANIFEST, MAX_MANIFEST_BYTES, f"{where}/{MANIFEST}")
        except FileNotFoundError as exc:
            raise SnapshotRefused(f"{where}: {exc.strerror}: {exc.filename}") from None
        try:
            mac = _read_checked(path, MAC_FILE, 1024, f"{where}/{MAC_FILE}")
        except FileNotFoundError:
            raise SnapshotRefused(
                f"{where} is not signed (made by an older smbsign, or altered)",
                hint=_by_hand(path, body),
            ) from None
        # The key of the store the snapshot lives in (its parent directory, normally root).
        expected = _mac(SnapshotStore(path.parent)._key(create=False), body)
        if not hmac.compare_digest(mac.decode("ascii", "replace").strip(), expected):
            raise SnapshotRefused(
                f"{where} was altered (its manifest does not match its MAC under the key "
                f"of {path.parent})"
            )
        try:
            manifest = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise SnapshotRefused(f"{where}/{MANIFEST} is not JSON: {exc}") from None
        try:
            _checked_format(manifest, path / MANIFEST)
        except RemediationError as exc:
            raise SnapshotRefused(str(exc)) from None
        _check_fields(manifest, path)
        snap = Snapshot(path, manifest)
        if snap.kind == KIND_SAMBA:
            self.verified_file(snap)
        return snap

    def verified_file(self, snap: Snapshot) -> bytes:
        """The snapshot's data file (no symlink, ours), checked against the manifest's sha256;
        :class:`SnapshotRefused` if it is not what the snapshot recorded."""
        fname = str(snap.manifest.get("file", ""))
        files = snap.manifest.get("files")
        meta = files.get(fname) if isinstance(files, dict) else None
        if not _PLAIN_FILE.match(fname) or fname in (MANIFEST, MAC_FILE):
            raise SnapshotRefused(f"snapshot {snap.id} names no plain data file")
        if not isinstance(meta, dict):
            raise SnapshotRefused(f"snapshot {snap.id} has no data file")
        try:
            data = _read_checked(snap.path, fname, MAX_DATA_BYTES, f"snapshot {snap.id}/{fname}")
        except FileNotFoundError:
            raise SnapshotRefused(f"snapshot {snap.id} lacks its data file {fname}") from None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise SnapshotRefused(
                f"snapshot {snap.id} is tampered or corrupt (sha256 of {fname} does not match)"
            )
        return data

    def status(self, path: Path) -> SnapshotStatus:
        """Verify one directory without raising: verified, unsigned or tampered."""
        size = _size(path)
        try:
            snap: Snapshot | None = self.load(path)
        except (RemediationError, UsageError) as exc:
            return SnapshotStatus(path, STATE_TAMPERED, str(exc), None, size)
        try:
            verified = self._verify(path)
        except SnapshotRefused as exc:
            state = STATE_UNSIGNED if exc.hint else STATE_TAMPERED
            return SnapshotStatus(path, state, str(exc), snap, size)
        except UsageError as exc:
            return SnapshotStatus(path, STATE_TAMPERED, str(exc), snap, size)
        return SnapshotStatus(path, STATE_VERIFIED, "", verified, size)

    def statuses(self) -> list[SnapshotStatus]:
        """Every snapshot directory in the root (entries with a manifest, and symlinks to
        directories, shown as tampered), oldest first; the key and temporary files skipped."""
        if not self.root.is_dir():
            return []
        out = []
        for child in sorted(self.root.iterdir()):
            if child.name.startswith("."):
                continue
            if child.is_symlink():
                out.append(SnapshotStatus(child, STATE_TAMPERED, "a symlink", None, 0))
            elif child.is_dir() and os.path.lexists(child / MANIFEST):
                out.append(self.status(child))
        return out

    def list(self) -> Sequence[Snapshot]:
        return [st.snapshot for st in self.statuses() if st.snapshot is not None]

    def prunable(self, keep: int) -> Sequence[SnapshotStatus]:
        """The verified snapshots beyond the ``keep`` newest of each target (kind, host and
        path), oldest first. Unsigned or tampered ones are never counted nor chosen."""
        groups: dict[tuple[str, str, str], list[tuple[tuple[str, int], SnapshotStatus]]] = {}
        for st in self.statuses():
            if st.state != STATE_VERIFIED or st.snapshot is None:
                continue
            snap = st.snapshot
            key = (snap.kind, str(snap.manifest.get("host", "")), snap.target)
            try:
                mtime = os.lstat(st.path / MANIFEST).st_mtime_ns
            except OSError:
                continue
            groups.setdefault(key, []).append(((str(snap.manifest.get("created", "")), mtime), st))
        out: list[tuple[tuple[str, int], SnapshotStatus]] = []
        for members in groups.values():
            members.sort(key=lambda m: m[0], reverse=True)
            out += members[keep:]
        return [st for _, st in sorted(out, key=lambda m: m[0])]

    def remove(self, path: Path) -> None:
        """Delete one verified snapshot directly under the root: verified again right before,
        then only the files smbsign writes there (regular files, never through a symlink),
        the manifest first, then the directory. Anything else inside: left as it is,
        :class:`RemediationError`."""
        if path.parent != self.root:
            raise RemediationError(f"{path} is not in the snapshot dir {self.root}")
        if os.open not in os.supports_dir_fd or os.unlink not in os.supports_dir_fd:
            raise RemediationError("removing snapshots needs dir_fd support (POSIX)")
        snap = self.verify(path)
        known = {MANIFEST, MAC_FILE, *dict(snap.manifest.get("files") or {})}
        remove_files(self.root, path, known, first=MANIFEST)


def _checked_format(manifest: object, where: Path) -> dict[str, Any]:
    if not isinstance(manifest, dict) or manifest.get("smbsign_snapshot") != FORMAT:
        raise RemediationError(f"{where} is not an smbsign snapshot manifest")
    return manifest


def _check_fields(manifest: Mapping[str, Any], path: Path) -> None:
    """The signed manifest must also describe this directory: its id, a known kind, and for
    Samba an absolute path and a plain data file name."""
    kind = manifest.get("kind")
    match = _NAME.match(path.name)
    if manifest.get("id") != path.name or match is None or match["kind"] != kind:
        raise SnapshotRefused(f"snapshot {path} does not carry its own id and kind")
    if kind not in KINDS:
        raise SnapshotRefused(f"snapshot {path} has unknown kind {kind!r}")
    if kind == KIND_SAMBA:
        original = manifest.get("original_path")
        if not isinstance(original, str) or "\0" in original or not Path(original).is_absolute():
            raise SnapshotRefused(f"snapshot {path} names no absolute original_path")
        for field in ("mode", "uid", "gid"):
            if field not in manifest:
                raise SnapshotRefused(f"snapshot {path} lacks {field}")

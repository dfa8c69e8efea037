"""Reading a snapshot's files without trusting them (docs/fix.md, "What rollback trusts").

A snapshot directory is input an attacker may have edited: every file is opened without
following a symlink and checked on the open descriptor (a regular file, owned by the invoking
user, not writable by group or others; the key file not even readable by them), reads are
bounded, and the manifest is bound to the store's key by HMAC-SHA256 (RFC 2104) with a
context prefix so that the key signs snapshot manifests only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Set
from pathlib import Path

from smbsign.errors import RemediationError, UsageError
from smbsign.remediate.fileops import fsync_dir, write_new

__all__ = [
    "KEY_FILE",
    "SnapshotRefused",
    "check_stat",
    "dir_size",
    "euid",
    "manifest_mac",
    "read_checked",
    "remove_files",
    "store_key",
]

KEY_FILE = ".smbsign-snapshot-key"
_KEY_BYTES = 32

_MAC_PREFIX = "hmac-sha256:"
_MAC_CONTEXT = b"smbsign-snapshot-v1\0"  # domain separation: this key signs manifests only


class SnapshotRefused(UsageError):
    """A snapshot that is not exactly what smbsign wrote: nothing written, nothing run."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def check_stat(st: os.stat_result, what: str, *, directory: bool, private: bool = False) -> None:
    """Refuse what is not ours: a symlink, the wrong type, another owner, writable by group or
    others (``private``: also readable by them)."""
    if stat.S_ISLNK(st.st_mode):
        raise SnapshotRefused(f"{what} is a symlink")
    if directory and not stat.S_ISDIR(st.st_mode):
        raise SnapshotRefused(f"{what} is not a directory")
    if not directory and not stat.S_ISREG(st.st_mode):
        raise SnapshotRefused(f"{what} is not a regular file")
    uid = euid()
    if uid is None:  # pragma: no cover - Windows: ACLs, not POSIX modes
        return
    if st.st_uid != uid:
        raise SnapshotRefused(f"{what} is owned by uid {st.st_uid}, not by you (uid {uid})")
    if st.st_mode & (0o077 if private else 0o022):
        who = "readable or writable" if private else "writable"
        raise SnapshotRefused(
            f"{what} is {who} by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
        )


def read_checked(
    directory: Path, name: str, limit: int, what: str, *, private: bool = False
) -> bytes:
    """A file's bytes, opened without following a symlink and checked on the open file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(directory / name, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if (directory / name).is_symlink():
            raise SnapshotRefused(f"{what} is a symlink") from None
        raise SnapshotRefused(f"cannot read {what}: {exc.strerror or exc}") from None
    try:
        check_stat(os.fstat(fd), what, directory=False, private=private)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise SnapshotRefused(f"{what} is larger than {limit // 2**20} MiB")
    return data


def manifest_mac(key: bytes, manifest: bytes) -> str:
    return _MAC_PREFIX + hmac.new(key, _MAC_CONTEXT + manifest, hashlib.sha256).hexdigest()


def dir_size(path: Path) -> int:
    """Bytes of the regular files directly in ``path`` (never following a symlink)."""
    total = 0
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        return 0
    return total


def store_key(root: Path, *, create: bool) -> bytes:
    """The store's HMAC key (created on first use, 0600); the root must be ours."""
    try:
        st = root.stat()
    except FileNotFoundError:
        raise SnapshotRefused(f"snapshot dir {root} does not exist") from None
    check_stat(st, f"snapshot dir {root}", directory=True)
    try:
        key = read_checked(root, KEY_FILE, 1024, f"key file {root / KEY_FILE}", private=True)
    except FileNotFoundError:
        if not create:
            raise SnapshotRefused(
                f"snapshot dir {root} has no {KEY_FILE} (no snapshot of this "
                "smbsign version was made there)"
            ) from None
        key = _new_key(root)
    if len(key) != _KEY_BYTES:
        raise SnapshotRefused(f"key file {root / KEY_FILE} is malformed")
    return key


def _new_key(root: Path) -> bytes:
    """Create the key atomically: a complete temporary file linked into place (a
    concurrent run that wins the race is used instead)."""
    tmp = root / f".{KEY_FILE}.smbsign-{secrets.token_hex(4)}.tmp"
    write_new(tmp, secrets.token_bytes(_KEY_BYTES), 0o600)
    try:
        os.link(tmp, root / KEY_FILE)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(root)
    return store_key(root, create=False)


def remove_files(root: Path, path: Path, known: Set[str], *, first: str) -> None:
    """Delete the snapshot directory ``path`` (directly under ``root``) holding only ``known``
    regular files, never through a symlink (descriptors, no race): ``first`` first, then the
    rest, then the directory. Anything else inside: left as it is, :class:`RemediationError`."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fd = os.open(path.name, flags, dir_fd=root_fd)
        try:
            names = os.listdir(fd)  # noqa: PTH208 - a descriptor: no symlink race
            for name in names:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if name not in known or not stat.S_ISREG(st.st_mode):
                    raise RemediationError(
                        f"{path} holds {name!r}, which smbsign does not write there; left as it is"
                    )
            for name in sorted(names, key=lambda n: n != first):
                os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)
        os.rmdir(path.name, dir_fd=root_fd)
        fsync_dir(root)
    except OSError as exc:
        raise RemediationError(f"cannot remove {path}: {exc.strerror or exc}") from None
    finally:
        os.close(root_fd)

"""Crash-safe file writes shared by snapshots and the Samba applier.

Every write goes to a file created exclusively (``O_EXCL``: an existing file is never
replaced), is fsynced, and - for replacements - renamed over the target in the same
directory, then the directory is fsynced: after a crash the target holds either the old or
the new bytes, never a mix. Temporary files are named ``.<name>.smbsign-<hex>.tmp`` so a
later run can recognise and remove only its own leftovers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` (it must not exist), write ``data``, fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable (no-op where unsupported)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(path: Path, data: bytes, mode: int, uid: int, gid: int) -> Path:
    """``.<name>.smbsign-<hex>.tmp`` beside ``path``: exclusive, ``mode`` and owner, fsynced."""
    tmp = path.parent / f".{path.name}.smbsign-{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            _write_all(fd, data)
            if os.geteuid() == 0:
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, data: bytes, mode: int, uid: int, gid: int) -> None:
    """Replace ``path`` with ``data``: temporary file in the same directory, fsync, rename."""
    tmp = write_temp(path, data, mode, uid, gid)
    try:
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def remove_stale_temps(path: Path) -> None:
    """Remove temporary files a crashed earlier run left beside ``path`` (ours only)."""
    for stale in path.parent.glob(f".{path.name}.smbsign-*.tmp"):
        try:
            stale.unlink()
        except OSError:
            continue

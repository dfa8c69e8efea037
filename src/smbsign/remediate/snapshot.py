"""Snapshots taken before any change: one directory each, a manifest, never overwritten.

Layout (docs/fix.md)::

    <snapshot dir>/<UTC time>-<kind>-<8 hex>/manifest.json   what, where, sha256, mode, owner
    <snapshot dir>/<UTC time>-<kind>-<8 hex>/<file>          the original bytes (Samba)

The snapshot directory is ``--snapshot-dir``, else ``$SMBSIGN_SNAPSHOT_DIR``, else
``platformdirs.user_data_dir("smbsign")/snapshots``. Every directory and file is created
exclusively (``mkdir`` / ``O_EXCL``), so an existing snapshot is never replaced; data files are
fsynced before the manifest is written, and the manifest is written last, so a snapshot with a
manifest is complete. Windows snapshots record each value's previous type and data, or that it
was absent (DOMAIN.md 8: HardeningKitty applied without a backup; we never do).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from smbsign.collect.regdata import TYPE_CODES
from smbsign.errors import RemediationError, UsageError
from smbsign.remediate.fileops import fsync_dir, write_new

SNAPSHOT_ENV = "SMBSIGN_SNAPSHOT_DIR"
MANIFEST = "manifest.json"
FORMAT = 1
KIND_SAMBA = "samba-smb.conf"
KIND_WINDOWS = "windows-registry"
_ATTEMPTS = 5

RegData = int | str | tuple[str, ...] | bytes | None


def default_snapshot_dir() -> Path:
    env = os.environ.get(SNAPSHOT_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("smbsign")) / "snapshots"


def type_code(vtype: str) -> int:
    """The registry type code of a type name, also ``REG_UNKNOWN_0x..`` (what a snapshot of
    an odd value records), so that rollback can write back any type it saved."""
    if vtype in TYPE_CODES:
        return TYPE_CODES[vtype]
    prefix = "REG_UNKNOWN_0x"
    if vtype.startswith(prefix) and vtype[len(prefix) :]:
        try:
            return int(vtype[len(prefix) :], 16)
        except ValueError:
            pass
    raise RemediationError(f"unknown registry value type {vtype!r}")


@dataclass(frozen=True, slots=True)
class PriorValue:
    """A registry value before a change: its type and data, or ``present=False`` (absent)."""

    key: str
    name: str
    present: bool
    type: str | None = None
    data: RegData = None
    key_existed: bool = True
    control: str = ""


def prior_to_dict(p: PriorValue) -> dict[str, Any]:
    data: Any = p.data
    if isinstance(data, bytes):
        data = data.hex()
    elif isinstance(data, tuple):
        data = list(data)
    return {
        "control": p.control,
        "key": p.key,
        "name": p.name,
        "key_existed": p.key_existed,
        "present": p.present,
        "type": p.type,
        "data": data,
    }


def prior_from_dict(d: Mapping[str, Any]) -> PriorValue:
    """Inverse of :func:`prior_to_dict`; also reads what the generated PowerShell writes."""
    try:
        present = bool(d["present"])
        vtype = d.get("type") if present else None
        raw = d.get("data") if present else None
        data: RegData
        if raw is None:
            data = None
        elif vtype == "REG_MULTI_SZ":
            data = tuple(str(x) for x in (raw if isinstance(raw, list) else [raw]))
        elif vtype in ("REG_DWORD", "REG_QWORD"):
            data = int(raw)
        elif vtype in ("REG_SZ", "REG_EXPAND_SZ"):
            data = str(raw)
        else:
            data = bytes.fromhex(str(raw))
        return PriorValue(
            key=str(d["key"]),
            name=str(d["name"]),
            present=present,
            type=str(vtype) if vtype else None,
            data=data,
            key_existed=bool(d.get("key_existed", True)),
            control=str(d.get("control", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RemediationError(f"snapshot value entry is malformed: {exc}") from None


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
        return tuple(prior_from_dict(v) for v in self.manifest.get("values", ()))


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
            write_new(target / MANIFEST, body)
            fsync_dir(target)
            fsync_dir(self.root)
        except OSError as exc:
            raise RemediationError(
                f"cannot write snapshot under {self.root}: {exc.strerror or exc}"
            ) from None
        return Snapshot(target, record)

    def load(self, ref: str | Path) -> Snapshot:
        """A snapshot by directory, manifest path, or id under the root."""
        path = Path(ref)
        if path.name == MANIFEST:
            path = path.parent
        if not path.exists() and not path.is_absolute() and len(path.parts) == 1:
            path = self.root / path
        manifest_path = path / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except FileNotFoundError:
            raise UsageError(f"no snapshot at {path} (no {MANIFEST})") from None
        except (OSError, ValueError, RecursionError) as exc:
            raise RemediationError(f"cannot read {manifest_path}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("smbsign_snapshot") != FORMAT:
            raise RemediationError(f"{manifest_path} is not an smbsign snapshot manifest")
        return Snapshot(path, manifest)

    def verified_file(self, snap: Snapshot) -> bytes:
        """The snapshot's data file, checked against the manifest's sha256."""
        fname = str(snap.manifest.get("file", ""))
        meta = snap.manifest.get("files", {}).get(fname)
        if not fname or not isinstance(meta, dict):
            raise RemediationError(f"snapshot {snap.id} has no data file")
        try:
            data = (snap.path / fname).read_bytes()
        except OSError as exc:
            raise RemediationError(f"cannot read snapshot file: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise RemediationError(f"snapshot {snap.id} is corrupt (sha256 mismatch)")
        return data

    def list(self) -> Sequence[Snapshot]:
        if not self.root.is_dir():
            return []
        out = []
        for child in sorted(self.root.iterdir()):
            if (child / MANIFEST).is_file():
                try:
                    out.append(self.load(child))
                except (RemediationError, UsageError):
                    continue
        return out

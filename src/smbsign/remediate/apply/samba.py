"""Samba applier: edit smb.conf safely, validate, reload, verify on the wire, roll back.

Sequence (docs/reference.md §4.4, §4.5), each step failing closed:

1. snapshot the file (bytes, sha256, mode, owner) into a new snapshot directory;
2. write the edited file to a temporary file in the same directory (``O_EXCL``, same mode and
   owner), fsync it;
3. ``testparm -s`` on the temporary file must succeed, and ``testparm --parameter-name`` must
   read every edited parameter back as wanted (an ``include`` or later line that overrides the
   edit is caught here) - before the real file is touched;
4. ``rename`` over the original (atomic), fsync the directory;
5. reload the running smbd (``smbcontrol -s CONF smbd reload-config`` or ``--reload-cmd``);
6. verify: testparm on the live file, and for controls with a wire check the project's own
   probe, retried a bounded number of times (smbd applies a reload asynchronously);
7. any failure after step 1: restore the snapshot bytes the same atomic way, reload again if
   the daemon had reloaded, and report one line.

A crash between 2 and 4 leaves the original untouched and a ``.<name>.smbsign-*.tmp`` file,
which the next run removes.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from smbsign.errors import RemediationError, UsageError
from smbsign.model import ScanRecord, ScanStatus
from smbsign.remediate.apply.base import Preview, Verification
from smbsign.remediate.apply.smbconf_edit import ParamEdit, edit_globals
from smbsign.remediate.fileops import atomic_write, fsync_dir, remove_stale_temps, write_temp
from smbsign.remediate.plan import Plan
from smbsign.remediate.snapshot import KIND_SAMBA, Snapshot, SnapshotStore

COMMAND_TIMEOUT = 30.0
DATA_FILE = "original.conf"
MAX_CONF_BYTES = 8 * 2**20  # an smb.conf is a few KiB; refuse anything absurd (bounded memory)

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[bytes]"]
Prober = Callable[[str, int], ScanRecord]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    """Run a Samba tool with a timeout and the C locale; never raises for its exit code."""
    env = {**os.environ, "LC_ALL": "C"}
    try:
        return subprocess.run(
            list(argv), capture_output=True, timeout=COMMAND_TIMEOUT, check=False, env=env
        )
    except FileNotFoundError:
        raise RemediationError(f"{argv[0]} not found (install Samba's tools)") from None
    except subprocess.TimeoutExpired:
        raise RemediationError(f"{argv[0]} did not finish in {COMMAND_TIMEOUT:.0f} s") from None


def probe_once(address: str, port: int) -> ScanRecord:
    """One credential-less NEGOTIATE probe with the project's scanner."""
    from smbsign.scan.prober import ProbeOptions, probe_port

    return asyncio.run(probe_port(address, port, ProbeOptions()))


_NOISE = ("Load smb config", "Loaded services", "Weak crypto", "Server role", "#")
_SEVERE = ("ERROR", "Error", "WARNING: Ignoring invalid value", "Can't", "Unable", "Unknown")


def _first_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    """The most telling line a Samba tool printed (errors before warnings)."""
    text = (
        (proc.stderr or b"").decode("utf-8", "replace")
        + "\n"
        + (proc.stdout or b"").decode("utf-8", "replace")
    )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(_NOISE)]
    severe = [ln for ln in lines if ln.startswith(_SEVERE)]
    pick = severe or lines
    return pick[0][:200] if pick else f"exit status {proc.returncode}"


def edits_for(plan: Plan) -> list[ParamEdit]:
    """The smb.conf edits of a Samba plan; ``accept`` = the control's passing values."""
    out: list[ParamEdit] = []
    for ch in plan.changes:
        check = ch.control.check.samba
        for s in ch.samba:
            accept = (
                frozenset(check.passing)
                if check and check.parameter == s.parameter
                else frozenset()
            )
            out.append(ParamEdit(s.parameter, s.value, accept))
    return out


def _wire_checks(plan: Plan) -> list[str]:
    return sorted({ch.control.check.wire for ch in plan.changes if ch.control.check.wire})


def _wire_ok(check: str, rec: ScanRecord) -> bool:
    """Does the probe show the control's effective state (docs/reference.md §5.9)?"""
    if rec.status is not ScanStatus.OK:
        return False
    if check == "smb_server_signing_required":
        return rec.signing_required is True
    if check == "smb1_server_disabled":
        return rec.smb1.offered is False
    if check == "smb1_server_signing_enabled":
        return rec.smb1.offered is False or (
            rec.smb1.signing is not None and rec.smb1.signing.value != "disabled"
        )
    return False


def _describe(rec: ScanRecord) -> str:
    if rec.status is not ScanStatus.OK:
        return f"{rec.status.value} ({rec.reason})" if rec.reason else rec.status.value
    return "signing required" if rec.signing_required else "signing not required"


@dataclass(frozen=True, slots=True)
class SambaOptions:
    verify: tuple[tuple[str, int], ...] = (("127.0.0.1", 445),)
    reload_cmd: tuple[str, ...] | None = None  # default: smbcontrol -s CONF smbd reload-config
    testparm: str = "testparm"
    smbcontrol: str = "smbcontrol"
    attempts: int = 20  # wire probes after a reload, ``interval`` seconds apart (bounded)
    interval: float = 0.25


def reload_command(conf: Path, options: SambaOptions) -> list[str]:
    if options.reload_cmd:
        return list(options.reload_cmd)
    return [options.smbcontrol, "-s", str(conf), "smbd", "reload-config"]


class SambaApplier:
    """Safe smb.conf remediation for one file; see the module docstring."""

    def __init__(
        self,
        conf: Path,
        store: SnapshotStore,
        options: SambaOptions | None = None,
        *,
        runner: Runner = run_command,
        prober: Prober = probe_once,
    ) -> None:
        # Edit the file a symlink points to, so the link itself stays (rename would replace it).
        self.conf = Path(conf).resolve()
        self.store = store
        self.options = options or SambaOptions()
        self._run = runner
        self._probe = prober
        self._plan: Plan | None = None
        self._snapshot_sha: str | None = None
        self._written = False
        self._reloaded = False

    # ------------------------------------------------------------------ helpers
    def _read(self, *, text: bool = True) -> bytes:
        """The file's bytes (at most ``MAX_CONF_BYTES``); with ``text``, also refuse what
        cannot be an smb.conf to edit (NUL bytes: binary or UTF-16). A snapshot before a
        rollback saves whatever is there, so it reads with ``text=False``."""
        try:
            with self.conf.open("rb") as fh:
                data = fh.read(MAX_CONF_BYTES + 1)
        except OSError as exc:
            raise RemediationError(f"cannot read {self.conf}: {exc.strerror or exc}") from None
        if len(data) > MAX_CONF_BYTES:
            raise RemediationError(
                f"{self.conf} is larger than {MAX_CONF_BYTES // 2**20} MiB: not an smb.conf"
            )
        if text and b"\0" in data:
            raise RemediationError(
                f"{self.conf} contains NUL bytes (binary or UTF-16): not an smb.conf Samba reads"
            )
        return data

    def _edited(self, plan: Plan, data: bytes) -> tuple[bytes, tuple[str, ...]]:
        result = edit_globals(data, edits_for(plan))
        return result.data, result.changes

    def validate(self, path: Path, edits: Sequence[ParamEdit]) -> None:
        """testparm must load ``path`` and read every edited parameter back as wanted."""
        tp = self.options.testparm
        proc = self._run([tp, "-s", str(path)])
        if proc.returncode != 0 or not proc.stdout.strip():
            now = self._run([tp, "-s", str(self.conf)])
            if path != self.conf and (now.returncode != 0 or not now.stdout.strip()):
                raise RemediationError(
                    f"testparm rejects {self.conf} as it is already ({_first_line(now)}); "
                    "fix that first"
                )
            raise RemediationError(f"testparm rejected the new configuration: {_first_line(proc)}")
        for e in edits:
            got = self._run([tp, "-s", "--parameter-name", e.name, str(path)])
            value = got.stdout.decode("utf-8", "replace").strip()
            if got.returncode != 0 or not e.acceptable(value):
                raise RemediationError(
                    f"testparm reads {e.name} = {value or '(nothing)'} after the edit "
                    "(an include or a later line overrides it)"
                )

    def reload(self) -> None:
        argv = reload_command(self.conf, self.options)
        proc = self._run(argv)
        if proc.returncode != 0:
            raise RemediationError(f"reload failed ({' '.join(argv)}): {_first_line(proc)}")

    def preflight(self, plan: Plan) -> None:
        """Before anything changes: every ``--verify`` address must answer SMB now, when the
        plan has a wire check (else the change would go live, fail its verification and be
        rolled back, or sit live while unanswered probes time out). Raises
        :class:`UsageError` (one line); nothing is touched."""
        if not _wire_checks(plan):
            return
        for address, port in self.options.verify:
            rec = self._probe(address, port)
            if rec.status is not ScanStatus.OK:
                where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
                raise UsageError(
                    f"--verify {where} does not answer SMB now ({_describe(rec)}); nothing "
                    "changed: start smbd, or give the address it listens on with --verify"
                )

    # ------------------------------------------------------------------ Applier
    def preview(self, plan: Plan) -> Preview:
        old = self._read()
        new, changes = self._edited(plan, old)
        diff = "".join(
            difflib.unified_diff(
                old.decode("utf-8", "replace").splitlines(keepends=True),
                new.decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=str(self.conf),
                tofile=f"{self.conf} (smbsign)",
            )
        )
        return Preview(diff, changes)

    def snapshot(self) -> Snapshot:
        data = self._read(text=False)
        st = self.conf.stat()
        self._snapshot_sha = hashlib.sha256(data).hexdigest()
        manifest = {
            "original_path": str(self.conf.resolve()),
            "file": DATA_FILE,
            "sha256": self._snapshot_sha,
            "size": len(data),
            "mode": f"{st.st_mode & 0o7777:04o}",
            "uid": st.st_uid,
            "gid": st.st_gid,
            "reload": reload_command(self.conf.resolve(), self.options),
        }
        return self.store.create(KIND_SAMBA, manifest, {DATA_FILE: data})

    def change(self, plan: Plan) -> None:
        self._plan = plan
        data = self._read()
        if self._snapshot_sha and hashlib.sha256(data).hexdigest() != self._snapshot_sha:
            raise RemediationError(f"{self.conf} changed after the snapshot; nothing changed")
        new, _ = self._edited(plan, data)
        if not os.access(self.conf, os.W_OK) or not os.access(self.conf.parent, os.W_OK):
            raise RemediationError(f"{self.conf} is read-only; nothing changed")
        st = self.conf.stat()
        remove_stale_temps(self.conf)
        try:
            tmp = write_temp(self.conf, new, st.st_mode & 0o7777, st.st_uid, st.st_gid)
        except OSError as exc:
            raise RemediationError(
                f"cannot write the new configuration next to {self.conf}: {exc.strerror or exc}"
            ) from None
        try:
            self.validate(tmp, edits_for(plan))
            tmp.replace(self.conf)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._written = True
        fsync_dir(self.conf.parent)
        self.reload()
        self._reloaded = True

    def verify(self) -> Verification:
        plan = self._plan
        if plan is None:
            return Verification(False, ("nothing was changed",))
        try:
            self.validate(self.conf, edits_for(plan))
        except RemediationError as exc:
            return Verification(False, (str(exc),))
        details = [f"testparm: {e.name} as wanted" for e in edits_for(plan)]
        for check in _wire_checks(plan):
            for address, port in self.options.verify:
                rec = self._wait_for(check, address, port)
                where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
                if not _wire_ok(check, rec):
                    hint = ""
                    if rec.status is not ScanStatus.OK:
                        hint = " (if smbd listens elsewhere, give --verify ADDR[:PORT])"
                    return Verification(False, (f"wire probe of {where}: {_describe(rec)}{hint}",))
                details.append(f"wire probe of {where}: {_describe(rec)}")
        return Verification(True, tuple(details))

    def _wait_for(self, check: str, address: str, port: int) -> ScanRecord:
        rec = self._probe(address, port)
        for _ in range(max(self.options.attempts - 1, 0)):
            if _wire_ok(check, rec):
                break
            time.sleep(self.options.interval)
            rec = self._probe(address, port)
        return rec

    def rollback(self, snapshot: Snapshot) -> None:
        if not self._written:
            return  # the original was never replaced
        restore_file(snapshot, self.store)
        self._written = False
        if self._reloaded:
            self.reload()


def restore_file(snapshot: Snapshot, store: SnapshotStore) -> Path:
    """Put the snapshot's bytes back at the original path (atomic, mode and owner kept)."""
    m = snapshot.manifest
    data = store.verified_file(snapshot)
    path = Path(str(m["original_path"]))
    try:
        atomic_write(path, data, int(str(m["mode"]), 8), int(m["uid"]), int(m["gid"]))
    except OSError as exc:
        raise RemediationError(f"cannot restore {path}: {exc.strerror or exc}") from None
    if path.read_bytes() != data:
        raise RemediationError(f"{path} does not match the snapshot after restoring")
    return path


def rollback_samba(
    snapshot: Snapshot,
    store: SnapshotStore,
    *,
    reload_cmd: Sequence[str] | None = None,
    runner: Runner = run_command,
) -> tuple[Snapshot, Path]:
    """``smbsign rollback``: verify the snapshot, save the current file, restore byte for
    byte, reload.

    The snapshot is verified first (:meth:`SnapshotStore.verify`: ownership, no symlinks, the
    MAC that binds its ``original_path``); a refused one changes nothing and runs nothing.
    The reload command is never taken from the manifest: it is ``reload_cmd`` (the command
    line's ``--reload-cmd``) or smbcontrol for the snapshot's kind. Returns (the safety
    snapshot of what was there, the restored path).
    """
    snapshot = store.verify(snapshot)
    path = Path(str(snapshot.manifest["original_path"]))
    options = SambaOptions(
        reload_cmd=tuple(reload_cmd) if reload_cmd else None,
        smbcontrol=shutil.which("smbcontrol") or "smbcontrol",
    )
    safety = SambaApplier(path, store, options)
    try:
        before = safety.snapshot()
    except RemediationError:
        if path.exists():
            raise
        before = snapshot  # the file is gone: nothing to save
    restore_file(snapshot, store)
    argv = reload_command(path, options)
    proc = runner(argv)
    if proc.returncode != 0:
        raise RemediationError(
            f"{path} restored byte for byte, but the reload failed ({' '.join(argv)}): "
            f"{_first_line(proc)}"
        )
    return before, path

"""`smbsign rollback` (docs/fix.md): restore a snapshot taken by `smbsign fix`.

A Samba snapshot is restored byte for byte, a Windows one value for value (on Windows; here
``--format reg -o DIR`` writes its undo ``.reg``), after saving what is there now. Nothing in a
snapshot is trusted before :meth:`SnapshotStore.verify` (ownership, no symlinks, the MAC), and
no command recorded in it is ever run.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from smbsign import __version__
from smbsign.cli._common import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, exit_epilog, write_atomic
from smbsign.errors import RemediationError, UsageError
from smbsign.remediate.apply.samba import rollback_samba
from smbsign.remediate.render.regfile import UNDO_FILE, render_undo
from smbsign.remediate.snapshot import KIND_SAMBA, KIND_WINDOWS, SnapshotStore

ROLLBACK_EPILOG = exit_epilog(
    (EXIT_OK, "rolled back"),
    (EXIT_USAGE, "not a snapshot, or one rollback does not trust; nothing written or run"),
    (EXIT_RUNTIME, "the restore failed (the message says what is left)"),
    see="docs/fix.md",
)


def rollback(
    snapshot: Annotated[
        str | None,
        typer.Argument(
            help="Snapshot directory, its manifest.json, or its id in the snapshot dir."
        ),
    ] = None,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option(
            "--snapshot-dir",
            help="Where snapshots are (default: $SMBSIGN_SNAPSHOT_DIR or the user data dir).",
        ),
    ] = None,
    reload_cmd: Annotated[
        str | None,
        typer.Option(
            "--reload-cmd",
            help="Command that reloads Samba (default: smbcontrol -s FILE smbd "
            "reload-config; a command recorded in a snapshot is never run).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="reg: write the undo .reg file of a Windows snapshot instead."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Directory for --format output.")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the snapshots.")] = False,
) -> None:
    """Restore a snapshot taken by `smbsign fix` (a safety snapshot is taken first)."""
    store = SnapshotStore(snapshot_dir)
    if list_:
        for snap in store.list():
            m = snap.manifest
            what = m.get("original_path") or f"{len(m.get('values', []))} registry value(s)"
            typer.echo(f"{snap.path}  {snap.kind}  {m.get('created', '')}  {what}")
        return
    if snapshot is None:
        raise UsageError("give a SNAPSHOT (or --list)")
    if fmt is not None:  # reads the snapshot, restores nothing: an unsigned one is fine
        snap = store.load(snapshot)
        if fmt != "reg" or output is None:
            raise UsageError("rollback --format supports only 'reg', with -o DIR")
        if snap.kind != KIND_WINDOWS:
            raise UsageError(f"--format reg needs a Windows snapshot; {snap.id} is {snap.kind}")
        try:
            output.mkdir(parents=True, exist_ok=True)
            write_atomic(
                output / UNDO_FILE, render_undo(snap.priors(), snap.id, f"smbsign {__version__}")
            )
        except OSError as exc:
            raise UsageError(f"cannot write to {output}: {exc.strerror or exc}") from None
        typer.echo(f"Wrote {output / UNDO_FILE}")
        state = store.status(snap.path)
        if state.state != "verified":
            typer.echo(f"Note: snapshot {snap.id} is {state.state}: review the .reg first")
        return
    snap = store.verify(snapshot)  # ownership, no symlinks, MAC: else exit 2, nothing done
    if snap.kind == KIND_SAMBA:
        argv = shlex.split(reload_cmd) if reload_cmd else None
        before, path = rollback_samba(snap, store, reload_cmd=argv)
        typer.echo(f"Restored {path} byte for byte from {snap.id} and reloaded Samba.")
        typer.echo(f"What was there before is in snapshot {before.path}")
        return
    if snap.kind == KIND_WINDOWS and sys.platform == "win32":  # pragma: no cover - Windows
        from smbsign.remediate.apply.windows import WinregWriter, rollback_windows

        safety = rollback_windows(snap, WinregWriter(), store)
        typer.echo(f"Restored {snap.id}; previous values saved in {safety.path}")
        return
    if snap.kind == KIND_WINDOWS:
        raise UsageError(
            "a Windows snapshot is restored on Windows; here use "
            "--format reg -o DIR to get its undo .reg file"
        )
    raise RemediationError(f"snapshot {snap.id} has unknown kind {snap.kind!r}")


def register(app: typer.Typer) -> None:
    """Add this module's command to app."""
    app.command("rollback", epilog=ROLLBACK_EPILOG)(rollback)

"""`smbsign import`: load fleet scan parts and audit outputs (JSONL) into the store (docs/fleet.md).

Exit codes: 0 every file stored (or already there), 2 a file is not a valid shard output
(the others are still imported), 3 the store refused or lost a file (it was rolled back).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smbsign import __version__
from smbsign.cli._common import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE
from smbsign.cli.report_cmd import ENV_NO_STORE, DbOption
from smbsign.errors import SmbsignError, UsageError
from smbsign.run import Run, clean, redact_argv, utc_now
from smbsign.textutil import plural

if TYPE_CHECKING:
    from smbsign.model import ScanRecord
    from smbsign.scan.shardfile import Fleet

EPILOG = (
    "Each FILE is what `smbsign scan --shard I/N --run-id ID -f jsonl` wrote; it joins run ID "
    "in one transaction. Importing a file twice changes nothing. The run is incomplete until "
    "all N shards arrived and finished. An `audit -f jsonl` output becomes its own audit "
    "run. Exit codes: 0 stored; 2 a file is not a valid shard "
    "output; 3 the store refused or lost a file (nothing of it was kept)."
)


def _say(line: str) -> None:
    sys.stderr.write(f"smbsign: {clean(line)}\n")


def import_files(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE...", help="Shard outputs (JSONL) to import.", dir_okay=False),
    ],
    db: DbOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Load fleet scan parts and audit outputs (JSONL) into the history store."""
    from smbsign.scan.shardfile import ShardFileError
    from smbsign.scan.shardread import is_shard_output, read_shard
    from smbsign.store.shards import import_shard

    code = EXIT_OK
    for path in files:
        if not is_shard_output(path):  # an `audit -f jsonl` output: its own audit run
            code = max(code, _import_audit(path, db, quiet))
            continue
        try:
            shard = read_shard(path)
        except ShardFileError as exc:
            _say(f"error: {exc}")
            code = max(code, EXIT_USAGE)
            continue
        try:
            res = import_shard(shard, db)
        except UsageError as exc:
            _say(f"error: {path}: {exc}")
            code = max(code, EXIT_USAGE)
            continue
        except SmbsignError as exc:
            _say(f"error: {path}: import rolled back, nothing of it stored: {exc}")
            code = EXIT_RUNTIME
            continue
        if quiet:
            continue
        state = "complete" if res.complete else "incomplete"
        done = "" if shard.complete else f" (this shard is incomplete: {shard.note})"
        what = {
            "stored": f"stored {plural(res.records, 'record')}",
            "replaced": f"replaced the incomplete shard with {plural(res.records, 'record')}",
            "unchanged": "already stored, nothing changed",
        }[res.action]
        _say(
            f"{path}: shard {res.shard} of run {res.run_id} (#{res.seq}): {what}{done}; "
            f"{res.arrived}/{res.shards} shards arrived, run {state}"
        )
    raise typer.Exit(code)


def _import_audit(path: Path, db: str | None, quiet: bool) -> int:
    """Store an audit JSONL output as one audit run whose id comes from its content."""
    from smbsign.scan.shardfile import ShardFileError
    from smbsign.scan.shardread import read_findings
    from smbsign.store import RunNotFound, StoreMissing, load_run, record_run

    try:
        audit = read_findings(path)
    except ShardFileError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    try:
        try:
            load_run(db, audit.run_id, kind="audit")
        except (RunNotFound, StoreMissing):
            pass
        else:
            if not quiet:
                _say(f"{path}: audit run {audit.run_id}: already stored, nothing changed")
            return EXIT_OK
        now = utc_now()
        run = Run(
            id=audit.run_id,
            kind="audit",
            started=now,
            finished=now,
            tool_version=__version__,
            argv=("smbsign", "import", str(path)),
            findings=audit.findings,
        )
        stored = record_run(run, db)
    except UsageError as exc:
        _say(f"error: {path}: {exc}")
        return EXIT_USAGE
    except SmbsignError as exc:
        _say(f"error: {path}: import rolled back, nothing of it stored: {exc}")
        return EXIT_RUNTIME
    if not quiet:
        _say(
            f"{path}: stored audit run {stored.id} (#{stored.seq}) with "
            f"{plural(len(audit.findings), 'finding')}"
        )
    return EXIT_OK


def record_shard(
    fleet: Fleet,
    records: Sequence[ScanRecord],
    started: datetime | None,
    complete: bool,
    db: str | None,
    no_store: bool,
) -> None:
    """Store a finished ``scan --run-id`` as its shard of the fleet run, as ``import`` of its
    output would (the same digest: importing that output later changes nothing). Never
    raises: a store problem is one warning line and the scan's own result stands."""
    if no_store or os.environ.get(ENV_NO_STORE, "") not in ("", "0"):
        return
    from smbsign.scan.shardread import ShardFile, shard_digest
    from smbsign.store.shards import import_shard

    finished = utc_now()
    shard = ShardFile(
        path="this scan",
        run_id=fleet.run_id,
        shard=fleet.shard,
        started=started or finished,
        finished=finished,
        tool_version=__version__,
        argv=redact_argv(["smbsign", *sys.argv[1:]]),
        complete=complete,
        lines=len(records),
        records=tuple(records),
        digest=shard_digest(fleet.run_id, fleet.shard, complete, records),
        note="" if complete else "the scan was interrupted",
    )
    try:
        res = import_shard(shard, db)
    except SmbsignError as exc:
        _say(f"warning: shard not recorded: {exc}")
        return
    _say(
        f"recorded shard {res.shard} of fleet run {res.run_id} (#{res.seq}); "
        f"{res.arrived}/{res.shards} shards arrived, run "
        f"{'complete' if res.complete else 'incomplete'}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("import", epilog=EPILOG)(import_files)

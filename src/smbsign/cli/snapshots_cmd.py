"""`smbsign snapshots list|prune` (docs/fix.md, "Snapshots").

Every apply and every rollback leaves a snapshot (a failed apply too), so the store grows.
``list`` shows each one with its verification state (:meth:`SnapshotStore.status`);
``prune --keep N`` removes the verified snapshots beyond the N newest of each target, and
nothing else. Exit codes: 0 done, 2 usage error, 3 a snapshot could not be removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from smbsign.errors import RemediationError, UsageError
from smbsign.remediate.snapshot import SnapshotStatus, SnapshotStore

EXIT_HELP = "Exit codes: 0 done, 2 usage error, 3 a snapshot could not be removed."

SUMMARY = "List and prune the snapshots that `smbsign fix` and `smbsign rollback` take."

app = typer.Typer(
    help=f"{SUMMARY}\n\n{EXIT_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SnapshotDir = Annotated[
    Path | None,
    typer.Option(
        "--snapshot-dir",
        help="Where snapshots are (default: $SMBSIGN_SNAPSHOT_DIR or the user data dir).",
    ),
]


def _row(st: SnapshotStatus) -> dict[str, Any]:
    snap = st.snapshot
    return {
        "id": st.id,
        "path": str(st.path),
        "created": str(snap.manifest.get("created", "")) if snap else "",
        "kind": snap.kind if snap else "",
        "target": snap.target if snap else "",
        "size": st.size,
        "state": st.state,
        "reason": st.reason,
    }


LIST_HELP = (
    "List the snapshots: id, time, kind, target, size, and whether each is verified "
    "(signed by this store, untouched), unsigned (an older smbsign) or tampered."
)


@app.command("list", help=f"{LIST_HELP}\n\nExit codes: 0 done, 2 usage error.")
def list_snapshots(
    snapshot_dir: SnapshotDir = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No '(no snapshots in DIR)' line.")
    ] = False,
) -> None:
    if fmt not in ("table", "json"):
        raise UsageError(f"--format {fmt!r}: choose table or json")
    rows = [_row(st) for st in SnapshotStore(snapshot_dir).statuses()]
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    head = ("ID", "CREATED", "KIND", "STATE", "SIZE", "TARGET")
    cells = [head] + [
        (r["id"], r["created"] or "-", r["kind"] or "-", r["state"], str(r["size"]), r["target"])
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head) - 1)]
    for c in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=False)) + "  " + c[-1])
    if not rows and not quiet:
        typer.echo(f"(no snapshots in {SnapshotStore(snapshot_dir).root})")


PRUNE_HELP = (
    "Remove the verified snapshots beyond the KEEP newest of each target (one file, or one "
    "host's registry), printing each. Unsigned or tampered snapshots, and anything in the "
    "snapshot dir that is not a snapshot directory, are never removed; symlinks are never "
    "followed."
)


@app.command("prune", help=f"{PRUNE_HELP}\n\n{EXIT_HELP}")
def prune(
    keep: Annotated[
        int, typer.Option("--keep", help="How many of the newest snapshots to keep per target.")
    ],
    snapshot_dir: SnapshotDir = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Print what would be removed; remove nothing.")
    ] = False,
) -> None:
    if keep < 1:
        raise UsageError("--keep must be at least 1 (the newest snapshot is the way back)")
    store = SnapshotStore(snapshot_dir)
    doomed = store.prunable(keep)
    failed: list[str] = []
    for st in doomed:
        target = st.snapshot.target if st.snapshot else ""
        if dry_run:
            typer.echo(f"would remove {st.id}  {target}")
            continue
        try:
            store.remove(st.path)
        except (RemediationError, UsageError) as exc:
            failed.append(str(exc))
            continue
        typer.echo(f"removed {st.id}  {target}")
    if dry_run:
        typer.echo(f"Dry run: {len(doomed)} snapshot(s) to remove; nothing removed.")
    else:
        left = len(store.statuses())
        typer.echo(f"Pruned {len(doomed) - len(failed)} snapshot(s); {left} left in {store.root}")
    if failed:
        raise RemediationError(f"{len(failed)} snapshot(s) not removed: {failed[0]}")


def register(app_: typer.Typer) -> None:
    """Add ``smbsign snapshots list|prune`` to app."""
    app_.add_typer(app, name="snapshots")

"""`smbsign history`, `smbsign diff` and `smbsign report` (docs/report.md), and the hook that
`scan` and `audit` call to record their runs (``record_cli_run``).

Exit codes: ``history`` and ``report`` 0; ``diff`` 0 when nothing got worse, 1 when a host
or control regressed or appeared in a bad state; 2 usage error (unknown run, bad database
URL, unknown framework); 3 the store could not be read or written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smbsign import __version__
from smbsign.catalog import load_catalog
from smbsign.cli._common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, exit_epilog, fail, write_atomic
from smbsign.cli._output import QuietOption, format_choices, format_option, pick_format
from smbsign.errors import SmbsignError, UsageError
from smbsign.model import Finding, ScanRecord
from smbsign.output.base import Kind
from smbsign.output.registry import render_document
from smbsign.report import FORMATS
from smbsign.report.compliance import COMPLIANCE_FORMATS
from smbsign.report.diff import diff_runs
from smbsign.report.scores import find_framework
from smbsign.run import (
    CatalogLike,
    History,
    Run,
    RunInfo,
    RunKind,
    clean,
    new_run_id,
    redact_argv,
    utc_now,
)

ENV_NO_STORE = "SMBSIGN_NO_STORE"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="History store: sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default: $SMBSIGN_DB, else a SQLite file in the user data directory).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to FILE (atomically).", dir_okay=False),
]
NoStoreOption = Annotated[
    bool,
    typer.Option("--no-store", help="Do not record this run in the history store."),
]


class KindChoice(StrEnum):
    SCAN = "scan"
    AUDIT = "audit"


if TYPE_CHECKING:
    from smbsign.runspool import FindingSpool

    ReportFormat = StrEnum
    HistoryFormat = StrEnum
    DiffFormat = StrEnum
else:  # the -f choices: the formats of the one registry (smbsign.output.registry) per kind
    ReportFormat = format_choices(Kind.RUN)
    HistoryFormat = format_choices(Kind.HISTORY)
    DiffFormat = format_choices(Kind.DIFF)

HISTORY_EPILOG = exit_epilog((EXIT_OK, "listed"), (EXIT_USAGE, "usage error, or no store at --db"))
DIFF_EPILOG = exit_epilog(
    (EXIT_OK, "nothing got worse"),
    (EXIT_FINDINGS, "something regressed or appeared failing"),
    (EXIT_USAGE, "usage error: unknown run, runs of different kinds, no store"),
    see="docs/report.md",
)
REPORT_EPILOG = exit_epilog(
    (EXIT_OK, "written"), (EXIT_USAGE, "usage error: unknown run, no store, bad option")
)


# ----------------------------------------------------------------- recording hook


def record_cli_run(
    kind: RunKind,
    argv: Sequence[str],
    records: Sequence[ScanRecord] = (),
    findings: Sequence[Finding] = (),
    db_url: str | None = None,
    *,
    started: datetime | None = None,
    no_store: bool = False,
    quiet: bool = False,
    complete: bool = True,
    spool: FindingSpool | None = None,
) -> Run | None:
    """Record a finished ``scan``/``audit`` run; returns it (with ``seq``) or None.

    ``argv`` is the command line (``sys.argv``, with or without the program name); secret
    option values and URL passwords in it are redacted before anything is stored. Never
    raises for store problems: a store that cannot be written prints one warning line and
    the command's own result stands.
    ``no_store`` (``--no-store``) or ``SMBSIGN_NO_STORE=1`` skip recording; ``quiet`` drops
    the one-line "recorded" note on stderr (warnings are always printed). ``complete=False``
    marks an interrupted run (``history`` and ``diff`` say so). ``spool`` holds the run's
    findings already serialized (``ad audit``: never all in memory at once); ``findings``
    is then empty.
    """
    if no_store or os.environ.get(ENV_NO_STORE, "") not in ("", "0"):
        return None
    finished = utc_now()
    run = Run(
        id=new_run_id(),
        kind=kind,
        started=started or finished,
        finished=finished,
        tool_version=__version__,
        argv=redact_argv(argv),
        records=tuple(records),
        findings=tuple(findings),
        complete=complete,
    )
    from smbsign.store import record_run  # SQLAlchemy loads only when a run is recorded

    try:
        stored = record_run(run, db_url, spool=spool)
    except SmbsignError as exc:
        sys.stderr.write(f"smbsign: warning: run not recorded: {clean(exc)}\n")
        return None
    if not quiet:
        sys.stderr.write(
            f"smbsign: recorded {'' if complete else 'incomplete '}{kind} run {stored.id} "
            f"(#{stored.seq}); "
            f"render it with: smbsign report {stored.id} --format html -o report.html\n"
        )
    return stored


# ----------------------------------------------------------------------- helpers


def _catalog() -> CatalogLike:
    """The packaged control catalog (titles, weights, desired state, framework mappings)."""
    return load_catalog()


def _emit(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        write_atomic(output, data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}", EXIT_USAGE)


def _kind(kind: KindChoice | None) -> RunKind | None:
    if kind is None:
        return None
    return "scan" if kind is KindChoice.SCAN else "audit"


# ---------------------------------------------------------------------- commands


def history(
    db: DbOption = None,
    kind: Annotated[KindChoice | None, typer.Option(help="Only runs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="How many runs, newest first.")] = 20,
    fmt: Annotated[HistoryFormat | None, format_option("Default table.")] = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """List recorded scan and audit runs, newest first."""
    _ = quiet  # nothing but the list is written
    from smbsign.store import list_runs, redact_url, resolve_url

    runs = list_runs(db, limit=limit, kind=_kind(kind))
    store = redact_url(resolve_url(db))
    name = pick_format(fmt, output, Kind.HISTORY, "table")
    _emit(render_document(name, Kind.HISTORY, History(store, tuple(runs))), output)


def diff(
    run_a: Annotated[
        str, typer.Argument(help="Older run: id, id prefix, number, latest, previous.")
    ],
    run_b: Annotated[str, typer.Argument(help="Newer run (same forms).")],
    db: DbOption = None,
    kind: Annotated[
        KindChoice | None,
        typer.Option(
            help="Resolve latest/previous among runs of this kind (default: the kind of the "
            "run named by id or number, else of the newest run)."
        ),
    ] = None,
    fmt: Annotated[DiffFormat | None, format_option("Default table (-o: by suffix).")] = None,
    output: OutputOption = None,
    quiet: QuietOption = False,
) -> None:
    """Show hosts and controls that regressed, were fixed, appeared or vanished (exit 1: worse).

    Both runs are of one kind (scan or audit); runs of different kinds are a usage error.
    """
    from smbsign.store import load_pair

    a, b = load_pair(db, run_a, run_b, kind=_kind(kind))
    d = diff_runs(a, b)
    _ = quiet  # nothing but the diff is written; warnings are always printed
    warning = d.incomplete_warning()
    if warning:
        sys.stderr.write(f"smbsign: warning: {warning}\n")
    _emit(render_document(pick_format(fmt, output, Kind.DIFF, "table"), Kind.DIFF, d), output)
    if d.worse:
        raise typer.Exit(EXIT_FINDINGS)


def report(
    run_ref: Annotated[
        str, typer.Argument(metavar="RUN", help="id, id prefix, number, latest, previous.")
    ],
    fmt: Annotated[
        ReportFormat | None, format_option("Default table (-o: by suffix); html is one file.")
    ] = None,
    output: OutputOption = None,
    framework: Annotated[
        str | None,
        typer.Option(help="Compliance view: each requirement of this framework (id or name)."),
    ] = None,
    db: DbOption = None,
    trend_runs: Annotated[
        int, typer.Option("--trend", min=0, max=200, help="Earlier runs in the HTML trend chart.")
    ] = 20,
    quiet: QuietOption = False,
) -> None:
    """Render a stored run in any format (html is one self-contained file)."""
    from smbsign.store import load_run, trend

    _ = quiet  # nothing but the report is written
    name = pick_format(fmt, output, Kind.RUN, "table")
    run = load_run(db, run_ref)
    if framework is not None:
        renderer = COMPLIANCE_FORMATS.get(name)
        if renderer is None:
            raise UsageError(
                f"--framework works with --format {', '.join(COMPLIANCE_FORMATS)}, not {name}"
            )
        catalog = _catalog()
        fw = find_framework(catalog, framework)
        if fw is None:
            known = ", ".join(sorted(catalog.frameworks)) or "none"
            raise UsageError(f"unknown framework {framework!r} (known: {known})")
        _emit(renderer(run, fw, catalog), output)
        return
    history_points: list[RunInfo] = []
    if name == "html" and trend_runs and run.seq is not None:
        history_points = trend(db, upto_seq=run.seq, kind=run.kind, limit=trend_runs + 1)
    _emit(FORMATS[name](run, _catalog(), trend=history_points), output)


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("history", epilog=HISTORY_EPILOG)(history)
    app.command("diff", epilog=DIFF_EPILOG)(diff)
    app.command("report", epilog=REPORT_EPILOG)(report)

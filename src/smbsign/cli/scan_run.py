"""Running a planned ``smbsign scan``: the probe loop, its outputs (the one output stack,
:mod:`smbsign.output`), the progress bar and the summary on stderr (docs/scan.md).

Every output is a :class:`smbsign.output.base.Writer`: begun before the first record, given
each record as it completes, ended in every case (also on Ctrl-C, SIGTERM, a closed pipe or a
write error), so partial outputs stay valid files.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
from collections.abc import AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smbsign.cli import scan_ldap
from smbsign.cli._common import EXIT_RUNTIME, EXIT_USAGE, write_atomic
from smbsign.cli.import_cmd import record_shard
from smbsign.cli.report_cmd import record_cli_run
from smbsign.errors import UsageError
from smbsign.model import ScanRecord, ScanStatus
from smbsign.output.base import Kind, Meta, Options, Writer
from smbsign.output.registry import open_writer
from smbsign.output.summary import EXIT_UNDETERMINED, Tally
from smbsign.run import redact_argv, utc_now
from smbsign.scan.runner import Probe, RunOptions, is_dead, make_resolver, run_scan
from smbsign.scan.shardfile import Fleet, ShardWriter
from smbsign.scan.sweep_classify import classify
from smbsign.scan.sweep_fork import start_sweep
from smbsign.scan.sweep_result import SweepError, SweepOptions, SweepResult
from smbsign.scan.targets import Target, TargetSource
from smbsign.textutil import plural

DNS_THREADS = 32  # host-name lookups in flight at once
EXIT_BROKEN_PIPE = 141  # stdout closed by the reader (128 + SIGPIPE, as a shell reports it)
EXIT_INTERRUPTED = 130
LARGE_SCAN = 1 << 16  # more targets than a /16 need --force or a yes on a terminal


class RelayFormat(StrEnum):
    PLAIN = "plain"
    NTLMRELAYX = "ntlmrelayx"


@dataclass(slots=True)
class _BadLines:
    """Bad stdin lines: each reported on one line as it is met, then counted for the exit."""

    count: int = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        sys.stderr.write(f"smbsign: error: {message}\n")


def estimate_seconds(
    count: int, *, ports: int, concurrency: int, rate: float | None, connect_timeout: float
) -> float:
    """Worst-case duration: every address silent, so each port costs a full connect timeout.

    Probes run ``concurrency`` at a time, and ``--rate`` caps how many start per second.
    """
    probes = count * ports
    seconds = probes * connect_timeout / concurrency
    return max(seconds, probes / rate) if rate else seconds


def human_duration(seconds: float) -> str:
    """``"8 min 32 s"``, ``"3 h 5 min"``, ``"168 d 9 h"``: the two largest units, rounded."""
    total = max(1, round(seconds))
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    for i, (name, size) in enumerate(units[:-1]):
        if total >= size:
            sub_name, sub_size = units[i + 1]
            major, rest = divmod(total, size)
            minor = round(rest / sub_size)
            if minor * sub_size >= size:
                major, minor = major + 1, 0
            return f"{major} {name} {minor} {sub_name}" if minor else f"{major} {name}"
    return f"{total} s"


def _guard_size(total: int, force: bool, estimate: str) -> None:
    """A set above a /16 needs --force, or a yes on a terminal; the estimate comes first."""
    if force or total <= LARGE_SCAN:
        return
    what = (
        f"{total:,} targets, more than a /16 ({LARGE_SCAN:,}); up to about {estimate} "
        "if every address is silent"
    )
    terminal = sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty()
    if not terminal:
        raise UsageError(f"{what}: give --force to scan them")
    sys.stderr.write(f"smbsign: {what}\n")
    # The prompt and the echo of the answer go to stderr: stdout carries the records
    # (typer's confirm echoes through input() on stdout; click is not a dependency).
    sys.stderr.write(f"Scan {total:,} targets? [y/N]: ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (KeyboardInterrupt, EOFError):
        answer = ""
    confirmed = answer.strip().lower() in ("y", "yes")
    if not confirmed:
        raise UsageError("not confirmed; nothing was probed")


def _closed_std_streams(output: Path | None) -> None:
    """Started with stdout or stderr closed (cron, ``>&-``): Python leaves them None.

    stderr then goes nowhere; records need -o when stdout is closed.
    """
    if sys.stderr is None:
        sys.stderr = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        if output is None:
            raise UsageError("standard output is closed: give -o FILE for the records")
        sys.stdout = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115


def _check_writable(path: Path, what: str) -> None:
    parent = path.parent if str(path.parent) else Path()
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write {what} {str(path)!r}")


def _open_output(path: Path | None) -> TextIO:
    if path is None:
        return sys.stdout
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def _write_error(exc: OSError) -> int:
    sys.stderr.write(f"smbsign: error: cannot write output: {exc.strerror or exc}\n")
    return EXIT_RUNTIME


def _progress(total: int | None) -> tuple[Progress, Callable[[], None], Callable[[str], None]]:
    progress = Progress(
        TextColumn("[bold]scan"),
        BarColumn(),
        MofNCompleteColumn() if total is not None else TextColumn("{task.completed} done"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("", total=total)
    return (
        progress,
        lambda: progress.advance(task),
        lambda text: progress.update(task, description=text),
    )


async def _drive(
    plan: _Plan, on_record: Callable[[ScanRecord], None], on_target: Callable[[], None]
) -> None:
    """The scan on the loop; SIGTERM cancels it like Ctrl-C so outputs still get closed."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    dns = ThreadPoolExecutor(DNS_THREADS, thread_name_prefix="smbsign-dns")
    targets: AsyncIterable[Target] | TargetSource = plan.source
    sweeping: asyncio.Task[SweepResult] | None = None
    try:
        if plan.sweep is not None:  # records are written behind the sweep, as it goes
            sweep = start_sweep(plan.sweep, loop)
            sweeping = asyncio.create_task(sweep.run(lambda: iter(plan.source)))
            targets = classify(
                plan.source,
                sweep,
                all_ports=plan.opts.all_ports,
                emit=on_record,
                on_target=on_target,
            )
        await run_scan(
            targets,
            plan.probe,
            on_record,
            plan.opts,
            resolve=make_resolver(dns),
            excluded=plan.source.exclusions.excludes_text,
            on_target=on_target,
        )
        if sweeping is not None:
            await sweeping  # done by now (classify waited for it); raises what it raised
    finally:
        if sweeping is not None and not sweeping.done():
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
        dns.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class _Plan:
    source: TargetSource
    probe: Probe
    opts: RunOptions
    fmt: str  # a name in smbsign.output.registry that carries scan records
    output: Path | None
    relay_list: Path | None
    relay_format: RelayFormat
    total: int | None
    progress: bool
    quiet: bool
    db: str | None = None
    no_store: bool = False
    started: datetime | None = None
    bad_lines: _BadLines = field(default_factory=_BadLines)
    # Records kept for the history store: only hosts that answered (docs/report.md), so
    # memory grows with the number of SMB hosts, never with the size of the range.
    answered: list[ScanRecord] = field(default_factory=list)
    sweep: SweepOptions | None = None  # a SYN sweep first; only responders are probed
    ldap: scan_ldap.LdapPlan = field(default_factory=lambda: scan_ldap.LdapPlan(("smb",)))
    fleet: Fleet | None = None  # --shard/--run-id: JSONL framed by shard lines (docs/fleet.md)


def _same_terminal() -> bool:
    """stdout and stderr are one terminal (the progress bar and the table share its lines)."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
    return sys.stdout.isatty() and sys.stderr.isatty() and out.st_rdev == err.st_rdev


def _writers(plan: _Plan, fh: TextIO, live: Console | None) -> list[Writer]:
    """The chosen format on fh; plus the table on a terminal when records go to a file.

    ``live`` is the progress bar's console when it shares the terminal with the table: rows
    then go through it, so rich prints them above the bar instead of after it on its line.
    """
    terminal = live if live is not None and _same_terminal() else None
    console = terminal or Console() if plan.output is None else None
    writers = [
        open_writer(plan.fmt, Kind.RECORDS, fh, Options(console=console, ldap=plan.ldap.ldap))
    ]
    if plan.fleet is not None:
        writers[0] = ShardWriter(writers[0], fh, plan.fleet)
    if plan.output is not None and not plan.quiet and sys.stdout.isatty():
        table = Options(console=terminal or Console())
        writers.append(open_writer("table", Kind.RECORDS, sys.stdout, table))
    meta = Meta(
        run_kind="scan",
        started=plan.started or utc_now(),
        argv=redact_argv(["smbsign", *sys.argv[1:]]),
    )
    for writer in writers:
        writer.begin(meta)
    return writers


def _run(plan: _Plan) -> int:
    """Scan, stream records to every writer, always close outputs; return the exit code."""
    tally = Tally()
    fh = _open_output(plan.output)
    code = _scan_into(plan, fh, tally)
    complete = code is None  # every target probed (not interrupted, no pipe or write error)
    try:
        if plan.output is not None:
            fh.close()
        if plan.relay_list is not None:
            data = scan_ldap.relay_bytes(tally, plan.relay_format.value, plan.ldap)
            write_atomic(plan.relay_list, data)
    except OSError as exc:
        code = code or _write_error(exc)
    final = tally.exit_code() if code is None else code
    if not plan.quiet:
        _report(tally, final, plan.relay_list)
        scan_ldap.report_lines(tally, plan.ldap, plan.relay_format.value, plan.relay_list)
    if code not in (EXIT_USAGE,) and plan.fleet is not None:
        record_shard(plan.fleet, plan.answered, plan.started, complete, plan.db, plan.no_store)
    elif code not in (EXIT_USAGE,):
        record_cli_run(
            "scan",
            sys.argv,
            records=plan.answered,
            db_url=plan.db,
            started=plan.started,
            no_store=plan.no_store,
            quiet=plan.quiet,
            complete=complete,
        )
    return final


def _scan_into(plan: _Plan, fh: TextIO, tally: Tally) -> int | None:
    """Run the scan into the writers; None when it completed, else the exit code."""
    code: int | None = None
    progress, advance, describe = _progress(plan.total) if plan.progress else (None,) * 3
    writers = _writers(plan, fh, progress.console if progress is not None else None)

    def on_record(rec: ScanRecord) -> None:
        tally.add(rec)
        if not plan.no_store and not is_dead(rec):
            plan.answered.append(rec)
        for writer in writers:
            writer.add(rec)
        if describe is not None and rec.status is ScanStatus.OK:
            describe(f"{tally.not_required} not required / {tally.statuses['ok']} SMB")

    def on_target() -> None:
        tally.targets += 1
        if advance is not None:
            advance()

    try:
        with progress if progress is not None else contextlib.nullcontext():
            asyncio.run(_drive(plan, on_record, on_target))
    except (KeyboardInterrupt, asyncio.CancelledError):
        code = EXIT_INTERRUPTED
    except UsageError as exc:  # stdin unreadable or not text, found mid-scan
        sys.stderr.write(f"smbsign: error: {exc}\n")
        code = EXIT_USAGE
    except SweepError as exc:  # records so far stay valid; the rest was never decided
        sys.stderr.write(f"smbsign: error: {exc}\n")
        code = EXIT_RUNTIME
    except BrokenPipeError:  # `smbsign scan ... | head`: stop quietly
        _silence_stdout()
        code = EXIT_BROKEN_PIPE
    except OSError as exc:  # the output file could not be written (disk full, ...)
        code = _write_error(exc)
    if code is None and plan.bad_lines.count:
        code = EXIT_USAGE  # every valid line was probed, but the input was not all valid
    elif code is None and tally.targets == 0:
        sys.stderr.write("smbsign: error: no targets: stdin named none (or all were excluded)\n")
        code = EXIT_USAGE
    summary = tally.summary(complete=code is None)
    for writer in writers:
        try:
            writer.end(summary)
        except BrokenPipeError:
            _silence_stdout()
            code = code or EXIT_BROKEN_PIPE
        except OSError as exc:
            code = code or _write_error(exc)
    return code


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _report(tally: Tally, code: int, relay_list: Path | None) -> None:
    sys.stderr.write(f"smbsign: {tally.summary_line()}\n")
    if code in (EXIT_INTERRUPTED, EXIT_BROKEN_PIPE):
        sys.stderr.write("smbsign: interrupted; outputs hold the records so far\n")
    elif code == EXIT_UNDETERMINED:
        hosts = plural(tally.unknown, "SMB host")
        if tally.ldap_undetermined:  # --protocols ldap/ldaps (docs/scan.md "Exit codes")
            hosts += f" and {plural(tally.ldap_undetermined, 'LDAP server')}"
        sys.stderr.write(f"smbsign: {hosts} could not be checked (exit 3)\n")
    elif tally.statuses["ok"] == 0 and tally.unknown == 0:
        sys.stderr.write("smbsign: no SMB server answered\n")
    if relay_list is not None:
        sys.stderr.write(
            f"smbsign: relay list: {plural(len(tally.relay), 'host')} in {relay_list}\n"
        )

"""`smbsign scan`: probe hosts for SMB signing without credentials (docs/scan.md).

Exit codes (public interface): 0 every SMB host that answered requires signing (also when
none answered), 1 at least one provably does not, 2 usage error (also: no targets at all, a
bad stdin line, a target set above a /16 without --force), 3 none proven "not
required" but at least one SMB host could not be determined (never guessed as safe) or an
output could not be written, 130 interrupted, 141 stdout closed by its reader (partial
outputs are still valid files).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import resource
import signal
import sys
from collections.abc import AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smbsign.cli import scan_ldap
from smbsign.cli._common import EXIT_RUNTIME, EXIT_USAGE, write_atomic
from smbsign.cli.report_cmd import DbOption, NoStoreOption, record_cli_run
from smbsign.errors import UsageError
from smbsign.model import ScanRecord, ScanStatus
from smbsign.scan.output import (
    EXIT_UNDETERMINED,
    RecordWriter,
    Tally,
    make_writer,
)
from smbsign.scan.prober import ProbeOptions, probe_port
from smbsign.scan.runner import Probe, RunOptions, is_dead, make_resolver, run_scan
from smbsign.scan.sweep import (
    SWEEP_THRESHOLD,
    Sweep,
    SweepError,
    SweepOptions,
    SweepResult,
    classify,
    raw_sockets_allowed,
)
from smbsign.scan.targets import Target, TargetSource, load_exclusions
from smbsign.textutil import is_decimal, plural

FD_HEADROOM = 64  # files, pipes and the resolver next to the sockets
SOCKETS_PER_PROBE = 2
DNS_THREADS = 32  # host-name lookups in flight at once
EXIT_BROKEN_PIPE = 141  # stdout closed by the reader (128 + SIGPIPE, as a shell reports it)
EXIT_INTERRUPTED = 130
LARGE_SCAN = 1 << 16  # more targets than a /16 need --force or a yes on a terminal
# --concurrency when not given: what the open-file limit allows, at most this many. A dead
# address costs a connect (~200 us of CPU) per connect timeout, so 1,024 in flight start ~512
# connects a second; at 4,096 a loaded 2-core lab machine fell behind and reported 128 of 191
# live hosts "filtered" (their SYN-ACK waited in the loop past the timeout; docs/lab.md).
MAX_DEFAULT_CONCURRENCY = 1024
DEFAULT_SWEEP_RATE = 20_000.0  # SYNs a second when --rate is not given (docs/scan.md "Sweep")


EPILOG = (
    "Exit codes: 0 every SMB host that answered requires signing; 1 at least one does not "
    "(listed by --relay-list); 2 usage error; 3 some SMB host could not be determined and "
    "none was proven not to require signing; 130 interrupted. See docs/scan.md."
)


class RelayFormat(StrEnum):
    PLAIN = "plain"
    NTLMRELAYX = "ntlmrelayx"


class SweepMode(StrEnum):
    AUTO = "auto"
    SYN = "syn"
    CONNECT = "connect"


class Format(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"


_BY_SUFFIX = {
    ".json": Format.JSON,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".csv": Format.CSV,
    ".txt": Format.TABLE,
}


def _warn(message: str) -> None:
    sys.stderr.write(f"smbsign: warning: {message}\n")


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
    try:
        confirmed = click.confirm(f"Scan {total:,} targets?", default=False, err=True)
    except click.Abort:
        confirmed = False
    if not confirmed:
        raise UsageError("not confirmed; nothing was probed")


@dataclass(slots=True)
class _BadLines:
    """Bad stdin lines: each reported on one line as it is met, then counted for the exit."""

    count: int = 0

    def __call__(self, message: str) -> None:
        self.count += 1
        sys.stderr.write(f"smbsign: error: {message}\n")


def parse_ports(text: str) -> tuple[int, ...]:
    ports: list[int] = []
    for word in text.split(","):
        if not is_decimal(word.strip()) or not 0 < int(word) < 65536:
            raise UsageError(f"bad --ports {text!r}: give ports 1-65535 separated by commas")
        if int(word) not in ports:
            ports.append(int(word))
    return tuple(ports)


def raise_fd_limit(concurrency: int) -> int:
    """Raise RLIMIT_NOFILE for ``concurrency`` probes; clamp concurrency to the hard limit.

    A probe holds up to two sockets at once (the SMB2 and the SMB1 check run side by side).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = SOCKETS_PER_PROBE * concurrency + FD_HEADROOM
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < need:
            clamped = max(1, (soft - FD_HEADROOM) // SOCKETS_PER_PROBE)
            _warn(f"open-file limit {soft} allows --concurrency {clamped}, not {concurrency}")
            return clamped
    return concurrency


def default_concurrency() -> int:
    """--concurrency when not given: raise the soft open-file limit to the hard one, then as
    many probes as fit in it (two sockets each, :data:`FD_HEADROOM` left over), at most
    :data:`MAX_DEFAULT_CONCURRENCY`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_DEFAULT_CONCURRENCY
    return max(1, min(MAX_DEFAULT_CONCURRENCY, (soft - FD_HEADROOM) // SOCKETS_PER_PROBE))


def choose_sweep(
    mode: SweepMode,
    total: int | None,
    *,
    rate: float | None,
    connect_timeout: float,
    ports: tuple[int, ...],
) -> tuple[SweepOptions | None, str | None]:
    """The SYN sweep to run first, or None; plus a one-line note when auto falls back.

    ``auto`` sweeps a known target set of more than :data:`SWEEP_THRESHOLD` addresses when raw
    sockets may be opened; ``syn`` insists (a usage error when it cannot); ``connect`` never
    sweeps. The sweep waits ``connect_timeout / 2`` after each of its two SYNs, as the
    kernel's connect does with its own retransmission after 1 s of a 2 s connect timeout.
    """
    if mode is SweepMode.CONNECT:
        return None, None
    if mode is SweepMode.AUTO and total is not None and total <= SWEEP_THRESHOLD:
        return None, None  # small sets: the connect scan is as fast, no note
    why: str | None
    if total is None:
        why = "targets come from stdin (-iL -), and the sweep reads the target list twice"
    else:
        why = raw_sockets_allowed()
    if why is not None:
        if mode is SweepMode.SYN:
            raise UsageError(f"--sweep syn: {why}")
        return None, f"--sweep auto: connect scan, no SYN sweep: {why}"
    return SweepOptions(ports, rate or DEFAULT_SWEEP_RATE, connect_timeout / 2), None


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


def _probe(connect_timeout: float, read_timeout: float, smb1_check: bool) -> Probe:
    opts = ProbeOptions(
        connect_timeout=connect_timeout, read_timeout=read_timeout, smb1_check=smb1_check
    )
    return functools.partial(probe_port, opts=opts)


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
            sweep = Sweep(plan.sweep, loop)
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


def scan(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Addresses, CIDRs, ranges (10.0.0.1-50, 10.0.0.1-10.0.1.20) or host names.",
            show_default=False,
        ),
    ] = None,
    input_lists: Annotated[
        list[str] | None,
        typer.Option(
            "-iL",
            "--input-list",
            metavar="FILE",
            help="Target file ('-' = stdin): list, nmap -oX/-oG, masscan -oL/-oG or zmap.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", metavar="SPEC", help="Never probe these addresses or ranges."),
    ] = None,
    exclude_file: Annotated[
        list[Path] | None,
        typer.Option("--exclude-file", metavar="FILE", help="Exclusions, one spec a line."),
    ] = None,
    ports: Annotated[
        str,
        typer.Option("--ports", help="Ports in order; later ones only if earlier ones are dead."),
    ] = "445",
    all_ports: Annotated[
        bool, typer.Option("--all-ports", help="Probe every listed port and report each.")
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            max=65536,
            help="Probes in flight at once (default: what the open-file limit allows, "
            f"at most {MAX_DEFAULT_CONCURRENCY}).",
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            help="At most this many probes started, and SYNs sent, per second "
            f"(SYN sweep default {DEFAULT_SWEEP_RATE:,.0f}).",
        ),
    ] = None,
    sweep: Annotated[
        SweepMode,
        typer.Option(
            "--sweep",
            help=f"auto: SYN pre-sweep of more than {SWEEP_THRESHOLD} targets when raw sockets "
            "are allowed (root or CAP_NET_RAW); syn: always; connect: never.",
        ),
    ] = SweepMode.AUTO,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", help="Seconds to wait for TCP connect.")
    ] = 2.0,
    read_timeout: Annotated[
        float, typer.Option("--read-timeout", help="Seconds to wait for a NEGOTIATE reply.")
    ] = 3.0,
    no_smb1_check: Annotated[
        bool, typer.Option("--no-smb1-check", help="Skip the extra SMB1 probe.")
    ] = False,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            help="Default: table on a terminal, else jsonl (-o: by suffix).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="Write records here instead of stdout."
        ),
    ] = None,
    relay_list: Annotated[
        Path | None,
        typer.Option(
            "--relay-list",
            metavar="FILE",
            help="Hosts not requiring signing, one a line (rewritten).",
        ),
    ] = None,
    relay_format: Annotated[
        RelayFormat | None,
        typer.Option(
            "--relay-format",
            help="plain (default): IPv6 without brackets; ntlmrelayx: IPv6 in brackets for -tf.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Scan more than a /16 without asking."),
    ] = False,
    protocols: scan_ldap.ProtocolsOption = "smb",
    user: scan_ldap.UserOption = None,
    password_file: scan_ldap.PasswordFileOption = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only the records.")] = False,
    db: DbOption = None,
    no_store: NoStoreOption = False,
) -> None:
    """Check SMB signing on hosts over the network, without credentials."""
    started = datetime.now(UTC)
    _closed_std_streams(output)
    port_list = parse_ports(ports)
    for name, value in (
        ("--connect-timeout", connect_timeout),
        ("--read-timeout", read_timeout),
        ("--rate", rate if rate is not None else 1.0),
    ):
        if not 0 < value < 1e6:
            raise UsageError(f"bad {name} {value}: give a positive number")
    excl = load_exclusions(exclude or (), [str(p) for p in exclude_file or ()])
    stdin = sys.stdin.buffer if sys.stdin is not None else None  # None: started with stdin closed
    bad_lines = _BadLines()
    source = TargetSource(
        targets or (),
        input_lists or (),
        excl,
        stdin=stdin,
        on_bad_line=bad_lines,
        limit=None if force else LARGE_SCAN,
    )
    if not source:
        raise UsageError(
            "no targets: give addresses, ranges, names or -iL FILE "
            "(for the built-in lab run 'smbsign demo')"
        )
    lplan = scan_ldap.ldap_plan(
        protocols, user, password_file, connect_timeout=connect_timeout, read_timeout=read_timeout
    )
    if relay_format is not None and relay_list is None:
        _warn("--relay-format has no effect without --relay-list")
    total = source.prepare()
    if total == 0:
        why = "empty input, or everything excluded"
        if source.skipped:
            why = f"{source.skipped:,} special-purpose addresses skipped; name one on its own"
        raise UsageError(f"no targets left to probe ({why})")
    clamped = default_concurrency() if concurrency is None else raise_fd_limit(concurrency)
    sweep_opts, sweep_note = choose_sweep(
        sweep, total, rate=rate, connect_timeout=connect_timeout, ports=port_list
    )
    if sweep_opts is not None:  # every address silent: two SYNs each, then one wait
        seconds = 2 * source.known * len(port_list) / sweep_opts.rate + connect_timeout
    else:
        seconds = estimate_seconds(
            source.known,
            ports=len(port_list),
            concurrency=clamped,
            rate=rate,
            connect_timeout=connect_timeout,
        )
    _guard_size(source.known, force, human_duration(seconds))
    if source.skipped and not quiet:
        skipped = plural(source.skipped, "special-purpose address", "special-purpose addresses")
        sys.stderr.write(
            f"smbsign: note: {skipped} in the ranges skipped (unspecified, loopback, multicast, "
            "reserved, broadcast; name one on its own to probe it)\n"
        )
    if sweep_note is not None and not quiet:
        sys.stderr.write(f"smbsign: note: {sweep_note}\n")
    if fmt is not None:
        chosen = fmt
    elif output is not None:
        chosen = _BY_SUFFIX.get(output.suffix.lower(), Format.JSONL)
    else:
        chosen = Format.TABLE if sys.stdout.isatty() else Format.JSONL
    if relay_list is not None:
        _check_writable(relay_list, "--relay-list")
    plan = _Plan(
        source=source,
        probe=scan_ldap.wrap_probe(_probe(connect_timeout, read_timeout, not no_smb1_check), lplan),
        opts=RunOptions(port_list, all_ports, clamped, rate),
        fmt=chosen,
        output=output,
        relay_list=relay_list,
        relay_format=relay_format or RelayFormat.PLAIN,
        total=total,
        progress=not (quiet or no_progress) and sys.stderr.isatty(),
        quiet=quiet,
        db=db,
        no_store=no_store,
        started=started,
        bad_lines=bad_lines,
        sweep=sweep_opts,
        ldap=lplan,
    )
    raise typer.Exit(_run(plan))


@dataclass(frozen=True, slots=True)
class _Plan:
    source: TargetSource
    probe: Probe
    opts: RunOptions
    fmt: Format
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


def _same_terminal() -> bool:
    """stdout and stderr are one terminal (the progress bar and the table share its lines)."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
    return sys.stdout.isatty() and sys.stderr.isatty() and out.st_rdev == err.st_rdev


def _writers(plan: _Plan, fh: TextIO, live: Console | None) -> list[RecordWriter]:
    """The chosen format on fh; plus the table on a terminal when records go to a file.

    ``live`` is the progress bar's console when it shares the terminal with the table: rows
    then go through it, so rich prints them above the bar instead of after it on its line.
    """
    terminal = live if live is not None and _same_terminal() else None
    writers = [
        make_writer(
            plan.fmt.value,
            fh,
            console=terminal or Console() if plan.output is None else None,
            ldap=plan.ldap.ldap,
        )
    ]
    if plan.output is not None and not plan.quiet and sys.stdout.isatty():
        writers.append(make_writer("table", sys.stdout, console=terminal or Console()))
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
    if code not in (EXIT_USAGE,):
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
            writer.write(rec)
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
            writer.close(summary)
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
    elif tally.statuses["ok"] == 0 and tally.unknown == 0:
        sys.stderr.write("smbsign: no SMB server answered\n")
    elif code == EXIT_UNDETERMINED:
        hosts = plural(tally.unknown, "SMB host")
        sys.stderr.write(f"smbsign: {hosts} could not be checked (exit 3)\n")
    if relay_list is not None:
        sys.stderr.write(
            f"smbsign: relay list: {plural(len(tally.relay), 'host')} in {relay_list}\n"
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("scan", epilog=EPILOG)(scan)

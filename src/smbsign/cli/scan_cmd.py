"""`smbsign scan`: probe hosts for SMB signing without credentials (docs/scan.md).

Exit codes (public interface): 0 every SMB host that answered requires signing (also when
none answered), 1 at least one provably does not, 2 usage error (also: no targets at all, a
bad stdin line, a target set above a /16 without --force), 3 none proven "not
required" but at least one SMB host could not be determined (never guessed as safe) or an
output could not be written, 130 interrupted, 141 stdout closed by its reader (partial
outputs are still valid files).
"""

from __future__ import annotations

import functools
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smbsign.cli import scan_ldap
from smbsign.cli._output import format_choices, format_option, pick_format
from smbsign.cli.report_cmd import DbOption, NoStoreOption
from smbsign.cli.scan_options import (
    DEFAULT_SWEEP_RATE,
    MAX_DEFAULT_CONCURRENCY,
    SweepMode,
    _warn,
    choose_sweep,
    default_concurrency,
    parse_ports,
    raise_fd_limit,
)
from smbsign.cli.scan_run import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    LARGE_SCAN,
    RelayFormat,
    _BadLines,
    _check_writable,
    _closed_std_streams,
    _guard_size,
    _Plan,
    _run,
    estimate_seconds,
    human_duration,
)
from smbsign.errors import UsageError
from smbsign.output.base import Kind
from smbsign.scan.prober import ProbeOptions, probe_port
from smbsign.scan.runner import Probe, RunOptions
from smbsign.scan.shardfile import fleet_of
from smbsign.scan.sweep import SWEEP_THRESHOLD
from smbsign.scan.targets import TargetSource, load_exclusions
from smbsign.textutil import plural

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "LARGE_SCAN",
    "estimate_seconds",
    "human_duration",
    "register",
    "scan",
]


if TYPE_CHECKING:
    RecordFormat = StrEnum
else:  # -f choices: the formats of the one registry that carry scan records
    RecordFormat = format_choices(Kind.RECORDS)

EPILOG = (
    "Exit codes: 0 every SMB host that answered requires signing; 1 at least one does not "
    "(listed by --relay-list); 2 usage error; 3 some SMB host could not be determined and "
    "none was proven not to require signing; 130 interrupted. See docs/scan.md."
)


def _probe(connect_timeout: float, read_timeout: float, smb1_check: bool) -> Probe:
    opts = ProbeOptions(
        connect_timeout=connect_timeout, read_timeout=read_timeout, smb1_check=smb1_check
    )
    return functools.partial(probe_port, opts=opts)


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
        RecordFormat | None,
        format_option(
            "Default: table on a terminal, else jsonl (-o: by suffix). table, jsonl, json "
            "and csv stream; the others are written when the scan ends.",
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
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Scan only shard I of N of the targets (dealt by address; needs --run-id; "
            "docs/fleet.md).",
        ),
    ] = None,
    part: Annotated[
        str | None,
        typer.Option(
            "--part",
            metavar="I/N",
            help="This scan is part I of N of the fleet run, its targets taken as given (one "
            "network zone each; needs --run-id).",
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            metavar="ID",
            help="The fleet run this shard belongs to (JSONL only; smbsign import merges them).",
        ),
    ] = None,
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
    fleet = fleet_of(shard, run_id, part)
    source = TargetSource(
        targets or (),
        input_lists or (),
        excl,
        stdin=stdin,
        on_bad_line=bad_lines,
        limit=None if force else LARGE_SCAN,
        shard=fleet.shard if fleet is not None and fleet.split else None,
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
    default = "jsonl" if output is not None or not sys.stdout.isatty() else "table"
    chosen = pick_format(fmt, output, Kind.RECORDS, default)
    if fleet is not None and chosen != "jsonl":
        raise UsageError(f"--run-id and --shard write JSONL shard outputs, not {chosen}")
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
        fleet=fleet,
    )
    raise typer.Exit(_run(plan))


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("scan", epilog=EPILOG)(scan)

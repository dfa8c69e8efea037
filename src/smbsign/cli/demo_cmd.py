"""`smbsign demo`: build the built-in lab of real Samba servers, scan it, show, tear down.

The lab (``smbsign.lab``, docs/lab.md) runs every Samba server in its own network
namespace; the scan is the real ``smbsign scan`` started inside the lab's client namespace,
so nothing leaves the machine. Each result is shown next to the ground truth derived from
that server's smb.conf. Exit codes: 0 every verdict matches the ground truth, 1 some do not,
3 the lab could not be built (for example: not root).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from smbsign.cli._common import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    exit_epilog,
    fail,
    write_atomic,
)
from smbsign.errors import LabError
from smbsign.lab.check import ScanRun, compare, expected_fields, scan_in_lab, verdict_label
from smbsign.lab.hosts import GroundTruth
from smbsign.lab.lab import Lab, cleanup_stale, lab_unavailable_reason, smbsign_argv
from smbsign.output.relay import relay_list_bytes
from smbsign.textutil import plural

DEMO_PORTS = (445, 139)
KEEP_MAX_SECONDS = 3600


class DemoFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Row:
    host: str
    target: str
    truth: GroundTruth
    record: dict[str, Any] | None

    @property
    def problems(self) -> list[str]:
        if self.record is None:
            return ["no record for this target"]
        return compare(self.record, self.truth)


def _targets(lab: Lab) -> list[tuple[str, str]]:
    """(host, target): every host by IPv4, plus one ULA and one link-local IPv6 target."""
    pairs = [(h.name, lab.address(h.name)) for h in lab.hosts]
    pairs.append(("mandatory", lab.addresses("mandatory").ipv6))
    pairs.append(("smb1-auto", lab.link_local_target("smb1-auto")))
    return pairs


def _rows(lab: Lab, run: ScanRun) -> list[Row]:
    records = run.by_target()
    return [
        Row(host, target, lab.truth(host, DEMO_PORTS), records.get(target))
        for host, target in _targets(lab)
    ]


def _mode(value: Any) -> str:
    return f"0x{value:02x}" if isinstance(value, int) else "-"


def _smb1_text(rec: dict[str, Any]) -> str:
    smb1 = rec.get("smb1") or {}
    if rec.get("status") != "ok" or smb1.get("offered") is None:
        return "-"
    return _mode(smb1.get("security_mode")) if smb1["offered"] else "off"


def _show_table(
    console: Console, rows: list[Row], run: ScanRun, relay_path: Path, timings: dict[str, float]
) -> None:
    table = Table(title="smbsign demo: real Samba 4.17 servers in network namespaces")
    for col in (
        "lab host",
        "target",
        "port",
        "smbsign verdict",
        "SMB2 mode/dialect",
        "SMB1",
        "expected (smb.conf)",
        "ok",
    ):
        table.add_column(col)
    for row in rows:
        rec = row.record or {}
        smb2 = rec.get("smb2") or {}
        smb2_text = f"{_mode(smb2.get('security_mode'))} {smb2.get('dialect')}" if smb2 else "-"
        table.add_row(
            row.host,
            row.target,
            str(rec.get("port", "-")),
            verdict_label(rec) if rec else "(missing)",
            smb2_text,
            _smb1_text(rec),
            row.truth.expected_label,
            "[green]✓[/]" if not row.problems else "[red]✗[/]",
        )
    console.print(table)
    for row in rows:
        for problem in row.problems:
            console.print(f"[red]✗ {row.host} {row.target}: {problem}[/]")
    matched = sum(1 for r in rows if not r.problems)
    console.print(
        f"{matched}/{len(rows)} results match the ground truth. "
        f"Lab built in {timings['build']:.1f} s, scan {timings['scan']:.1f} s "
        f"(smbsign scan exit code {run.returncode})."
    )
    console.print(f"\nRelay list ({plural(len(run.relay_list), 'host')}, {relay_path}):")
    for line in run.relay_list:
        console.print(f"  {line}")


def _json_doc(lab: Lab, rows: list[Row], run: ScanRun, relay_path: Path) -> dict[str, Any]:
    return {
        "kind": "smbsign.demo",
        "lab": {"run_id": lab.run_id, "client_namespace": lab.client_ns},
        "scan_argv": list(run.argv[1:]),
        "scan_exit_code": run.returncode,
        "all_match": all(not r.problems for r in rows),
        "rows": [
            {
                "host": r.host,
                "target": r.target,
                "expected": expected_fields(r.truth),
                "record": r.record,
                "match": not r.problems,
                "problems": r.problems,
            }
            for r in rows
        ],
        "relay_list": list(run.relay_list),
        "relay_list_file": str(relay_path),
    }


def _keep(console: Console, lab: Lab, seconds: int) -> None:
    console.print(
        f"\nLab kept running for up to {seconds} s (Ctrl-C to tear down). Try:\n"
        f"  sudo ip netns exec {lab.client_ns} {' '.join(smbsign_argv())} scan "
        f"{lab.address('default')}\n"
        f"  sudo ip netns list | grep {lab.run_id}"
    )
    deadline = time.monotonic() + seconds
    with contextlib.suppress(KeyboardInterrupt):
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


EPILOG = exit_epilog(
    (EXIT_OK, "every lab host's verdict is as built"),
    (EXIT_FINDINGS, "some verdict differs from how the lab was built"),
    (EXIT_RUNTIME, "the lab cannot start here (needs root and network namespaces)"),
    EXIT_INTERRUPTED,
)


def demo(
    fmt: Annotated[
        DemoFormat, typer.Option("--format", "-f", help="table (default) or json.")
    ] = DemoFormat.TABLE,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help=f"Keep the lab up after the scan (Ctrl-C, at most {KEEP_MAX_SECONDS} s)."
        ),
    ] = False,
    cleanup: Annotated[
        bool,
        typer.Option("--cleanup", help="Only remove lab leftovers of killed runs, then exit."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No progress lines on stderr.")
    ] = False,
) -> None:
    """Start a built-in lab of real Samba servers, scan it, show the results, tear it down."""
    reason = lab_unavailable_reason()
    if reason:
        fail(f"demo: {reason}", EXIT_RUNTIME)
    console = Console()
    if not console.is_terminal:
        console = Console(width=132)
    if cleanup:
        removed = cleanup_stale()
        console.print(
            f"removed {len(removed)} lab leftovers" + "".join(f"\n  {r}" for r in removed)
        )
        raise typer.Exit(EXIT_OK)
    err = Console(stderr=True)
    try:
        t0 = time.monotonic()
        with Lab() as lab:
            t1 = time.monotonic()
            if fmt is DemoFormat.TABLE and not quiet:
                err.print(
                    f"[dim]lab {lab.run_id}: {plural(len(lab.hosts), 'host')} up; scanning from "
                    f"namespace {lab.client_ns} ...[/]"
                )
            run = scan_in_lab(
                lab, [t for _, t in _targets(lab)], ports=DEMO_PORTS, extra=("-q", "--no-store")
            )
            timings = {"build": t1 - t0, "scan": time.monotonic() - t1}
            rows = _rows(lab, run)
            fd, name = tempfile.mkstemp(prefix="smbsign-demo-relay-", suffix=".txt")
            os.close(fd)
            relay_path = Path(name)
            write_atomic(relay_path, relay_list_bytes(run.relay_list))
            if fmt is DemoFormat.JSON:
                typer.echo(json.dumps(_json_doc(lab, rows, run, relay_path), indent=2))
            else:
                _show_table(console, rows, run, relay_path, timings)
            if keep:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                _keep(console, lab, KEEP_MAX_SECONDS)
    except LabError as exc:
        fail(f"demo: {exc}", EXIT_RUNTIME)
    except KeyboardInterrupt:  # the with-block has torn the lab down already
        sys.stderr.write("smbsign: demo interrupted; lab torn down\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if fmt is DemoFormat.TABLE and not quiet:
        err.print("[dim]lab torn down.[/]")
    raise typer.Exit(EXIT_OK if all(not r.problems for r in rows) else EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("demo", epilog=EPILOG)(demo)

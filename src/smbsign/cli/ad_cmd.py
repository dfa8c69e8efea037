"""``smbsign ad``: the Active Directory domain view (docs/ad.md), thin over :mod:`smbsign.ad`.

``ad audit`` binds to a domain controller over LDAP (NTLM over SASL, signed and sealed; never a
simple bind), reads the computers, OUs, sites and GPOs, reads each linked GPO's files from
SYSVOL over signed SMB, resolves per computer which GPO decides each SMB signing value
([MS-GPOL] 3.2.5.1) and judges it with the audit engine. ``ad computers`` lists the enabled
computers' DNS names, one a line, for ``smbsign scan -iL``.

The secret comes from ``--password-file``, ``SMBSIGN_PASSWORD``, ``SMBSIGN_NTHASH`` or a
prompt, exactly as for ``audit --remote``; never from the command line.

Exit codes (as ``audit``): 0 every finding passes or is not applicable, 1 at least one
``fail``, ``unknown`` or ``error``, 2 usage error, 3 the directory or SYSVOL could not be read.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from smbsign.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    fail,
    write_atomic,
)
from smbsign.cli._output import QuietOption, pick_format
from smbsign.cli.report_cmd import DbOption, NoStoreOption, record_cli_run
from smbsign.errors import SmbsignError, UsageError
from smbsign.model import Finding, Status
from smbsign.output.base import Kind, Meta
from smbsign.output.registry import choice
from smbsign.runspool import FindingSpool

if TYPE_CHECKING:
    from smbsign.ad.ldap import LdapDirectory
    from smbsign.ad.sysvol import FileReader
    from smbsign.ad.view import HostResult
    from smbsign.ad.wire import ScanSettings
    from smbsign.collect.winreg_remote import Credentials
    from smbsign.engine.types import CatalogLike

FORMATS_HELP = f"One of {choice(Kind.FINDINGS)} (default table; jsonl streams, one finding a line)."

DcOption = Annotated[
    str,
    typer.Option("--dc", metavar="ADDRESS", help="Domain controller to read (name or address)."),
]
UserOption = Annotated[
    str,
    typer.Option("--user", metavar="NAME", help="Low-privilege domain account: [DOMAIN\\]user."),
]
DomainOption = Annotated[
    str | None,
    typer.Option("--domain", metavar="NAME", help="Domain of --user when NAME has none."),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="File whose first line is the password (else SMBSIGN_PASSWORD, SMBSIGN_NTHASH "
        "or a prompt).",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=1.0, max=600.0, help="Seconds per LDAP/SMB exchange."),
]


def _creds(user: str, domain: str | None, password_file: Path | None, what: str) -> Credentials:
    from smbsign.cli.audit_remote import credentials

    creds = credentials(user, password_file, purpose=what)
    if domain is not None:
        if not domain.strip() or not domain.isprintable():
            raise UsageError("--domain needs a domain name")
        if not creds.domain:
            creds = replace(creds, domain=domain.strip())
    return creds


def _open(dc: str, creds: Credentials, timeout: float) -> LdapDirectory:
    from smbsign.ad.ldap import LdapDirectory

    if not dc.strip() or not dc.isprintable() or any(c.isspace() for c in dc):
        raise UsageError("--dc needs a host name or address")
    return LdapDirectory(dc.strip(), creds, timeout=timeout)


def _pick_format(fmt: str | None, output: Path | None) -> str:
    return pick_format(fmt, output, Kind.FINDINGS, "table")


def _scan_settings(
    scan: bool, server: str, concurrency: int, explicit: bool
) -> ScanSettings | None:
    if not scan:
        if explicit:
            raise UsageError("--dns-server needs --scan")
        return None
    from smbsign.ad.wire import ScanSettings, dns_server_address

    if not server.strip() or not server.isprintable() or any(c.isspace() for c in server):
        raise UsageError("--dns-server needs a host name or address")
    try:
        address = dns_server_address(server.strip())
    except OSError as exc:
        raise UsageError(str(exc)) from None
    return ScanSettings(address, concurrency=concurrency)


def _note(text: str) -> None:
    sys.stderr.write(f"smbsign: note: {' '.join(text.split())}\n")


def register(app: typer.Typer) -> None:
    """Add ``smbsign ad`` (``audit``, ``computers``) to ``app``."""
    ad = typer.Typer(
        help="Resolve which GPO decides SMB signing for each computer of an AD domain.",
        no_args_is_help=True,
        add_completion=False,
    )
    app.add_typer(ad, name="ad")

    @ad.command("audit")
    def ad_audit(
        dc: DcOption,
        user: UserOption,
        domain: DomainOption = None,
        password_file: PasswordFileOption = None,
        fmt: Annotated[
            str | None, typer.Option("--format", "-f", help=FORMATS_HELP, show_default=False)
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
        ] = None,
        timeout: TimeoutOption = 30.0,
        scan: Annotated[
            bool,
            typer.Option(
                "--scan",
                help="Also probe every computer's SMB server (names resolved through the DC's "
                "DNS): the wire decides, and each finding says whether it drifts from policy.",
            ),
        ] = False,
        dns_server: Annotated[
            str | None,
            typer.Option(
                "--dns-server",
                metavar="ADDRESS",
                help="DNS server for --scan (default: the --dc address).",
            ),
        ] = None,
        concurrency: Annotated[
            int, typer.Option("--concurrency", min=1, max=1024, help="Probes at once (--scan).")
        ] = 64,
        db: DbOption = None,
        no_store: NoStoreOption = False,
        quiet: QuietOption = False,
    ) -> None:
        """Audit SMB signing per computer from the domain's GPOs, as Group Policy applies them.

        Exit codes: 0 all pass, 1 a finding is fail/unknown/error, 2 usage error, 3 the
        directory or SYSVOL could not be read.
        """
        started = datetime.now(UTC)
        try:
            chosen = _pick_format(fmt, output)
            settings = _scan_settings(scan, dns_server or dc, concurrency, dns_server is not None)
            creds = _creds(user, domain, password_file, "ad audit")
            from smbsign.ad.sysvol import SmbSysvol, SysvolError
            from smbsign.catalog import load_catalog

            catalog = load_catalog()
            directory = _open(dc, creds, timeout)
            try:
                reader = SmbSysvol(dc.strip(), creds, timeout=timeout)
            except SysvolError as exc:
                directory.close()
                raise SmbsignError(f"SYSVOL: {exc}") from None
            spool = None if no_store else FindingSpool()
            try:
                passing = _run(
                    directory,
                    reader,
                    catalog,
                    chosen,
                    output,
                    spool=spool,
                    quiet=quiet,
                    scan=settings,
                )
            except BaseException:
                if spool is not None:
                    spool.close()  # the run is not stored: its findings go with it
                raise
            finally:
                directory.close()
                reader.close()
        except UsageError as exc:
            fail(str(exc), EXIT_USAGE)
        except SmbsignError as exc:
            fail(str(exc), EXIT_RUNTIME)
        except OSError as exc:
            fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE)
        from smbsign.output.cells import clean_text

        argv = [clean_text(a) for a in sys.argv]
        try:
            record_cli_run(
                "audit",
                argv,
                db_url=db,
                started=started,
                no_store=no_store,
                quiet=quiet,
                spool=spool,
            )
        finally:
            if spool is not None:
                spool.close()
        raise SystemExit(EXIT_OK if passing else EXIT_FINDINGS)

    @ad.command("computers")
    def ad_computers(
        dc: DcOption,
        user: UserOption,
        domain: DomainOption = None,
        password_file: PasswordFileOption = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
        ] = None,
        timeout: TimeoutOption = 30.0,
    ) -> None:
        """List the domain's enabled computers (dNSHostName, one a line) for `scan -iL`.

        Exit codes: 0 listed, 2 usage error, 3 the directory could not be read.
        """
        try:
            creds = _creds(user, domain, password_file, "ad computers")
            from smbsign.ad.directory import iter_computers, read_domain

            directory = _open(dc, creds, timeout)
            try:
                dom = read_domain(directory)
                names = (f"{c.dns_name}\n" for c in iter_computers(directory, dom))
                if output is None:  # streamed, page by page
                    for line in names:
                        sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    write_atomic(output, "".join(names).encode())
            finally:
                directory.close()
        except UsageError as exc:
            fail(str(exc), EXIT_USAGE)
        except SmbsignError as exc:
            fail(str(exc), EXIT_RUNTIME)
        except OSError as exc:
            fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE)


_PASSING = frozenset({Status.PASS, Status.NOT_APPLICABLE})


def _run(
    directory: LdapDirectory,
    reader: FileReader,
    catalog: CatalogLike,
    fmt: str,
    output: Path | None,
    *,
    spool: FindingSpool | None,
    quiet: bool = False,
    scan: ScanSettings | None = None,
) -> bool:
    """Write the findings finding by finding; when the run is stored each is also added to
    ``spool``, serialized (no ``Finding`` is held past its turn). Returns whether all pass."""
    from smbsign.ad.view import audit_domain
    from smbsign.output.cells import printable
    from smbsign.output.registry import open_writer
    from smbsign.serialize import finding_to_dict, json_line

    snap, results = audit_domain(directory, reader, catalog, scan)
    for n in () if quiet else snap.notes:
        _note(n)
    passing = True
    if fmt == "jsonl":
        tmp = output.with_name(f".{output.name}.partial") if output is not None else None
        sink: IO[bytes] = tmp.open("wb") if tmp is not None else sys.stdout.buffer
        try:
            for f in _findings(results):
                f = printable(f)
                passing = passing and f.status in _PASSING
                sink.write(json_line(finding_to_dict(f)).encode())
                if spool is not None:
                    spool.add(f)
        finally:
            if tmp is not None:
                sink.close()
        if tmp is not None and output is not None:
            tmp.replace(output)
        else:
            sys.stdout.flush()
    else:  # through the format's writer, finding by finding (JSON streams too)
        tmp = output.with_name(f".{output.name}.partial") if output is not None else None
        raw: IO[bytes] = tmp.open("wb") if tmp is not None else sys.stdout.buffer
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
        try:
            writer = open_writer(fmt, Kind.FINDINGS, fh)
            writer.begin(Meta(run_kind="audit"))
            for f in _findings(results):
                f = printable(f)
                passing = passing and f.status in _PASSING
                writer.add(f)
                if spool is not None:
                    spool.add(f)
            writer.end({"complete": True})
            fh.flush()
        finally:
            if tmp is not None:
                fh.close()
            else:
                fh.detach()
        if tmp is not None and output is not None:
            tmp.replace(output)
    for ref in () if quiet else directory.referrals[:5]:
        _note(f"referral not followed: {ref}")
    return passing


def _findings(results: Iterable[HostResult]) -> Iterator[Finding]:
    for r in results:
        yield from r.findings

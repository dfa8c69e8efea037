"""`smbsign audit`: check configuration evidence against the control catalog (docs/audit.md).

The options become one call of the audit core (:class:`smbsign.audit.Auditor` over the
sources :func:`build_sources` names); this module prints its notes, writes the findings and
records the run.

Exit codes (public interface): 0 every applicable control passes on every host (``pass`` or
``not_applicable`` only), 1 at least one finding is ``fail``, ``unknown`` or ``error`` (an
unreadable file or an undeterminable default is never counted as compliant), 2 usage error,
130 interrupted (the hosts judged so far are written and stored as an incomplete run).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smbsign.cli._common import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    exit_epilog,
    fail,
    write_atomic,
)
from smbsign.cli._output import QuietOption
from smbsign.cli._output import pick_format as _pick
from smbsign.cli.audit_options import build_sources, host_facts, select_controls
from smbsign.cli.audit_remote import remote_targets
from smbsign.cli.audit_wazuh import insecure_warning, wazuh_source
from smbsign.cli.report_cmd import DbOption, NoStoreOption, record_cli_run
from smbsign.errors import SmbsignError, UsageError
from smbsign.model import Finding, Status
from smbsign.output.base import Kind, Meta
from smbsign.output.cells import clean_text, printable
from smbsign.output.registry import choice, render_items
from smbsign.run import redact_argv

if TYPE_CHECKING:
    from smbsign.audit import HostResult

_PASSING = frozenset({Status.PASS, Status.NOT_APPLICABLE})


def pick_format(fmt: str | None, output: Path | None) -> str:
    """``--format``, else from the ``-o`` suffix, else ``table`` (any format carrying findings)."""
    return _pick(fmt, output, Kind.FINDINGS, "table")


EPILOG = exit_epilog(
    (EXIT_OK, "every applicable control passes on every host"),
    (EXIT_FINDINGS, "a finding is fail, unknown or error"),
    EXIT_USAGE,
    (EXIT_RUNTIME, "evidence could not be read"),
    (EXIT_INTERRUPTED, "interrupted: the hosts judged so far are written and stored"),
    see="docs/audit.md",
)


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when every finding is ``pass``/``not_applicable``, else 1."""
    return EXIT_OK if all(f.status in _PASSING for f in findings) else EXIT_FINDINGS


def _note(message: str) -> None:
    sys.stderr.write(f"smbsign: note: {' '.join(message.split())}\n")


def run_audit(results: Iterator[HostResult], found: list[Finding]) -> None:
    """Drain the auditor: each host's notes on stderr as it is judged, findings into
    ``found`` (so an interrupted audit keeps what it has)."""
    for result in results:
        for n in result.notes:
            _note(n)
        found.extend(result.findings)


def register(app: typer.Typer) -> None:
    """Add ``smbsign audit`` to ``app``."""

    @app.command("audit", epilog=EPILOG)
    def audit(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(
                help="Evidence files or directories (.reg, GptTmpl.inf, secedit export, "
                "Registry.pol, Get-Smb*Configuration JSON, registry snapshot, smb.conf). "
                "Checklists (Wazuh SCA policy or export, HardeningKitty, Tenable, EDCA) are "
                "reported as such (docs/audit.md).",
                show_default=False,
            ),
        ] = None,
        local: Annotated[
            bool,
            typer.Option(
                "--local", help="Audit this machine (Samba on Linux, registry on Windows)."
            ),
        ] = False,
        host: Annotated[
            str | None, typer.Option("--host", help="Name all evidence after this host.")
        ] = None,
        samba_conf: Annotated[
            Path | None,
            typer.Option(
                "--samba-conf", help="smb.conf for --local (default: where smbd reads it, smbd -b)."
            ),
        ] = None,
        os_family: Annotated[
            str | None, typer.Option("--os-family", help="windows or samba.")
        ] = None,
        os_build: Annotated[
            int | None, typer.Option("--os-build", min=1, help="Windows build, e.g. 26100.")
        ] = None,
        edition: Annotated[
            str | None,
            typer.Option(
                "--edition", help="Windows edition: Enterprise, Professional, Core (Home)..."
            ),
        ] = None,
        role: Annotated[
            str | None,
            typer.Option(
                "--role",
                help="workstation, member_server, domain_controller or standalone.",
            ),
        ] = None,
        smb1_feature: Annotated[
            str | None,
            typer.Option(
                "--smb1-feature",
                help="Windows: is the optional SMB1 component installed? installed or absent "
                "(decides what an absent SMB1 value means).",
            ),
        ] = None,
        want_probe: Annotated[
            bool | None,
            typer.Option(
                "--probe/--no-probe",
                help="Ask the server on the wire (default: on for --local, off for files).",
                show_default=False,
            ),
        ] = None,
        address: Annotated[
            str | None, typer.Option("--address", help="IP address to probe with --probe.")
        ] = None,
        wire: Annotated[
            Path | None,
            typer.Option(
                "--wire",
                help="Records of smbsign scan (--format json or jsonl) as wire evidence; "
                "with --protocols smb,ldap,ldaps they decide the LDAP controls too.",
                show_default=False,
            ),
        ] = None,
        remote: Annotated[
            str | None,
            typer.Option(
                "--remote",
                help="Read the registry of these Windows hosts over SMB (MS-RRP), "
                "comma-separated; needs --user and a password (docs/audit.md).",
                show_default=False,
            ),
        ] = None,
        user: Annotated[
            str | None,
            typer.Option("--user", help="[DOMAIN\\]user for --remote; the API user for --wazuh."),
        ] = None,
        wazuh: Annotated[
            str | None,
            typer.Option(
                "--wazuh",
                help="Read the SCA results of the Windows agents from this Wazuh manager API "
                "(https://HOST:55000); needs --user and a password (docs/wazuh.md).",
                show_default=False,
            ),
        ] = None,
        insecure: Annotated[
            bool,
            typer.Option("--insecure", help="--wazuh: do not verify the manager's certificate."),
        ] = False,
        password_file: Annotated[
            Path | None,
            typer.Option(
                "--password-file",
                help="File whose first line is the --remote password (else SMBSIGN_PASSWORD, "
                "SMBSIGN_NTHASH or a prompt).",
            ),
        ] = None,
        host_per_dir: Annotated[
            bool,
            typer.Option(
                "--host-per-dir",
                help="Each immediate subfolder of a directory argument is one host, named "
                "after the folder (files directly in it are single-file evidence).",
            ),
        ] = False,
        controls: Annotated[
            str | None, typer.Option("--controls", help="Only these control ids (comma-separated).")
        ] = None,
        framework: Annotated[
            str | None, typer.Option("--framework", help="Only the controls of this framework.")
        ] = None,
        fmt: Annotated[
            str | None,
            typer.Option(
                "--format",
                "-f",
                help=f"One of {choice(Kind.FINDINGS)} (default table; -o: by suffix).",
                show_default=False,
            ),
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
        ] = None,
        db: DbOption = None,
        no_store: NoStoreOption = False,
        quiet: QuietOption = False,
    ) -> None:
        """Audit SMB signing settings from evidence files, this machine or remote registries."""
        started = datetime.now(UTC)
        findings: list[Finding] = []
        complete = True
        try:
            chosen = pick_format(fmt, output)
            from smbsign.audit import Auditor
            from smbsign.catalog import load_catalog

            catalog = load_catalog()
            ids = select_controls(catalog, controls, framework)
            wz = wazuh_source(wazuh, user, password_file, insecure, remote=remote)
            targets, creds = (
                remote_targets(remote, user, password_file) if wz is None else ([], None)
            )
            sources = build_sources(
                paths or [],
                local=local,
                host=host,
                samba_conf=samba_conf,
                want_probe=want_probe,
                address=address,
                remote=targets,
                creds=creds,
                host_per_dir=host_per_dir,
                wazuh=wz,
                wire=wire,
            )
            facts = host_facts(os_family, os_build, edition, role, smb1_feature)
            warning = insecure_warning(wz) if wz is not None else None
            if warning:
                sys.stderr.write(warning + "\n")
            try:
                run_audit(Auditor(catalog, controls=ids, facts=facts).audit(sources), findings)
            except KeyboardInterrupt:  # keep (and store) the hosts judged so far
                complete = False
                sys.stderr.write(
                    f"smbsign: interrupted: findings of the hosts judged so far "
                    f"({len({f.host for f in findings})}) are kept\n"
                )
        except UsageError as exc:
            fail(str(exc), EXIT_USAGE)
        except SmbsignError as exc:
            fail(str(exc), EXIT_RUNTIME)
        findings = [printable(f) for f in findings]  # non-UTF-8 file names, odd JSON text
        argv = [clean_text(a) for a in sys.argv]  # a file name need not be UTF-8
        meta = Meta(run_kind="audit", started=started, argv=redact_argv(["smbsign", *argv[1:]]))
        data = render_items(chosen, Kind.FINDINGS, findings, meta, complete=complete)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            try:
                write_atomic(output, data)
            except OSError as exc:
                fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE)
        record_cli_run(
            "audit",
            argv,
            findings=findings,
            db_url=db,
            started=started,
            no_store=no_store,
            quiet=quiet,
            complete=complete,
        )
        raise SystemExit(exit_code(findings) if complete else EXIT_INTERRUPTED)

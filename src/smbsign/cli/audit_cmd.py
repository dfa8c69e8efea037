"""`smbsign audit`: check configuration evidence against the control catalog (docs/audit.md).

Exit codes (public interface): 0 every applicable control passes on every host (``pass`` or
``not_applicable`` only), 1 at least one finding is ``fail``, ``unknown`` or ``error`` (an
unreadable file or an undeterminable default is never counted as compliant), 2 usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from smbsign.catalog import Catalog
from smbsign.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    fail,
    write_atomic,
)
from smbsign.cli.audit_checklists import checklist_findings
from smbsign.cli.audit_gather import (
    HostEvidence,
    gather_local,
    gather_paths,
    gather_remote,
    ip_literal,
    merge_hosts,
    probe,
)
from smbsign.cli.audit_remote import remote_targets
from smbsign.cli.audit_wazuh import WazuhSource, gather_wazuh, wazuh_source
from smbsign.cli.report_cmd import DbOption, NoStoreOption, record_cli_run
from smbsign.collect.winreg_remote import Credentials
from smbsign.engine.evaluate import evaluate
from smbsign.engine.facts import merge_facts, parse_edition, parse_os_family, parse_role
from smbsign.errors import SmbsignError, UsageError
from smbsign.model import Finding, HostFacts, OsFamily, Status
from smbsign.report.findings_out import FORMATS, clean_text, printable

_PASSING = frozenset({Status.PASS, Status.NOT_APPLICABLE})
_BY_SUFFIX = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".txt": "table"}


def pick_format(fmt: str | None, output: Path | None) -> str:
    """``--format``, else from the ``-o`` suffix, else ``table``."""
    if fmt is None:
        chosen = _BY_SUFFIX.get(output.suffix.lower(), "table") if output else "table"
    else:
        chosen = fmt
    if chosen not in FORMATS:
        raise UsageError(f"unknown --format {chosen!r} (table, json, jsonl or csv)")
    return chosen


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when every finding is ``pass``/``not_applicable``, else 1."""
    return EXIT_OK if all(f.status in _PASSING for f in findings) else EXIT_FINDINGS


def select_controls(catalog: Catalog, ids: str | None, framework: str | None) -> Catalog:
    """Controls named by ``--controls`` and/or ``--framework``; unknown names are usage errors."""
    controls = catalog.controls
    chosen = dict(controls)
    if framework is not None:
        frameworks = catalog.frameworks
        by_lower = {name.lower(): fw for name, fw in frameworks.items()}
        fw = frameworks.get(framework) or by_lower.get(framework.lower())  # as `controls` does
        if fw is None:
            known = ", ".join(sorted(frameworks)) or "none"
            raise UsageError(f"unknown framework {framework!r} (known: {known})")
        wanted = {c for req in fw.requirements for c in req.controls}
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    if ids is not None:
        names = [w.strip() for w in ids.split(",") if w.strip()]
        unknown = [n for n in names if n not in controls]
        if unknown or not names:
            raise UsageError(
                f"unknown control id(s): {', '.join(unknown) or ids!r} "
                "(list them with `smbsign controls list`)"
            )
        chosen = {k: v for k, v in chosen.items() if k in names}
    if not chosen:
        raise UsageError("no control left to check (--controls and --framework exclude each other)")
    return catalog.only(chosen)


#: ``--smb1-feature``: is the optional SMB1 component installed (docs/reference.md §1.3)?
SMB1_FEATURE = {"installed": True, "absent": False, "not-installed": False}


def parse_smb1_feature(text: str) -> bool:
    value = SMB1_FEATURE.get(text.strip().lower())
    if value is None:
        raise UsageError(f"unknown --smb1-feature {text!r} (installed or absent)")
    return value


def _cli_facts(
    host: str,
    os_family: str | None,
    os_build: int | None,
    edition: str | None,
    role: str | None,
    smb1_feature: str | None = None,
) -> HostFacts | None:
    given = (os_family, os_build, edition, role, smb1_feature)
    if all(v is None for v in given):
        return None
    return HostFacts(
        host=host,
        os_family=parse_os_family(os_family) if os_family else None,
        build=os_build,
        edition=parse_edition(edition) if edition else None,
        role=parse_role(role) if role else None,
        smb1_installed=parse_smb1_feature(smb1_feature) if smb1_feature else None,
    )


def _local_host(host: str | None) -> str:
    import socket

    return host or socket.gethostname() or "localhost"


def _note(message: str) -> None:
    sys.stderr.write(f"smbsign: note: {' '.join(message.split())}\n")


def run_audit(
    paths: Sequence[Path],
    *,
    local: bool,
    host: str | None,
    samba_conf: Path | None,
    cli_family: str | None,
    os_build: int | None,
    edition: str | None,
    role: str | None,
    want_probe: bool | None,
    smb1_feature: str | None = None,
    address: str | None,
    subset: Catalog,
    remote: Sequence[str] = (),
    creds: Credentials | None = None,
    host_per_dir: bool = False,
    wazuh: WazuhSource | None = None,
) -> list[Finding]:
    """Gather, then evaluate every host; usage problems raise :class:`UsageError`."""
    if not paths and not local and not remote and wazuh is None:
        raise UsageError("give evidence files or directories, --local, --remote or --wazuh")
    for option, text in (
        ("--host", host),
        ("--os-family", cli_family),
        ("--edition", edition),
        ("--role", role),
        ("--smb1-feature", smb1_feature),
    ):
        if text is not None and (not text.strip() or not text.isprintable()):
            raise UsageError(f"{option} needs a non-empty value without control characters")
    for p in paths:
        if not p.exists():
            raise UsageError(f"no such file or directory: {str(p)!r}")
    if host_per_dir and host is not None:
        raise UsageError("--host-per-dir names each host after its folder: drop --host")
    if host_per_dir and not any(p.is_dir() for p in paths):
        raise UsageError("--host-per-dir needs a directory holding one folder per host")
    if samba_conf is not None and not local:
        raise UsageError("--samba-conf goes with --local (pass an smb.conf as a PATH otherwise)")
    if samba_conf is not None and not samba_conf.is_file():
        raise UsageError(f"no such Samba config: {str(samba_conf)!r}")
    probe_target: str | None = None
    if want_probe and not local:
        probe_target = ip_literal(address or host or "")
        if probe_target is None:
            raise UsageError("--probe needs --address (or --host) to be an IP address")
    elif address is not None:
        raise UsageError("--address goes with --probe and evidence files")

    groups: list[dict[str, HostEvidence]] = []
    local_name: str | None = None
    if paths:
        groups.append(gather_paths(paths, host, host_per_dir=host_per_dir))
    if local:
        local_name = _local_host(host)
        ev = gather_local(
            local_name, samba_conf, subset.controls.values(), with_probe=want_probe is not False
        )
        groups.append({local_name: ev})
    if remote:
        if creds is None:
            raise UsageError("--remote needs --user and a password")
        groups.append(gather_remote(remote, creds, subset.controls.values()))
    if wazuh is not None:
        groups.append(gather_wazuh(wazuh))
    hosts = merge_hosts(*groups)
    if probe_target is not None:
        if len(hosts) > 1:
            raise UsageError("--probe with evidence of several hosts: give --host to name one")
        name = next(iter(hosts), host or probe_target)
        hosts.setdefault(name, HostEvidence(name)).observations.extend(probe([probe_target], host))

    findings: list[Finding] = []
    for name, ev in hosts.items():
        for n in ev.notes:
            _note(f"host {name}: {n}" if not ev.only_notes else n)
        if ev.only_notes:  # e.g. what was skipped at the top of --host-per-dir
            continue
        cli = _cli_facts(name, cli_family, os_build, edition, role, smb1_feature)
        if name == local_name and (cli is None or cli.os_family is None):
            family = OsFamily.WINDOWS if sys.platform == "win32" else OsFamily.SAMBA
            cli = replace(cli or HostFacts(host=name), os_family=family)
        elif name in remote and (cli is None or cli.os_family is None):  # a Windows registry
            cli = replace(cli or HostFacts(host=name), os_family=OsFamily.WINDOWS)
        listed, notes = checklist_findings(
            name, ev.checklists, cli, ev.facts, ev.values, subset.controls
        )
        for n in dict.fromkeys(notes):
            _note(f"host {name}: {n}")
        if ev.only_checklists:  # a checklist is not evidence: nothing else to evaluate
            findings.extend(listed)
            continue
        merged = merge_facts(name, cli, ev.facts, ev.values)
        for n in merged.notes:
            _note(f"host {name}: {n}")
        findings.extend(evaluate(ev.values, ev.observations, merged.facts, subset, ev.errors))
        findings.extend(listed)
    return findings


def register(app: typer.Typer) -> None:
    """Add ``smbsign audit`` to ``app``."""

    @app.command("audit")
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
            typer.Option("--format", "-f", help="table, json, jsonl or csv.", show_default=False),
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
        ] = None,
        db: DbOption = None,
        no_store: NoStoreOption = False,
    ) -> None:
        """Audit SMB signing settings from evidence files, this machine or remote registries."""
        started = datetime.now(UTC)
        try:
            chosen = pick_format(fmt, output)
            from smbsign.catalog import load_catalog

            subset = select_controls(load_catalog(), controls, framework)
            wz = wazuh_source(wazuh, user, password_file, insecure, remote=remote)
            targets, creds = (
                remote_targets(remote, user, password_file) if wz is None else ([], None)
            )
            findings = run_audit(
                paths or [],
                local=local,
                host=host,
                samba_conf=samba_conf,
                cli_family=os_family,
                os_build=os_build,
                edition=edition,
                role=role,
                want_probe=want_probe,
                smb1_feature=smb1_feature,
                address=address,
                subset=subset,
                remote=targets,
                creds=creds,
                host_per_dir=host_per_dir,
                wazuh=wz,
            )
        except UsageError as exc:
            fail(str(exc), EXIT_USAGE)
        except SmbsignError as exc:
            fail(str(exc), EXIT_RUNTIME)
        findings = [printable(f) for f in findings]  # non-UTF-8 file names, odd JSON text
        data = FORMATS[chosen](findings)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            try:
                write_atomic(output, data)
            except OSError as exc:
                fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE)
        argv = [clean_text(a) for a in sys.argv]  # a file name need not be UTF-8
        record_cli_run(
            "audit", argv, findings=findings, db_url=db, started=started, no_store=no_store
        )
        raise SystemExit(exit_code(findings))

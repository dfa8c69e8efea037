"""`smbsign fix` (docs/fix.md); `smbsign rollback` is in ``rollback_cmd.py``.

``fix`` builds a plan from the catalog (``--controls``, default every control that enforces
signing) or from audit findings (``--from``), prints it with its impacts, renders it in the
chosen formats (``--format ... -o DIR``) and, with ``--samba CONF --apply``, shows the diff
and, with ``--yes``, applies it safely (snapshot, testparm, reload, wire verify, automatic
rollback). Exit codes: 0 done (or dry run), 2 usage error,
3 the change failed (the message says whether the original was restored).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from smbsign import __version__
from smbsign.catalog import Catalog, load_catalog
from smbsign.cli._common import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, exit_epilog, write_atomic
from smbsign.codecs.smbconf import global_parameters
from smbsign.errors import ParseError, RemediationError, UsageError
from smbsign.remediate.apply.base import apply_safely
from smbsign.remediate.apply.samba import MAX_CONF_BYTES, SambaApplier, SambaOptions
from smbsign.remediate.findings import MAX_BYTES as FINDINGS_MAX_BYTES
from smbsign.remediate.findings import parse_fix_input
from smbsign.remediate.plan import (
    Plan,
    Stage,
    TargetKind,
    build_plan,
    plan_to_dict,
    samba_roles,
)
from smbsign.remediate.render import FORMATS, FrameworkRef, RenderContext, formats_for
from smbsign.remediate.scan_findings import scan_findings
from smbsign.remediate.snapshot import SnapshotStore
from smbsign.scan.target_spec import Name, Single, parse_spec
from smbsign.textutil import is_decimal

FORMAT_CHOICES = [*FORMATS, "all"]
_HOSTS_SHOWN = 20  # hosts listed per change on the terminal; plan.json has them all
FIX_EPILOG = exit_epilog(
    (EXIT_OK, "plan printed, files written, dry run, or applied and verified"),
    (
        EXIT_USAGE,
        "usage error (bad options or --from file, --verify not answering SMB); nothing changed",
    ),
    (EXIT_RUNTIME, "the change failed (the message says whether the original was restored)"),
    see="docs/fix.md",
)


def _context(catalog: Catalog, repository: str) -> RenderContext:
    mappings = {
        cid: tuple(
            FrameworkRef(f"{fw.name} {fw.version}".strip(), req.id, req.title)
            for fw, req in catalog.mappings_for(cid)
        )
        for cid in catalog.controls
    }
    return RenderContext(f"smbsign {__version__}", mappings, repository)


def _address(text: str) -> tuple[str, int]:
    """``ADDR``, ``ADDR:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"--verify {text!r}: expected ADDR or ADDR:PORT")
        port = rest[1:] if rest else "445"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "445"
    if not host or not is_decimal(port) or not 0 < int(port) < 65536:
        raise UsageError(f"--verify {text!r}: expected ADDR or ADDR:PORT")
    try:  # strictly an address or a host name, checked before anything is touched
        item = parse_spec(host)
    except UsageError:
        item = None
    if not isinstance(item, Single | Name):
        raise UsageError(f"--verify {text!r}: {host!r} is not an IP address or a host name")
    return host, int(port)


def _load_findings(
    path: Path, kind: TargetKind
) -> tuple[list[dict[str, str]] | list[dict[str, object]], list[str], str]:
    """Findings, plan notes and the source label of ``--from`` (audit findings or scan records)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(FINDINGS_MAX_BYTES + 1)  # bounded: parse_fix_input refuses more
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        got = parse_fix_input(data, str(path))
    except ParseError as exc:
        raise UsageError(str(exc)) from None
    if got.records is not None:
        findings, notes = scan_findings(got.records, kind)
        return findings, notes, f"scan records {path}"
    return list(got.findings), [], f"findings {path}"


def _echo_plan(plan: Plan) -> None:
    stage = plan.stage.value if plan.stage else "default"
    typer.echo(
        f"Plan for {plan.target.value} (stage {stage}, from {plan.source}): "
        f"{len(plan.changes)} change(s)"
    )
    for ch in plan.changes:
        shown = ", ".join(ch.hosts[:_HOSTS_SHOWN])
        extra = len(ch.hosts) - _HOSTS_SHOWN
        more = f", ... and {extra} more" if extra > 0 else ""
        hosts = f"  [{shown}{more}]" if ch.hosts else ""
        typer.echo(f"  change   {ch.id}: {ch.control.title}{hosts}")
    for imp in plan.impacts:
        typer.echo(f"  impact   {imp.control} ({imp.topic}): {' '.join(imp.text.split())}")
    for sk in plan.skipped:
        typer.echo(f"  skipped  {sk.control}: {sk.reason}")
    for note in plan.notes:
        typer.echo(f"  note     {note}")
    for act in plan.gpo_actions:  # domain findings: per OU, the GPO to change or link
        shown = ", ".join(act.hosts[:_HOSTS_SHOWN])
        more = (
            f", ... and {len(act.hosts) - _HOSTS_SHOWN} more"
            if len(act.hosts) > _HOSTS_SHOWN
            else ""
        )
        typer.echo(f"  gpo      {act.action}: {act.text}  [{shown}{more}]")


def _write_formats(
    plan: Plan, names: list[str], out: Path, ctx: RenderContext, *, nested: bool = True
) -> None:
    """Render into ``out/<format>/`` (``nested``: ``--format all``) or into ``out`` itself."""
    import json

    written = 0
    stale: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            base = out / name if nested else out
            files = {base / rel: data for rel, data in FORMATS[name].render(plan, ctx).items()}
            if base.is_dir():  # never deleted: only pointed out
                stale += [
                    p
                    for p in base.rglob("*")
                    if p.is_file() and p not in files and p != out / "plan.json"
                ]
            for path, data in files.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, data)
                written += 1
        body = json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"
        write_atomic(out / "plan.json", body.encode())
    except OSError as exc:
        raise UsageError(f"cannot write to {out}: {exc.strerror or exc}") from None
    typer.echo(f"Wrote {written} file(s) for {', '.join(names)} under {out} (and plan.json)")
    if stale:
        typer.echo(
            f"Note: {len(stale)} other file(s) under {out} are not from this run (an earlier "
            f"plan?), e.g. {min(stale)}; they were left alone: remove them or use a new -o DIR"
        )


def _samba_conf_roles(conf: Path) -> frozenset[str] | None:
    """The roles the smb.conf given to ``--samba`` declares (``server role``), so that
    controls of other roles (LDAP on an AD DC) are not applied to it; None when the file
    cannot be read here (the applier then says why in one line)."""
    try:
        with conf.open("rb") as fh:
            data = fh.read(MAX_CONF_BYTES + 1)
        if len(data) > MAX_CONF_BYTES or b"\0" in data:
            return None
        return samba_roles(global_parameters(data.decode("utf-8", "replace")))
    except (OSError, ParseError):
        return None


def _apply_samba(
    plan: Plan, conf: Path, yes: bool, store: SnapshotStore, options: SambaOptions
) -> None:
    if not conf.is_file():
        raise UsageError(f"--samba {conf}: no such file")
    applier = SambaApplier(conf, store, options)
    try:
        preview = applier.preview(plan)
    except RemediationError as exc:  # unreadable or not a text file: nothing was touched
        raise UsageError(f"--samba {exc}") from None
    if not preview.changed:
        typer.echo(f"{conf}: already in the desired state; nothing to change")
        return
    typer.echo(preview.diff.rstrip("\n"))
    if not yes:
        typer.echo(
            "Dry run: nothing changed. Re-run with --yes to apply (snapshot, testparm, "
            "reload, verify, automatic rollback)."
        )
        return
    applier.preflight(plan)  # every --verify address answers SMB now, or nothing changes
    result = apply_safely(applier, plan)
    snap = result.snapshot
    for line in result.verification.details:
        typer.echo(f"  verified {line}")
    if snap is not None:
        typer.echo(f"Applied. Snapshot: {snap.path}")
        typer.echo(f"Undo with: smbsign rollback {snap.path}")


def fix(
    from_: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Findings of `smbsign audit`, or `smbsign scan` records (JSON or JSONL); "
            "fix what failed.",
        ),
    ] = None,
    controls: Annotated[
        str | None,
        typer.Option(
            "--controls",
            help="Comma-separated control ids (default: every control that enforces signing).",
        ),
    ] = None,
    target: Annotated[
        TargetKind | None,
        typer.Option(
            "--target",
            help="Kind of machine (default: samba with --samba, else windows-server).",
            case_sensitive=False,
        ),
    ] = None,
    stage: Annotated[
        Stage | None,
        typer.Option(
            "--stage",
            help="audit: turn on the audit-unsigned-peers policies first; "
            "enforce: require signing.",
            case_sensitive=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="Output format: " + ", ".join(FORMAT_CHOICES) + "."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Directory for the generated files.")
    ] = None,
    samba: Annotated[
        Path | None, typer.Option("--samba", help="smb.conf to fix (with --apply).")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Show the change to --samba CONF; with --yes make it.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Really apply (with --apply).")] = False,
    snapshot_dir: Annotated[
        Path | None,
        typer.Option(
            "--snapshot-dir",
            help="Where snapshots go (default: $SMBSIGN_SNAPSHOT_DIR or the user data dir).",
        ),
    ] = None,
    verify: Annotated[
        list[str] | None,
        typer.Option(
            "--verify",
            help="ADDR[:PORT] to probe after the change (repeatable; default 127.0.0.1:445).",
        ),
    ] = None,
    reload_cmd: Annotated[
        str | None,
        typer.Option(
            "--reload-cmd",
            help="Command that reloads Samba (default: smbcontrol -s CONF smbd reload-config).",
        ),
    ] = None,
    repository: Annotated[
        str,
        typer.Option("--collection-repository", help="repository URL for the Ansible galaxy.yml."),
    ] = "",
) -> None:
    """Plan, render and safely apply SMB signing remediation."""
    if yes and not apply:
        raise UsageError("--yes only makes sense with --apply")
    if apply and samba is None and sys.platform != "win32":
        raise UsageError(
            "--apply needs --samba CONF here (the local Windows registry is only "
            "changed on Windows); use --format to generate remediation instead"
        )
    if fmt is not None and fmt not in FORMAT_CHOICES:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMAT_CHOICES)}")
    if fmt is not None and output is None:
        raise UsageError("--format needs -o DIR")
    if from_ is not None and controls is not None:
        raise UsageError("use --from or --controls, not both")
    kind = target or (TargetKind.SAMBA if samba is not None else TargetKind.WINDOWS_SERVER)
    if samba is not None and kind is not TargetKind.SAMBA:
        raise UsageError("--samba fixes a Samba server: use --target samba (or leave it out)")
    names: list[str] = []
    if fmt == "all":
        names = formats_for(kind.is_windows)
    elif fmt is not None:
        if FORMATS[fmt].windows is not kind.is_windows:
            raise UsageError(
                f"--format {fmt} does not apply to --target {kind.value} "
                f"(use one of {', '.join(formats_for(kind.is_windows))})"
            )
        names = [fmt]
    addresses = tuple(_address(v) for v in (verify or ["127.0.0.1:445"]))
    reload_argv = tuple(shlex.split(reload_cmd)) if reload_cmd else None
    if reload_cmd is not None and not reload_argv:
        raise UsageError("--reload-cmd is empty")

    catalog = load_catalog()
    ids = [c.strip() for c in controls.split(",") if c.strip()] if controls is not None else None
    if ids is not None and not ids:
        raise UsageError("--controls is empty: give control ids (see `smbsign controls`)")
    findings, notes, source = _load_findings(from_, kind) if from_ else (None, [], "controls")
    plan = build_plan(
        list(catalog.controls.values()),
        kind,
        stage=stage,
        control_ids=ids,
        findings=findings,
        source=source,
        notes=notes,
        roles=_samba_conf_roles(samba) if samba is not None else None,
    )
    _echo_plan(plan)
    if names and output is not None:
        _write_formats(plan, names, output, _context(catalog, repository), nested=fmt == "all")
    if apply and samba is not None:
        if plan.empty:
            typer.echo("Nothing to apply.")
            return
        store = SnapshotStore(snapshot_dir)
        _apply_samba(
            plan, samba, yes, store, SambaOptions(verify=addresses, reload_cmd=reload_argv)
        )
    elif apply and sys.platform == "win32":  # pragma: no cover - Windows only
        from smbsign.remediate.apply.windows import WindowsApplier, WinregWriter

        applier = WindowsApplier(WinregWriter(), SnapshotStore(snapshot_dir))
        preview = applier.preview(plan)
        typer.echo(preview.diff.rstrip("\n") or "already in the desired state")
        if yes and preview.changed:
            result = apply_safely(applier, plan)
            if result.snapshot is not None:
                typer.echo(f"Applied. Undo with: smbsign rollback {result.snapshot.path}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("fix", epilog=FIX_EPILOG)(fix)

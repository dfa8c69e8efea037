"""`smbsign controls`: list the control catalog and explain one control (docs/controls.md).

``smbsign controls [--framework ID] [-f table|json]`` (also ``controls list``) lists the
controls; ``smbsign controls show ID [--format text|json]`` explains one: check, defaults when
absent, framework mappings, remediation routes, considerations, references. An unknown
control or framework id is a one-line usage error (exit 2); a broken catalog exits 3.
"""

from __future__ import annotations

import json
import sys
import textwrap
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smbsign.catalog.listing import Listing, packaged_listing
from smbsign.cli._common import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, exit_epilog, fail, write_atomic
from smbsign.cli._output import QuietOption
from smbsign.errors import CatalogError

if TYPE_CHECKING:
    from smbsign.catalog import Catalog
    from smbsign.catalog.schema import Control

# The listing comes from the packaged catalog's index when it is current (catalog/listing.py),
# so ``smbsign controls`` starts without the pydantic schemas; ``controls show`` loads the
# validated catalog (#8 item 6).

WIDTH = 100


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ShowFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


FrameworkOpt = Annotated[
    str | None,
    typer.Option("--framework", help="Only controls this framework maps (framework id)."),
]
ListFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="[table|json]",
        help="table (default) or json. (-f used to mean --framework: '-f ID' still works, "
        "with a warning.)",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
]
EPILOG = exit_epilog(
    (EXIT_OK, "listed"),
    (EXIT_USAGE, "usage error: unknown control or framework"),
    (EXIT_RUNTIME, "the control catalog is broken"),
)

app = typer.Typer(
    help="List the control catalog, or explain one control (`controls show ID`).",
    epilog=EPILOG,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _catalog() -> Catalog:
    from smbsign.catalog import load_catalog

    try:
        return load_catalog()
    except CatalogError as exc:
        fail(f"the control catalog is invalid: {exc}", EXIT_RUNTIME)


def _listing() -> Listing:
    try:
        return packaged_listing()
    except CatalogError as exc:
        fail(f"the control catalog is invalid: {exc}", EXIT_RUNTIME)


def _framework_or_fail(listing: Listing, framework: str) -> str:
    if framework in listing.frameworks:
        return framework
    lowered = {f.lower(): f for f in listing.frameworks}
    if framework.lower() in lowered:
        return lowered[framework.lower()]
    known = ", ".join(listing.frameworks)
    return fail(f"unknown framework {framework!r} (known: {known})", EXIT_USAGE)


def _list_format(
    listing: Listing, fmt: str | None, framework: str | None
) -> tuple[ListFormat, str | None]:
    """``-f`` is ``--format`` on every command; ``-f ID`` (a framework, as before) still works,
    with a warning, until it is removed."""
    if fmt is None:
        return ListFormat.TABLE, framework
    if fmt in tuple(ListFormat):
        return ListFormat(fmt), framework
    named = {f.lower() for f in listing.frameworks}
    if framework is not None or fmt.lower() not in named:
        fail(f"Invalid value for '--format': {fmt!r} is not one of 'table', 'json'", EXIT_USAGE)
    sys.stderr.write(
        "smbsign: warning: '-f ID' for a framework is deprecated: -f means --format on "
        f"every command; use --framework {fmt}\n"
    )
    return ListFormat.TABLE, fmt


def _out(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text)
        return
    try:
        write_atomic(output, (text + "\n").encode())
    except OSError as exc:
        fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE)


def _list(
    framework: str | None, fmt_opt: str | None, output: Path | None = None, quiet: bool = False
) -> None:
    listing = _listing()
    fmt, framework = _list_format(listing, fmt_opt, framework)
    rows = list(listing.rows.values())
    fw_id = None
    if framework is not None:
        fw_id = _framework_or_fail(listing, framework)
        rows = [listing.rows[c] for c in listing.frameworks[fw_id].controls]
    if fmt is ListFormat.JSON:
        doc: dict[str, object] = {"controls": rows}
        if fw_id is not None:
            fw = listing.frameworks[fw_id]
            doc["framework"] = {"id": fw.id, "name": fw.name, "version": fw.version}
        _out(json.dumps(doc, indent=2), output)
        return
    last = "REQUIREMENTS" if fw_id else "FRAMEWORKS"
    header = f"{'ID':<40} {'SEVERITY':<8} {'W':>2} {'STAGE':<7} {'OS':<13} {last}"
    lines = [header]
    for row in rows:
        tail = ", ".join(row["frameworks"].get(fw_id, [])) if fw_id else str(len(row["frameworks"]))
        os_ = ",".join(row["os_families"])
        lines.append(
            f"{row['id']:<40} {row['severity']:<8} {row['weight']:>2} {row['stage']:<7} "
            f"{os_:<13} {tail}"
        )
    if quiet:  # the table only
        pass
    elif fw_id is None:
        lines.append(
            f"\n{len(rows)} controls. Frameworks (--framework): {', '.join(listing.frameworks)}"
        )
    else:
        fw = listing.frameworks[fw_id]
        lines.append(f"\n{len(rows)} controls mapped by {fw.name} {fw.version}".rstrip())
    _out("\n".join(lines), output)


def _para(label: str, text: str) -> list[str]:
    return [
        f"{label}:",
        *textwrap.wrap(
            " ".join(text.split()), WIDTH - 2, initial_indent="  ", subsequent_indent="  "
        ),
    ]


def _items(label: str, items: list[str]) -> list[str]:
    if not items:
        return [f"{label}: none"]
    return [f"{label}:", *(f"  - {i}" for i in items)]


def render_show(catalog: Catalog, c: Control) -> str:
    """The text of ``smbsign controls show``."""
    from smbsign.catalog.describe import check_lines, entries_for, remediation_lines, rule_line

    a = c.applies_to
    out = [f"{c.id}: {c.title}"]
    out.append(
        f"Severity: {c.severity} (weight {c.weight}/10)   Stage: {c.stage}   "
        f"Enforces signing: {'yes' if c.enforces_signing else 'no'}"
    )
    build = f"; build >= {a.min_build}" if a.min_build else ""
    out.append(f"Applies to: {', '.join(a.os_families)}; roles {', '.join(a.roles)}{build}")
    out += _para("Rationale", c.rationale)
    out += _items("Check", check_lines(c.check))
    out.append("Value when absent (defaults.yaml, first matching rule wins):")
    for key, entry in entries_for(c, catalog.defaults):
        out.append(f"  {key} ({entry.setting}):")
        out += [f"    - {rule_line(r)}  [{' '.join(r.source.split())}]" for r in entry.rules]
        for r in entry.literal_default or ():
            out.append(f"    - explicit 'default': {rule_line(r)}")
    if c.default_key is None:
        out.append("  none recorded")
    mappings: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for fw, req in catalog.mappings_for(c.id):
        mappings.setdefault(fw.id, []).append(req.id)
        names[fw.id] = f"{fw.name} {fw.version}".strip()
    out += _items("Mappings", [f"{f} ({names[f]}): {', '.join(r)}" for f, r in mappings.items()])
    out += _items("Remediation options", remediation_lines(c.desired))
    if c.impact:
        out += _para("Impact", c.impact)
    out += _items(
        "Considerations",
        [
            f"[{', '.join((k.topic, *k.targets, *k.roles))}] {' '.join(k.text.split())}"
            for k in c.considerations
        ],
    )
    out += _items("References", [f"{r.title}: {r.url}" for r in c.references])
    return "\n".join(out)


@app.callback(invoke_without_command=True)
def controls(
    ctx: typer.Context,
    framework: FrameworkOpt = None,
    fmt: ListFormatOpt = None,
    output: OutputOpt = None,
    quiet: QuietOption = False,
) -> None:
    """List the control catalog (see also `controls show ID`)."""
    if ctx.invoked_subcommand is None:
        _list(framework, fmt, output, quiet)


@app.command("list", epilog=EPILOG)
def list_controls(
    framework: FrameworkOpt = None,
    fmt: ListFormatOpt = None,
    output: OutputOpt = None,
    quiet: QuietOption = False,
) -> None:
    """List the control catalog (same as `smbsign controls`)."""
    _list(framework, fmt, output, quiet)


@app.command("show", epilog=EPILOG)
def show(
    control_id: Annotated[str, typer.Argument(metavar="ID", help="Control id.")],
    fmt: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ShowFormat.TEXT,
    output: OutputOpt = None,
    quiet: QuietOption = False,
) -> None:
    """Explain one control: check, defaults, mappings, remediation, considerations."""
    _ = quiet  # nothing but the explanation is written
    catalog = _catalog()
    control = catalog.controls.get(control_id.strip().lower())
    if control is None:
        fail(f"unknown control {control_id!r} (list them with `smbsign controls`)", EXIT_USAGE)
    if fmt is ShowFormat.JSON:
        from smbsign.catalog.describe import control_detail

        _out(json.dumps(control_detail(catalog, control), indent=2), output)
    else:
        _out(render_show(catalog, control), output)


def register(app_: typer.Typer) -> None:
    """Add this module's commands to app."""
    app_.add_typer(app, name="controls")

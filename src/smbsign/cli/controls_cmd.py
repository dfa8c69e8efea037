"""`smbsign controls`: list the control catalog and explain one control (docs/controls.md).

``smbsign controls [--framework ID] [--format table|json]`` (also ``controls list``) lists the
controls; ``smbsign controls show ID [--format text|json]`` explains one: check, defaults when
absent, framework mappings, remediation routes, considerations, references. An unknown
control or framework id is a one-line usage error (exit 2); a broken catalog exits 3.
"""

from __future__ import annotations

import json
import textwrap
from enum import StrEnum
from typing import Annotated

import typer

from smbsign.catalog import Catalog, load_catalog
from smbsign.catalog.describe import (
    check_lines,
    control_detail,
    control_summary,
    entries_for,
    remediation_lines,
    rule_line,
)
from smbsign.catalog.schema import Control
from smbsign.cli._common import EXIT_RUNTIME, EXIT_USAGE, fail
from smbsign.errors import CatalogError

WIDTH = 100


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ShowFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


FrameworkOpt = Annotated[
    str | None,
    typer.Option("--framework", "-f", help="Only controls this framework maps (framework id)."),
]
ListFormatOpt = Annotated[ListFormat, typer.Option("--format", help="Output format.")]

app = typer.Typer(
    help="List the control catalog, or explain one control (`controls show ID`).",
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        fail(f"the control catalog is invalid: {exc}", EXIT_RUNTIME)


def _framework_or_fail(catalog: Catalog, framework: str) -> str:
    if framework in catalog.frameworks:
        return framework
    lowered = {f.lower(): f for f in catalog.frameworks}
    if framework.lower() in lowered:
        return lowered[framework.lower()]
    known = ", ".join(catalog.frameworks)
    return fail(f"unknown framework {framework!r} (known: {known})", EXIT_USAGE)


def _list(framework: str | None, fmt: ListFormat) -> None:
    catalog = _catalog()
    controls = list(catalog.controls.values())
    fw_id = None
    if framework is not None:
        fw_id = _framework_or_fail(catalog, framework)
        wanted = catalog.framework_controls(fw_id)
        controls = [catalog.controls[c] for c in wanted]
    rows = [control_summary(catalog, c) for c in controls]
    if fmt is ListFormat.JSON:
        doc: dict[str, object] = {"controls": rows}
        if fw_id is not None:
            fw = catalog.frameworks[fw_id]
            doc["framework"] = {"id": fw.id, "name": fw.name, "version": fw.version}
        typer.echo(json.dumps(doc, indent=2))
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
    typer.echo("\n".join(lines))
    if fw_id is None:
        typer.echo(
            f"\n{len(rows)} controls. Frameworks (--framework): {', '.join(catalog.frameworks)}"
        )
    else:
        fw = catalog.frameworks[fw_id]
        typer.echo(f"\n{len(rows)} controls mapped by {fw.name} {fw.version}".rstrip())


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
    fmt: ListFormatOpt = ListFormat.TABLE,
) -> None:
    """List the control catalog (see also `controls show ID`)."""
    if ctx.invoked_subcommand is None:
        _list(framework, fmt)


@app.command("list")
def list_controls(framework: FrameworkOpt = None, fmt: ListFormatOpt = ListFormat.TABLE) -> None:
    """List the control catalog (same as `smbsign controls`)."""
    _list(framework, fmt)


@app.command("show")
def show(
    control_id: Annotated[str, typer.Argument(metavar="ID", help="Control id.")],
    fmt: Annotated[ShowFormat, typer.Option("--format", help="Output format.")] = ShowFormat.TEXT,
) -> None:
    """Explain one control: check, defaults, mappings, remediation, considerations."""
    catalog = _catalog()
    control = catalog.controls.get(control_id.strip().lower())
    if control is None:
        fail(f"unknown control {control_id!r} (list them with `smbsign controls`)", EXIT_USAGE)
    if fmt is ShowFormat.JSON:
        typer.echo(json.dumps(control_detail(catalog, control), indent=2))
    else:
        typer.echo(render_show(catalog, control))


def register(app_: typer.Typer) -> None:
    """Add this module's commands to app."""
    app_.add_typer(app, name="controls")

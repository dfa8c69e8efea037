"""Writers for ``smbsign audit`` findings: table, json, jsonl, csv (docs/audit.md).

Every writer goes through :func:`smbsign.serialize.finding_to_dict`, so the field names are
the published ones (``smbsign/schemas/finding.schema.json``). Output is bytes (UTF-8); the
CLI decides where it goes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smbsign.model import Finding
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict

CSV_COLUMNS = (
    "host",
    "control",
    "title",
    "status",
    "severity",
    "weight",
    "observed",
    "expected",
    "source_kind",
    "source_path",
    "source_location",
    "source_layer",
    "reason",
    "notes",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_json(findings: Sequence[Finding]) -> bytes:
    doc = {"schema_version": SCHEMA_VERSION, "findings": [finding_to_dict(f) for f in findings]}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def render_jsonl(findings: Sequence[Finding]) -> bytes:
    lines = (json.dumps(finding_to_dict(f), ensure_ascii=False) for f in findings)
    return "".join(line + "\n" for line in lines).encode()


def _cell(value: Any) -> str | int:
    """CSV cell; text a spreadsheet would run as a formula gets a leading ``'`` (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(f: Finding) -> list[str | int]:
    d = finding_to_dict(f)
    src = d["source"] or {}
    row = {
        **{k: d[k] for k in ("host", "control", "title", "status", "severity", "weight")},
        "observed": d["observed"],
        "expected": d["expected"],
        "source_kind": src.get("kind"),
        "source_path": src.get("path"),
        "source_location": src.get("location"),
        "source_layer": src.get("layer"),
        "reason": d["reason"],
        "notes": " | ".join(d["notes"]),
    }
    return [_cell(row[c]) for c in CSV_COLUMNS]


def render_csv(findings: Sequence[Finding]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow(csv_row(f))
    return buf.getvalue().encode()


def _source_text(f: Finding) -> str:
    src = f.source
    if src is None:
        return ""
    if src.kind == "default":
        return f"default: {src.location}"
    name = PurePath(src.path.replace("\\", "/")).name or src.path
    parts = [p for p in (src.kind, name, src.location) if p]
    return f"{src.layer.value}: {' '.join(parts)}"


def render_table(findings: Sequence[Finding], width: int = 160) -> bytes:
    """A plain-text table (no colour codes; cells are ``Text`` so brackets stay literal)."""
    table = Table(show_lines=False, expand=False)
    for col in ("host", "control", "status"):
        table.add_column(col, no_wrap=True)
    for col in ("observed", "expected", "source", "reason"):
        table.add_column(col, overflow="fold")
    for f in findings:
        observed = "" if f.observed is None else str(f.observed)
        reason = f.reason + "".join(f"\n  - {n}" for n in f.notes)
        cells = (f.host, f.control, f.status.value, observed, f.expected, _source_text(f), reason)
        table.add_row(*(Text(c) for c in cells))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status.value] = counts.get(f.status.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no findings"
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False)
    console.print(table)
    console.print(Text(f"{len(findings)} findings: {summary}"))
    return buf.getvalue().encode()


FORMATS: dict[str, Callable[[Sequence[Finding]], bytes]] = {
    "table": render_table,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
}

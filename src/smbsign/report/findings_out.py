"""Writers for ``smbsign audit`` findings: table, json, jsonl, csv (docs/audit.md).

Every writer goes through :func:`smbsign.serialize.finding_to_dict`, so the field names are
the published ones (``smbsign/schemas/finding.schema.json``). Output is bytes (UTF-8); the
CLI decides where it goes.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smbsign.model import Finding
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict, json_line
from smbsign.textutil import formula_safe, plural

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


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a file name that is not UTF-8 (lone surrogates from
    ``os.fsdecode``) shows its bytes as ``\\xff`` instead of failing the UTF-8 writers."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte (e.g. JSON "\ud800")
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def printable(f: Finding) -> Finding:
    """``f`` with every text field valid Unicode (see :func:`clean_text`)."""
    src = f.source
    if src is not None:
        src = replace(
            src,
            kind=clean_text(src.kind),
            path=clean_text(src.path),
            location=clean_text(src.location),
        )
    return replace(
        f,
        host=clean_text(f.host),
        observed=clean_text(f.observed) if isinstance(f.observed, str) else f.observed,
        expected=clean_text(f.expected),
        source=src,
        reason=clean_text(f.reason),
        title=clean_text(f.title),
        notes=tuple(clean_text(n) for n in f.notes),
    )


def render_json(findings: Sequence[Finding]) -> bytes:
    doc = {"schema_version": SCHEMA_VERSION, "findings": [finding_to_dict(f) for f in findings]}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def render_jsonl(findings: Sequence[Finding]) -> bytes:
    return "".join(json_line(finding_to_dict(f)) for f in findings).encode()


def _cell(value: Any) -> str | int:
    """CSV cell; text a spreadsheet would run as a formula gets a leading ``'`` (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return value
    return formula_safe(str(value))


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


_STATUS_ORDER = {"error": 0, "fail": 1, "unknown": 2, "pass": 3, "not_applicable": 4}


def _short_source(f: Finding) -> str:
    """``gpo: GptTmpl.inf line 6`` / ``default(26100/Enterprise/workstation)`` / ``wire``."""
    src = f.source
    if src is None:
        return "-"
    if src.kind == "default":
        return src.location or "default"
    name = PurePath(src.path.replace("\\", "/")).name or src.path
    where = " ".join(p for p in (name, src.location) if p)
    return f"{src.layer.value}: {where}" if where else f"{src.layer.value}: {src.kind}"


def _observed(f: Finding) -> str:
    observed = "-" if f.observed is None else str(f.observed)
    return f"{observed} (want {f.expected})" if f.expected else observed


def render_table(findings: Sequence[Finding], width: int | None = None) -> bytes:
    """Findings grouped by host, worst first; one line of reason each.

    The notes that explain disagreeing layers are counted here and printed in full by the
    json/jsonl/csv formats. Cells are ``Text`` so that brackets stay literal.
    """
    if width is None:
        width = max(100, min(shutil.get_terminal_size((160, 24)).columns, 220))
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False)
    by_host: dict[str, list[Finding]] = {}
    for f in findings:
        by_host.setdefault(f.host, []).append(f)
    for host, items in by_host.items():
        table = Table(title=Text(f"host {host}"), title_justify="left", expand=True)
        table.add_column("status", no_wrap=True)
        table.add_column("control", no_wrap=True)
        table.add_column("observed", overflow="fold", ratio=1)
        table.add_column("decided by", overflow="fold", ratio=1)
        table.add_column("reason", overflow="fold", ratio=3)
        items.sort(key=lambda f: (_STATUS_ORDER.get(f.status.value, 9), f.control))
        for f in items:
            reason = f.reason
            if f.notes:
                reason += f" [+{len(f.notes)} note{'s' if len(f.notes) > 1 else ''}: --format json]"
            cells = (f.status.value, f.control, _observed(f), _short_source(f), reason)
            table.add_row(*(Text(c) for c in cells))
        console.print(table)
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status.value] = counts.get(f.status.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no findings"
    hosts = plural(len(by_host), "host")
    console.print(Text(f"{plural(len(findings), 'finding')}: {summary} ({hosts})"))
    return buf.getvalue().encode()


FORMATS: dict[str, Callable[[Sequence[Finding]], bytes]] = {
    "table": render_table,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
}

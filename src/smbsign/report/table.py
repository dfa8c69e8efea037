"""Plain-text tables for the terminal (rich), no colour codes: safe to pipe or paste.

Every cell goes in as ``rich.text.Text`` so that brackets in host names or reasons are
never read as markup.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smbsign.report.scores import framework_scores
from smbsign.run import CatalogLike, Run, RunInfo, clean, finding_order, iso, server_rows
from smbsign.verdict import wording

WIDTH = 160
# rich lays out about a thousand rows a second; larger tables use the plain grid below.
RICH_MAX_ROWS = 500
_CELL_MAX = 48


def _t(value: object) -> Text:
    return Text("" if value is None else clean(value))


def to_text(*items: object, width: int = WIDTH) -> bytes:
    """Render rich renderables to plain text; strings (already clean lines) go out as they are."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False)
    for item in items:
        if isinstance(item, str):
            buf.write(item + "\n")
        else:
            console.print(item)
    return buf.getvalue().encode()


def plain_grid(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A fast fixed-width table: every column but the last capped at 48 characters."""
    cells = [[clean("" if v is None else v) for v in row] for row in rows]
    last = len(header) - 1
    widths = [
        min(_CELL_MAX, max([len(h), *(len(r[i]) for r in cells)])) if i < last else 0
        for i, h in enumerate(header)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            (v if len(v) <= w else v[: w - 1] + "…").ljust(w) if i < last else v
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * (w or len(header[-1])) for w in widths)
    return "\n".join([title, line(header), rule, *(line(r) for r in cells)])


def _table(title: str, header: Sequence[str], rows: list[Sequence[object]]) -> object:
    if len(rows) > RICH_MAX_ROWS:
        return plain_grid(title, header, rows)
    t = Table(title=title, title_justify="left")
    for col in header:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(_t(v) for v in row))
    return t


def headline(run: Run) -> tuple[str, str]:
    s = run.summary
    seq = f" #{run.seq}" if run.seq is not None else ""
    counts = ", ".join(f"{n} {k}" for k, n in sorted(s.findings.items())) or "no findings"
    # Wire counts only when something was probed: an audit proves nothing about relaying.
    wire = (
        f", SMB servers {s.smb_hosts}, relayable {s.relayable}, "
        f"signing required {s.required}, unknown {s.unknown}"
        if run.records
        else ""
    )
    cut = "" if run.complete else ", incomplete (interrupted: not every target was probed)"
    return (
        f"smbsign {run.kind} run {run.id}{seq} ({iso(run.started)} .. {iso(run.finished)}, "
        f"smbsign {run.tool_version}){cut}",
        f"hosts {s.hosts}{wire}; findings: {counts}",
    )


def records_table(run: Run) -> object:
    """One row per server and port (its addresses together), relayable first, then by address."""
    rows: list[Sequence[object]] = []
    for row in server_rows(run.records):
        r = row.record
        smb1 = "offered" if r.smb1.offered else ("not offered" if r.smb1.offered is False else "?")
        rows.append(
            (row.host, r.port, r.status.value, r.smb2.dialect if r.smb2 else "", smb1, wording(r))
        )
    header = ("Host", "Port", "Status", "Dialect", "SMB1", "Verdict")
    return _table("SMB signing on the wire", header, rows)


def findings_table(run: Run) -> object:
    rows: list[Sequence[object]] = []
    for f in sorted(run.findings, key=finding_order):
        src = f"{f.source.kind}:{f.source.path} {f.source.location}".strip() if f.source else ""
        rows.append((f.host, f.control, f.status.value, f.observed, f.expected, src, f.reason))
    header = ("Host", "Control", "Status", "Observed", "Expected", "Source", "Reason")
    return _table("Controls", header, rows)


def scores_table(run: Run, catalog: CatalogLike | None) -> Table | None:
    scores = framework_scores(run.findings, catalog)
    if not scores:
        return None
    t = Table(title="Weighted compliance per framework", title_justify="left")
    for col in ("Framework", "Score", "Pass", "Fail", "Error", "Unknown", "N/A"):
        t.add_column(col)
    for s in scores:
        c = s.counts
        t.add_row(
            _t(f"{s.name} {s.version}".strip()),
            _t("n/a" if s.score is None else f"{s.score:.1f} %"),
            *(_t(n) for n in (c.passed, c.failed, c.error, c.unknown, c.not_applicable)),
        )
    return t


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    parts: list[object] = [clean(line) for line in headline(run)]
    if run.records:
        parts.append(records_table(run))
    if run.findings:
        parts.append(findings_table(run))
        scores = scores_table(run, catalog)
        if scores is not None:
            parts.append(scores)
    return to_text(*parts)

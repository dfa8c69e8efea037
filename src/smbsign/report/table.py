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

from smbsign.report.run import CatalogLike, Run, RunInfo, clean, iso
from smbsign.report.scores import framework_scores
from smbsign.report.verdict import wording

WIDTH = 160


def _t(value: object) -> Text:
    return Text("" if value is None else clean(value))


def to_text(*items: object, width: int = WIDTH) -> bytes:
    """Render rich renderables (or strings, taken literally) to plain text."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False)
    for item in items:
        console.print(_t(item) if isinstance(item, str) else item)
    return buf.getvalue().encode()


def headline(run: Run) -> tuple[str, str]:
    s = run.summary
    seq = f" #{run.seq}" if run.seq is not None else ""
    counts = ", ".join(f"{n} {k}" for k, n in sorted(s.findings.items())) or "no findings"
    return (
        f"smbsign {run.kind} run {run.id}{seq} ({iso(run.started)} .. {iso(run.finished)}, "
        f"smbsign {run.tool_version})",
        f"hosts {s.hosts}, SMB servers {s.smb_hosts}, relayable {s.relayable}, "
        f"signing required {s.required}, unknown {s.unknown}; findings: {counts}",
    )


def records_table(run: Run) -> Table:
    t = Table(title="SMB signing on the wire", title_justify="left")
    for col in ("Host", "Port", "Status", "Dialect", "SMB1", "Verdict"):
        t.add_column(col, overflow="fold")
    for r in sorted(run.records, key=lambda r: (r.target, r.port)):
        smb1 = "offered" if r.smb1.offered else ("not offered" if r.smb1.offered is False else "?")
        t.add_row(
            _t(r.target),
            _t(r.port),
            _t(r.status.value),
            _t(r.smb2.dialect if r.smb2 else ""),
            _t(smb1),
            _t(wording(r)),
        )
    return t


def findings_table(run: Run) -> Table:
    t = Table(title="Controls", title_justify="left")
    for col in ("Host", "Control", "Status", "Observed", "Expected", "Source", "Reason"):
        t.add_column(col, overflow="fold")
    for f in sorted(run.findings, key=lambda f: (f.host, f.control)):
        src = f"{f.source.kind}:{f.source.path} {f.source.location}".strip() if f.source else ""
        t.add_row(
            _t(f.host),
            _t(f.control),
            _t(f.status.value),
            _t(f.observed),
            _t(f.expected),
            _t(src),
            _t(f.reason),
        )
    return t


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
    parts: list[object] = [*headline(run)]
    if run.records:
        parts.append(records_table(run))
    if run.findings:
        parts.append(findings_table(run))
        scores = scores_table(run, catalog)
        if scores is not None:
            parts.append(scores)
    return to_text(*parts)

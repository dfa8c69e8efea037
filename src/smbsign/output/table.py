"""Table: for a person at a terminal.

Live scan records stream one row per host that answered (dead hosts only counted); live
findings are grouped by host, worst first; a stored run is :mod:`smbsign.report.table`.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from smbsign.model import (
    Finding,
    LdapObservation,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb1Signing,
)
from smbsign.output.base import (
    BytesBuffer,
    Format,
    Kind,
    Options,
    RecordStream,
    lazy_render,
)
from smbsign.textutil import plural
from smbsign.verdict import SHORT_NOT_REQUIRED, SHORT_REQUIRED, SHORT_UNKNOWN, short

if TYPE_CHECKING:
    from smbsign.report.diff import Diff
    from smbsign.run import History

__all__ = ["FORMAT", "TableWriter", "render_findings"]

_SIGNING_STYLE = {SHORT_UNKNOWN: "yellow", SHORT_REQUIRED: "green", SHORT_NOT_REQUIRED: "bold red"}


def _signing_cell(rec: ScanRecord) -> tuple[str, str]:
    """The verdict's short word for a column (:func:`smbsign.verdict.short`): (text, style)."""
    word = short(rec)
    return word, _SIGNING_STYLE[word]


def _smb1_cell(smb1: Smb1Observation) -> tuple[str, str]:
    if smb1.offered is None:
        return "?", "yellow"
    if not smb1.offered:
        return "off", ""
    signing = smb1.signing.value if smb1.signing else "?"
    return f"on, signing {signing}", "green" if smb1.signing is Smb1Signing.REQUIRED else "red"


# (header, width); the last column is free width.
_COLUMNS = (
    ("TARGET", 30),
    ("PORT", 6),
    ("STATUS", 9),
    ("SIGNING", 14),
    ("DIALECT", 8),
    ("SMB1", 24),
    ("REASON", 0),
)


def _row(cells: Iterable[tuple[str, str]]) -> Text:
    parts = [
        (text.ljust(width - 1) + " " if width else text, style)
        for (text, style), (_, width) in zip(cells, _COLUMNS, strict=True)
    ]
    return Text.assemble(*parts)


class TableWriter(RecordStream):
    """Rows streamed to a rich console for each host that answered; dead hosts only counted.

    Signing words come from :mod:`smbsign.verdict` ("NOT required": relay to SMB likely).
    """

    def __init__(self, console: Console) -> None:
        from smbsign.scan.runner import is_dead  # the scan machinery only when writing

        self._console = console
        self._header = False
        self._dead = is_dead

    def write(self, rec: ScanRecord) -> None:
        if self._dead(rec):
            return
        if not self._header:
            self._console.print(_row((h, "bold") for h, _ in _COLUMNS), soft_wrap=True)
            self._header = True
        name = rec.target
        if rec.hostname and rec.hostname != rec.target:
            name = f"{rec.target} ({rec.hostname})"
        cells = (
            (name, ""),
            (str(rec.port), ""),
            (rec.status.value, "" if rec.status is ScanStatus.OK else "yellow"),
            _signing_cell(rec),
            (rec.smb2.dialect if rec.smb2 else "-", ""),
            _smb1_cell(rec.smb1),
            (rec.reason, "dim"),
        )
        self._console.print(_row(cells), soft_wrap=True)
        if rec.ldap is not None:
            self._console.print(_ldap_row(rec.ldap), soft_wrap=True)

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._console.file.flush()


def _ldap_row(obs: LdapObservation) -> Text:
    """The line under a host's row when LDAP was probed (NOT marks an open relay path)."""
    signing = SHORT_NOT_REQUIRED if obs.relay_ldap else obs.signing.value.replace("_", " ")
    binding = obs.channel_binding.value.replace("_", " ")
    return Text.assemble(
        ("  ldap signing ", ""),
        (signing, "bold red" if obs.relay_ldap else ""),
        (", ldaps channel binding ", ""),
        (binding, "bold red" if obs.relay_ldaps else ""),
        (f" ({obs.method}) ", ""),
        (obs.reason, "dim"),
    )


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


def render_findings(findings: Sequence[Finding], width: int | None = None) -> bytes:
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


def _findings_table(opts: Options) -> Callable[[Sequence[Finding]], bytes]:
    return lambda findings: render_findings(findings, width=opts.width)


def _records_table(fh: TextIO, opts: Options) -> TableWriter:
    return TableWriter(opts.console or Console(file=fh, no_color=True, width=200))


def _t(value: object) -> Text:
    from smbsign.run import clean

    return Text(clean(value))


def render_history(history: History) -> bytes:
    """``smbsign history``: one row a run, newest first."""
    from smbsign.report.table import to_text
    from smbsign.run import clean, iso

    runs, store = history.runs, history.store
    t = Table(title=f"Runs in {store}", title_justify="left")
    for col in (
        "#",
        "Run",
        "Kind",
        "Started (UTC)",
        "Secs",
        "Hosts",
        "Relayable",
        "Pass",
        "Fail",
        "Err/Unk",
        "Command",
    ):
        t.add_column(col, overflow="fold")
    for r in runs:
        s = r.summary
        t.add_row(
            _t(r.seq),
            _t(r.id),
            _t(r.kind if r.complete else f"{r.kind} (incomplete)"),
            _t(iso(r.started)[:19]),
            _t(f"{(r.finished - r.started).total_seconds():.0f}"),
            _t(s.hosts),
            _t(s.relayable if r.kind == "scan" or s.smb_hosts else "-"),
            _t(s.findings.get("pass", 0)),
            _t(s.findings.get("fail", 0)),
            _t(s.findings.get("error", 0) + s.findings.get("unknown", 0)),
            _t(" ".join(r.argv)),
        )
    return to_text(t if runs else clean(f"No runs recorded in {store}."))


def render_diff(d: Diff) -> bytes:
    """``smbsign diff``: the headline, then a table per category of change."""
    from smbsign.report.diff import CATEGORIES, headline
    from smbsign.report.table import to_text

    parts: list[object] = [headline(d)]
    for cat in CATEGORIES:
        changes = d.category(cat)
        if not changes:
            continue
        t = Table(title=f"{cat.capitalize()} ({len(changes)})", title_justify="left")
        for col in ("Scope", "Host", "Port / control", "Before", "After"):
            t.add_column(col, overflow="fold")
        for c in changes:
            t.add_row(_t(c.scope), _t(c.host), _t(c.item), _t(c.before or "—"), _t(c.after or "—"))
        parts.append(t)
    return to_text(*parts)


FORMAT = Format(
    name="table",
    suffix=".txt",
    help="a table for people",
    render=lazy_render("smbsign.report.table"),
    writers={
        Kind.RECORDS: _records_table,
        Kind.FINDINGS: lambda fh, opts: BytesBuffer(_findings_table(opts), fh),
    },
    documents={Kind.HISTORY: render_history, Kind.DIFF: render_diff},
)

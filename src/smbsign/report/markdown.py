"""Markdown (GitHub-flavoured tables) for a ticket or a pull-request comment.

Problems first (relayable hosts, failing controls), passing items folded in ``<details>``.
Cells are escaped: ``|``, backticks, ``<``/``>`` and ``*_[]`` cannot break the table or
inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from smbsign.model import Status
from smbsign.report.hints import WIRE_HINTS, control_hints
from smbsign.report.scores import framework_scores
from smbsign.run import (
    CatalogLike,
    Run,
    RunInfo,
    ServerRow,
    clean,
    finding_order,
    iso,
    server_rows,
)
from smbsign.verdict import RELAYABLE, verdict, wording

_NOT_PASSING = frozenset({Status.FAIL, Status.ERROR, Status.UNKNOWN})
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")


def esc(value: object) -> str:
    return _SPECIAL.sub(r"\\\1", clean("" if value is None else value))


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return out


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{esc(summary)}</summary>", "", *body, "", "</details>", ""]


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    s = run.summary
    seq = f" (#{run.seq})" if run.seq is not None else ""
    out = [
        f"## smbsign {esc(run.kind)} report — run `{run.id}`{seq}",
        "",
        f"Started {iso(run.started)}, finished {iso(run.finished)}, "
        f"smbsign {esc(run.tool_version)}.",
        "",
    ]
    if not run.complete:
        out += ["**This run is incomplete (interrupted): not every target was probed.**", ""]
    if run.records or not run.findings:
        out += table(
            ("Hosts", "SMB servers", "Relayable", "Signing required", "Unknown"),
            [(s.hosts, s.smb_hosts, s.relayable, s.required, s.unknown)],
        )
        out.append("")
    if run.findings:  # an audit proves nothing about relaying: no wire counts without records
        order = ("pass", "fail", "error", "unknown", "not_applicable")
        out += table(
            ("Hosts audited", "Pass", "Fail", "Error", "Unknown", "N/A"),
            [(len({f.host for f in run.findings}), *(s.findings.get(k, 0) for k in order))],
        )
        out.append("")
    scores = framework_scores(run.findings, catalog)
    if scores:
        out += ["### Compliance per framework", ""]
        out += table(
            ("Framework", "Score", "Pass", "Fail", "Error", "Unknown", "N/A"),
            [
                (
                    f"{x.name} {x.version}".strip(),
                    "n/a" if x.score is None else f"{x.score:.1f} %",
                    x.counts.passed,
                    x.counts.failed,
                    x.counts.error,
                    x.counts.unknown,
                    x.counts.not_applicable,
                )
                for x in scores
            ],
        )
        out.append("")
    records = server_rows(run.records)  # failures first, then numeric address order
    bad = [r for r in records if verdict(r.record) in RELAYABLE]
    if run.records:
        out += [f"### Relayable hosts ({len(bad)})", ""]
        if bad:
            out += table(("Host", "Port", "Dialect", "Verdict"), _record_rows(bad))
            out += ["", "How to fix: " + "; ".join(esc(h) for h in WIRE_HINTS), ""]
        else:
            out += ["None: no SMB server that answered allows unsigned sessions.", ""]
        rest = [r for r in records if verdict(r.record) not in RELAYABLE]
        if rest:
            out += _details(
                f"Other hosts ({len(rest)})",
                table(("Host", "Port", "Dialect", "Verdict"), _record_rows(rest)),
            )
    findings = sorted(run.findings, key=finding_order)
    failing = [f for f in findings if f.status in _NOT_PASSING]
    if findings:
        out += [f"### Controls not passing ({len(failing)})", ""]
        out += table(
            ("Host", "Control", "Status", "Observed", "Expected", "Reason", "Fix"),
            [
                (
                    f.host,
                    f.control,
                    f.status.value,
                    f.observed,
                    f.expected,
                    f.reason,
                    control_hints(f.control, catalog)[-1] if f.status is Status.FAIL else "",
                )
                for f in failing
            ]
            or [("—", "", "", "", "", "nothing failing", "")],
        )
        out.append("")
        others = [f for f in findings if f.status not in _NOT_PASSING]
        if others:
            out += _details(
                f"Passing or not applicable ({len(others)})",
                table(
                    ("Host", "Control", "Status", "Observed"),
                    [(f.host, f.control, f.status.value, f.observed) for f in others],
                ),
            )
    return ("\n".join(out).rstrip() + "\n").encode()


def _record_rows(rows: Iterable[ServerRow]) -> list[tuple[object, ...]]:
    return [
        (
            row.host,
            row.record.port,
            row.record.smb2.dialect if row.record.smb2 else "",
            wording(row.record),
        )
        for row in rows
    ]

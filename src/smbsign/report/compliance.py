"""The compliance view (``smbsign report RUN --framework NAME``): each requirement of one
framework with its status across the run's hosts (worst of its controls on each host).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from rich.table import Table
from rich.text import Text

from smbsign.catalog.schema import Framework
from smbsign.output.cells import cell
from smbsign.report import markdown
from smbsign.report.scores import (
    RequirementStatus,
    framework_scores,
    requirement_to_dict,
    requirement_view,
    score_to_dict,
)
from smbsign.report.table import to_text
from smbsign.run import CatalogLike, Run
from smbsign.serialize import SCHEMA_VERSION

_BAD = ("fail", "error", "unknown")


def _hosts_with(r: RequirementStatus, statuses: tuple[str, ...]) -> str:
    return ", ".join(h for h, s in r.hosts if s in statuses)


def _score_line(run: Run, fw: Framework, catalog: CatalogLike) -> str:
    for s in framework_scores(run.findings, catalog):
        if s.framework == fw.id:
            return "n/a" if s.score is None else f"{s.score:.1f} %"
    return "n/a"


def as_table(run: Run, fw: Framework, catalog: CatalogLike) -> bytes:
    rows = requirement_view(run.findings, fw)
    t = Table(title=f"{fw.name} {fw.version} — run {run.id}".strip(), title_justify="left")
    for col in (
        "Requirement",
        "Title",
        "Controls",
        "Status",
        "Pass",
        "Fail",
        "Other",
        "Hosts not passing",
    ):
        t.add_column(col, overflow="fold")
    for r in rows:
        c = r.counts
        t.add_row(
            *(
                Text(str(v))
                for v in (
                    r.requirement,
                    r.title,
                    ", ".join(r.controls),
                    r.status,
                    c.passed,
                    c.failed,
                    c.error + c.unknown,
                    _hosts_with(r, _BAD),
                )
            )
        )
    return to_text(t, f"Weighted score: {_score_line(run, fw, catalog)}", *_no_findings(run))


def _no_findings(run: Run) -> tuple[str, ...]:
    """A scan run holds no audit findings: say why every requirement is not assessed."""
    if run.findings:
        return ()
    return (
        f"Run {run.id} is a {run.kind} run with no audit findings: every requirement is "
        "not assessed. Use the run of an smbsign audit (smbsign history --kind audit).",
    )


def as_json(run: Run, fw: Framework, catalog: CatalogLike) -> bytes:
    score = next((s for s in framework_scores(run.findings, catalog) if s.framework == fw.id), None)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.id,
        "framework": {"id": fw.id, "name": fw.name, "version": fw.version, "url": fw.url},
        "score": score_to_dict(score) if score else None,
        "requirements": [requirement_to_dict(r) for r in requirement_view(run.findings, fw)],
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def as_markdown(run: Run, fw: Framework, catalog: CatalogLike) -> bytes:
    rows = requirement_view(run.findings, fw)
    out = [
        f"## {markdown.esc(fw.name)} {markdown.esc(fw.version)} — run `{run.id}`",
        "",
        f"Weighted score: {_score_line(run, fw, catalog)}",
        "",
        *(f"{markdown.esc(line)}\n" for line in _no_findings(run)),
        *markdown.table(
            ("Requirement", "Title", "Controls", "Status", "Pass", "Fail", "Hosts not passing"),
            [
                (
                    r.requirement,
                    r.title,
                    ", ".join(r.controls),
                    r.status,
                    r.counts.passed,
                    r.counts.failed,
                    _hosts_with(r, _BAD),
                )
                for r in rows
            ],
        ),
    ]
    return ("\n".join(out) + "\n").encode()


def as_csv(run: Run, fw: Framework, catalog: CatalogLike) -> bytes:
    _ = catalog
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("run_id", "framework", "requirement", "title", "controls", "host", "status"))
    for r in requirement_view(run.findings, fw):
        for host, status in r.hosts:
            w.writerow(
                [
                    cell(v)
                    for v in (
                        run.id,
                        fw.id,
                        r.requirement,
                        r.title,
                        " ".join(r.controls),
                        host,
                        status,
                    )
                ]
            )
    return buf.getvalue().encode()


COMPLIANCE_FORMATS: dict[str, Callable[[Run, Framework, CatalogLike], bytes]] = {
    "table": as_table,
    "json": as_json,
    "markdown": as_markdown,
    "csv": as_csv,
}

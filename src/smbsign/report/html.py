"""Self-contained HTML report: one file, no outside request (strict CSP), inline CSS/JS/SVG.

Everything shown is computed here into plain view data; the Jinja2 template
(``templates/report.html.j2``) only loops and branches over it (ComplianceAsCode ADR 0002:
no logic in templates). Autoescaping is on: host names, reasons and evidence paths are text.
Counts the browser test reads are exposed as ``data-*`` attributes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from smbsign.model import (
    ChannelBinding,
    Finding,
    LdapObservation,
    LdapSigning,
    ScanRecord,
    Status,
)
from smbsign.report.domain_view import domain_view
from smbsign.report.hints import WIRE_HINTS, control_hints
from smbsign.report.scores import (
    FrameworkScore,
    StatusCounts,
    control_rows,
    framework_scores,
    requirement_view,
    weight_of,
)
from smbsign.run import (
    CatalogLike,
    Run,
    RunInfo,
    ServerRow,
    Summary,
    finding_order,
    iso,
    server_rows,
)
from smbsign.scan.targets import address_sort_key
from smbsign.serialize import provenance_to_dict
from smbsign.verdict import RELAYABLE, Verdict, verdict, wording

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
# Colours per status / verdict (used by the template's CSS classes and the SVG).
COLOURS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "error": "#ef6c00",
    "unknown": "#757575",
    "not_applicable": "#b0bec5",
}
_FIXABLE = frozenset({Status.FAIL, Status.UNKNOWN})
_DONUT_ORDER = ("pass", "fail", "error", "unknown", "not_applicable")
_VERDICT_CLASS = {
    Verdict.REQUIRED: "pass",
    Verdict.NOT_REQUIRED: "fail",
    Verdict.DISABLED: "fail",
    Verdict.UNKNOWN: "unknown",
    Verdict.NO_SMB: "not_applicable",
}


# The score table lists every framework; donuts are drawn for this many, lowest score first
# (the full catalog maps ~25 frameworks: a donut each would bury the rest of the page).
DONUTS_MAX = 4


@dataclass(frozen=True, slots=True)
class Segment:
    status: str
    weight: int
    colour: str
    dasharray: str
    dashoffset: str


@dataclass(frozen=True, slots=True)
class Donut:
    """One framework's score: a row of the score table, and a donut for the first few."""

    framework: str
    title: str
    score: str  # "87.5 %" or "n/a"
    score_value: str  # data attribute: "87.5" or ""
    segments: tuple[Segment, ...]  # ring: shares of the scored weight (pass, fail, error)
    bar: tuple[tuple[str, float, float], ...]  # (status, x %, width %) of the table's bar
    counts: dict[str, int]
    excluded: int  # unknown + not_applicable (out of the denominator)
    weights: str  # "35 / 40"


def donut(score: FrameworkScore) -> Donut:
    """Stroke-dash segments on a circle of circumference 100 (r = 15.9155).

    The ring and the bar split the *scored weight* (pass, fail, error), so the green share is
    the score itself; unknown and not-applicable pairs are outside the denominator and are
    listed as counts, not drawn.
    """
    counts = score.counts.as_dict()
    parts = (
        ("pass", score.passed_weight),
        ("fail", score.failed_weight),
        ("error", score.error_weight),
    )
    segments: list[Segment] = []
    bar: list[tuple[str, float, float]] = []
    offset, x = 25.0, 0.0  # the ring starts at 12 o'clock
    for st, weight in parts:
        if not weight or not score.scored_weight:
            continue
        share = 100.0 * weight / score.scored_weight
        segments.append(
            Segment(st, weight, COLOURS[st], f"{share:.3f} {100 - share:.3f}", f"{offset:.3f}")
        )
        bar.append((st, round(x, 3), round(share, 3)))
        offset -= share
        x += share
    return Donut(
        framework=score.framework,
        title=f"{score.name} {score.version}".strip(),
        score="n/a" if score.score is None else f"{score.score:.1f} %",
        score_value="" if score.score is None else f"{score.score:.1f}",
        segments=tuple(segments),
        bar=tuple(bar),
        counts=counts,
        excluded=counts["unknown"] + counts["not_applicable"],
        weights=f"{score.passed_weight} / {score.scored_weight}",
    )


def _lowest_first(s: FrameworkScore) -> tuple[bool, float, str]:
    return (s.score is None, s.score or 0.0, f"{s.name} {s.version}".lower())


@dataclass(frozen=True, slots=True)
class TrendChart:
    width: int
    height: int
    points: tuple[tuple[float, float, str, str, int], ...]  # x, y, label, run id, value
    polyline: str
    y_ticks: tuple[tuple[float, int], ...]
    series: str


def trend_chart(trend: Sequence[RunInfo], current: Run) -> TrendChart | None:
    """Relayable hosts per run when the run has wire records, else failing pairs; oldest first."""
    runs = [t for t in trend if t.seq != current.seq]
    wire = bool(current.records)
    series = "Relayable hosts" if wire else "Failing host×control pairs"

    def value(s: Summary) -> int:
        return s.relayable if wire else s.findings.get("fail", 0)

    values = [(f"#{t.seq}", t.id, value(t.summary)) for t in runs]
    here = f"#{current.seq}" if current.seq is not None else "this run"
    values.append((here, current.id, value(current.summary)))
    if len(values) < 2:
        return None
    width, height, pad = 640, 200, 36
    top = max(1, max(v for _, _, v in values))
    step = (width - 2 * pad) / (len(values) - 1)
    pts = tuple(
        (pad + i * step, height - pad - (height - 2 * pad) * v / top, label, rid, v)
        for i, (label, rid, v) in enumerate(values)
    )
    ticks = sorted({0, top, math.ceil(top / 2)})
    return TrendChart(
        width=width,
        height=height,
        points=tuple((round(x, 1), round(y, 1), lab, rid, v) for x, y, lab, rid, v in pts),
        polyline=" ".join(f"{x:.1f},{y:.1f}" for x, y, *_ in pts),
        y_ticks=tuple((round(height - pad - (height - 2 * pad) * t / top, 1), t) for t in ticks),
        series=series,
    )


def _record_row(row: ServerRow) -> dict[str, Any]:
    r = row.record
    v = verdict(r)
    smb1 = {True: "offered", False: "not offered", None: "unknown"}[r.smb1.offered]
    if r.smb1.signing is not None:
        smb1 += f", signing {r.smb1.signing.value}"
    return {
        "host": row.host,
        "hostname": r.hostname or "",
        "port": r.port,
        "status": r.status.value,
        "verdict": v.value,
        "css": _VERDICT_CLASS[v],
        "relayable": v in RELAYABLE,
        "dialect": r.smb2.dialect if r.smb2 else "",
        "security_mode": f"0x{r.smb2.security_mode:04x}" if r.smb2 else "",
        "smb1": smb1,
        "wording": wording(r),
        "transport": r.transport,
    }


#: The relay paths of a host, in column order (scan --protocols smb,ldap,ldaps; docs/ldap.md).
RELAY_PATHS = ("SMB 445", "SMB 139", "LDAP 389", "LDAPS 636")
_NO_LISTENER = re.compile(r"port \d+ (closed|filtered)\b")


def _cell(state: str, text: str, title: str = "") -> dict[str, str]:
    """One relay path: ``open`` (proven relayable), ``partial``, ``closed`` (proven blocked, or
    nothing listens), ``unknown`` (probed, undetermined) or ``not_probed``."""
    return {"state": state, "text": text, "title": title or text}


def _smb_cell(rec: ScanRecord | None) -> dict[str, str]:
    if rec is None or rec.reason.startswith("not_probed"):
        return _cell("not_probed", "not probed")
    v = verdict(rec)
    if v in RELAYABLE:
        return _cell("open", "open", wording(rec))
    if v is Verdict.REQUIRED:
        return _cell("closed", "closed", wording(rec))
    if v is Verdict.NO_SMB:
        return _cell("closed", f"no SMB ({rec.status.value})", wording(rec))
    return _cell("unknown", "unknown", wording(rec))


def _ldap_cells(obs: LdapObservation | None) -> tuple[dict[str, str], dict[str, str]]:
    if obs is None:
        return _cell("not_probed", "not probed"), _cell("not_probed", "not probed")
    ldap_why, _, ldaps_why = obs.reason.rpartition("; ldaps: ")
    ldap_why = ldap_why.removeprefix("ldap: ")
    signing = {
        LdapSigning.NOT_REQUIRED: ("open", "open", f"signing not required: {ldap_why}"),
        LdapSigning.REQUIRED: ("closed", "closed", f"signing required: {ldap_why}"),
    }
    binding = {
        ChannelBinding.NEVER: ("open", "open", f"channel binding never: {ldaps_why}"),
        ChannelBinding.ALWAYS: ("closed", "closed", f"channel binding always: {ldaps_why}"),
        ChannelBinding.WHEN_SUPPORTED: (
            "partial",
            "when supported",
            "a wrong token is refused, a bind without one accepted: clients that send no "
            f"channel-binding token can still be relayed ({ldaps_why})",
        ),
        ChannelBinding.NO_TLS: ("closed", "no LDAPS", ldaps_why),
    }
    ldap = signing.get(obs.signing) or _undecided(ldap_why, "no LDAP")
    ldaps = binding.get(obs.channel_binding) or _undecided(ldaps_why, "no LDAPS")
    return _cell(*ldap), _cell(*ldaps)


def _undecided(why: str, nothing: str) -> tuple[str, str, str]:
    """A check that proved nothing: not asked, nothing listening, or probed and unknown."""
    if why == "not probed":
        return "not_probed", "not probed", "not probed"
    if _NO_LISTENER.match(why):
        return "closed", nothing, why
    return "unknown", "unknown", why


def relay_paths(records: Sequence[ScanRecord]) -> list[dict[str, Any]]:
    """Per address whose records carry ``ldap``: SMB 445/139 and LDAP 389 / LDAPS 636 side by
    side, each open / partial / closed / unknown / not probed; hosts with an open path first.
    Empty when no record carries ``ldap`` (an SMB-only run keeps its page as it was)."""
    if not any(r.ldap is not None for r in records):
        return []
    by_host: dict[str, dict[str, Any]] = {}
    for r in records:
        row = by_host.setdefault(r.target, {"host": r.target, "hostname": "", "smb": {}})
        row["hostname"] = row["hostname"] or r.hostname or ""
        row["smb"].setdefault(r.port, r)
        if r.ldap is not None:
            row["ldap"] = r.ldap
    rows = []
    for row in by_host.values():
        cells = [_smb_cell(row["smb"].get(445)), _smb_cell(row["smb"].get(139))]
        cells += _ldap_cells(row.get("ldap"))
        opened = [RELAY_PATHS[i] for i, c in enumerate(cells) if c["state"] == "open"]
        rows.append(
            {
                "host": row["host"],
                "hostname": row["hostname"],
                "cells": cells,
                "open": ", ".join(opened),
                "state": "open" if opened else _weakest(cells),
            }
        )
    rank = {"open": 0, "partial": 1, "unknown": 2, "closed": 3}
    rows.sort(key=lambda x: (rank[x["state"]], address_sort_key(x["host"])))
    return rows


def _weakest(cells: Sequence[dict[str, str]]) -> str:
    """A host without an open path: ``partial`` before ``unknown`` before ``closed``."""
    states = {c["state"] for c in cells}
    return next((s for s in ("partial", "unknown") if s in states), "closed")


def _finding_row(f: Finding, catalog: CatalogLike | None) -> dict[str, Any]:
    return {
        "host": f.host,
        "control": f.control,
        "title": f.title,
        "status": f.status.value,
        "severity": f.severity,
        "weight": weight_of(f, catalog),
        "observed": "" if f.observed is None else str(f.observed),
        "expected": f.expected,
        "reason": f.reason,
        "notes": list(f.notes),
        "evidence": provenance_to_dict(f.source),
        "hints": list(control_hints(f.control, catalog)) if f.status in _FIXABLE else [],
    }


def _control_status(c: StatusCounts) -> str:
    for status, n in (("fail", c.failed), ("error", c.error), ("unknown", c.unknown)):
        if n:
            return status
    return "pass" if c.passed else "not_applicable"


def view(run: Run, catalog: CatalogLike | None, trend: Sequence[RunInfo]) -> dict[str, Any]:
    s = run.summary
    scores = sorted(framework_scores(run.findings, catalog), key=_lowest_first)
    frameworks: list[dict[str, Any]] = []
    if catalog is not None:
        for sc in scores:
            fw = catalog.frameworks[sc.framework]
            reqs = requirement_view(run.findings, fw)
            frameworks.append({"donut": donut(sc), "requirements": reqs})
    donuts = [f["donut"] for f in frameworks if f["donut"].score_value][:DONUTS_MAX]
    counts = {st.value: s.findings.get(st.value, 0) for st in Status}
    return {
        "csp": CSP,
        "run": run,
        "started": iso(run.started),
        "finished": iso(run.finished),
        "started_text": f"{run.started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
        "duration": _duration((run.finished - run.started).total_seconds()),
        "argv": " ".join(run.argv),
        "summary": s,
        "finding_counts": counts,
        "frameworks": frameworks,
        "donuts": donuts,
        "donuts_all": len(donuts) == len(frameworks),
        "trend": trend_chart(trend, run),
        "records": [_record_row(row) for row in server_rows(run.records)],
        "relay_paths": relay_paths(run.records),
        "relay_columns": RELAY_PATHS,
        "controls": [
            {"row": c, "status": _control_status(c.counts)}
            for c in control_rows(run.findings, catalog)
        ],
        "findings": [_finding_row(f, catalog) for f in sorted(run.findings, key=finding_order)],
        "wire_hints": WIRE_HINTS,
        "colours": COLOURS,
        "domain": domain_view(run.findings),
    }


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    return f"{minutes} min {sec} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("smbsign.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    template = _env().get_template("report.html.j2")
    return (template.render(**view(run, catalog, trend)).rstrip() + "\n").encode()

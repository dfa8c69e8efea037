"""Weighted compliance scores, per-control rows and the per-requirement compliance view.

Score per framework (EDCA's formula, docs/reference.md §10.4; see ``run.py`` for the choice on
``error``)::

    score = 100 × Σ weight(pass) / Σ weight(pass, fail, error)

over the distinct host×control pairs whose control the framework's requirements name.
``unknown`` and ``not_applicable`` pairs are excluded from the denominator and reported
as counts. Weights come from the catalog control (``Control.weight``), else from the
finding, else 1.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from smbsign.catalog.schema import Framework
from smbsign.model import Finding, Status
from smbsign.run import CatalogLike
from smbsign.scan.target_spec import address_sort_key

SCORED = frozenset({Status.PASS, Status.FAIL, Status.ERROR})

# Worst first: the status a requirement takes when its controls or hosts disagree.
_RANK = {
    Status.FAIL: 4,
    Status.ERROR: 3,
    Status.UNKNOWN: 2,
    Status.PASS: 1,
    Status.NOT_APPLICABLE: 0,
}
NOT_ASSESSED = "not_assessed"  # no finding at all for the requirement's controls


def worst(statuses: Iterable[Status]) -> Status | None:
    return max(statuses, key=_RANK.__getitem__, default=None)


@dataclass(frozen=True, slots=True)
class StatusCounts:
    passed: int = 0
    failed: int = 0
    error: int = 0
    unknown: int = 0
    not_applicable: int = 0

    @classmethod
    def of(cls, statuses: Iterable[Status]) -> StatusCounts:
        c = Counter(statuses)
        return cls(
            passed=c[Status.PASS],
            failed=c[Status.FAIL],
            error=c[Status.ERROR],
            unknown=c[Status.UNKNOWN],
            not_applicable=c[Status.NOT_APPLICABLE],
        )

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.unknown + self.not_applicable

    def as_dict(self) -> dict[str, int]:
        return {
            "pass": self.passed,
            "fail": self.failed,
            "error": self.error,
            "unknown": self.unknown,
            "not_applicable": self.not_applicable,
        }


@dataclass(frozen=True, slots=True)
class FrameworkScore:
    framework: str  # framework id (file name)
    name: str
    version: str
    score: float | None  # percent, one decimal; None when nothing is scorable
    passed_weight: int
    scored_weight: int  # Σ weight over pass + fail + error
    counts: StatusCounts  # host×control pairs per status
    failed_weight: int = 0  # Σ weight of fail pairs (scored = passed + failed + error)
    error_weight: int = 0  # Σ weight of error pairs


def weight_of(f: Finding, catalog: CatalogLike | None) -> int:
    if catalog is not None and f.control in catalog.controls:
        return catalog.controls[f.control].weight
    return f.weight if f.weight > 0 else 1


def _pairs(findings: Iterable[Finding]) -> dict[tuple[str, str], Finding]:
    """One finding per host×control (the worst one, should a run hold duplicates)."""
    out: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.host, f.control)
        old = out.get(key)
        if old is None or _RANK[f.status] > _RANK[old.status]:
            out[key] = f
    return out


def framework_controls(fw: Framework) -> frozenset[str]:
    return frozenset(c for req in fw.requirements for c in req.controls)


def framework_scores(
    findings: Sequence[Finding], catalog: CatalogLike | None
) -> list[FrameworkScore]:
    """One score per catalog framework that names at least one control seen in the run."""
    if catalog is None:
        return []
    pairs = _pairs(findings)
    scores: list[FrameworkScore] = []
    for fw_id in sorted(catalog.frameworks):
        fw = catalog.frameworks[fw_id]
        controls = framework_controls(fw)
        mine = [f for (_, c), f in pairs.items() if c in controls]
        if not mine:
            continue
        weight = {st: sum(weight_of(f, catalog) for f in mine if f.status is st) for st in SCORED}
        passed = weight[Status.PASS]
        scored = sum(weight.values())
        scores.append(
            FrameworkScore(
                framework=fw.id,
                name=fw.name,
                version=fw.version,
                score=round(100.0 * passed / scored, 1) if scored else None,
                passed_weight=passed,
                scored_weight=scored,
                counts=StatusCounts.of(f.status for f in mine),
                failed_weight=weight[Status.FAIL],
                error_weight=weight[Status.ERROR],
            )
        )
    return scores


def score_to_dict(s: FrameworkScore) -> dict[str, object]:
    return {
        "framework": s.framework,
        "name": s.name,
        "version": s.version,
        "score": s.score,
        "passed_weight": s.passed_weight,
        "scored_weight": s.scored_weight,
        "counts": s.counts.as_dict(),
    }


# ---------------------------------------------------------------- per-control rows


@dataclass(frozen=True, slots=True)
class ControlRow:
    control: str
    title: str
    severity: str
    weight: int
    counts: StatusCounts  # hosts per status


def control_rows(findings: Sequence[Finding], catalog: CatalogLike | None) -> list[ControlRow]:
    by_control: dict[str, list[Finding]] = defaultdict(list)
    for f in _pairs(findings).values():
        by_control[f.control].append(f)
    rows: list[ControlRow] = []
    for cid in sorted(by_control):
        fs = by_control[cid]
        ctl = catalog.controls.get(cid) if catalog is not None else None
        rows.append(
            ControlRow(
                control=cid,
                title=ctl.title if ctl else fs[0].title,
                severity=ctl.severity if ctl else fs[0].severity,
                weight=weight_of(fs[0], catalog),
                counts=StatusCounts.of(f.status for f in fs),
            )
        )
    return rows


# ------------------------------------------------------------------ compliance view


@dataclass(frozen=True, slots=True)
class RequirementStatus:
    """One requirement of a framework across the run's hosts."""

    requirement: str
    title: str
    controls: tuple[str, ...]
    status: str  # a Status value or "not_assessed"
    hosts: tuple[tuple[str, str], ...]  # (host, status) for every host of the run
    counts: StatusCounts  # hosts per status (hosts with no finding are not counted)
    detail: Mapping[str, str]


def find_framework(catalog: CatalogLike, name: str) -> Framework | None:
    """Match a framework by id, display name or "name version", case-insensitively."""
    want = " ".join(name.split()).lower()
    for fw in catalog.frameworks.values():
        full = f"{fw.name} {fw.version}".strip().lower()
        if want in (fw.id.lower(), fw.name.lower(), full):
            return fw
    return None


def requirement_view(findings: Sequence[Finding], fw: Framework) -> list[RequirementStatus]:
    """Each requirement's status on each host (worst of its controls there), in file order."""
    pairs = _pairs(findings)
    hosts = sorted({h for h, _ in pairs}, key=lambda h: (address_sort_key(h), h))
    out: list[RequirementStatus] = []
    for req in fw.requirements:
        per_host: list[tuple[str, str]] = []
        seen: list[Status] = []
        for host in hosts:
            st = worst(pairs[(host, c)].status for c in req.controls if (host, c) in pairs)
            per_host.append((host, st.value if st else NOT_ASSESSED))
            if st is not None:
                seen.append(st)
        overall = worst(seen)
        out.append(
            RequirementStatus(
                requirement=req.id,
                title=req.title,
                controls=req.controls,
                status=overall.value if overall else NOT_ASSESSED,
                hosts=tuple(per_host),
                counts=StatusCounts.of(seen),
                detail=dict(req.detail),
            )
        )
    return out


def requirement_to_dict(r: RequirementStatus) -> dict[str, object]:
    return {
        "requirement": r.requirement,
        "title": r.title,
        "controls": list(r.controls),
        "status": r.status,
        "counts": r.counts.as_dict(),
        "hosts": [{"host": h, "status": s} for h, s in r.hosts],
        "detail": dict(r.detail),
    }

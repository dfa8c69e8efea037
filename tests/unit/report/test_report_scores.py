"""Weighted scores (EDCA formula; error counts, unknown/not-applicable do not) and the
per-requirement compliance view."""

from __future__ import annotations

import report_samples as rs
from smbsign.model import Finding, Status
from smbsign.report.scores import (
    NOT_ASSESSED,
    control_rows,
    find_framework,
    framework_scores,
    requirement_view,
)


def test_sample_scores_match_hand_computation(catalog: rs.SampleCatalog) -> None:
    scores = {s.framework: s for s in framework_scores(rs.findings(), catalog)}
    assert {k: v.score for k, v in scores.items()} == rs.EXPECTED_SCORES
    cis = scores["cis-win11"]
    assert (cis.passed_weight, cis.scored_weight) == (26, 46)
    assert cis.counts.as_dict() == {
        "pass": 4,
        "fail": 2,
        "error": 1,
        "unknown": 1,
        "not_applicable": 1,
    }


def _f(host: str, control: str, status: Status, weight: int = 0) -> Finding:
    return Finding(host, control, status, None, "= 1", None, "", weight=weight)


def test_error_lowers_score_unknown_and_na_do_not(catalog: rs.SampleCatalog) -> None:
    base = [_f("a", rs.SERVER, Status.PASS)]
    assert framework_scores(base, catalog)[0].score == 100.0
    with_unknown = [
        *base,
        _f("b", rs.SERVER, Status.UNKNOWN),
        _f("c", rs.SERVER, Status.NOT_APPLICABLE),
    ]
    assert framework_scores(with_unknown, catalog)[0].score == 100.0
    with_error = [*base, _f("b", rs.SERVER, Status.ERROR)]
    assert framework_scores(with_error, catalog)[0].score == 50.0


def test_nothing_scorable_has_no_score(catalog: rs.SampleCatalog) -> None:
    only_unknown = [_f("a", rs.SERVER, Status.UNKNOWN)]
    scores = framework_scores(only_unknown, catalog)
    assert scores and all(s.score is None for s in scores)
    assert framework_scores(only_unknown, None) == []
    assert framework_scores([_f("a", "not-in-catalog", Status.FAIL)], catalog) == []


def test_catalog_weight_wins_and_duplicates_count_once(catalog: rs.SampleCatalog) -> None:
    fs = [
        _f("a", rs.SERVER, Status.PASS, weight=1),  # catalog weight 10 wins
        _f("a", rs.CLIENT, Status.FAIL, weight=99),  # catalog weight 5 wins
        _f("a", rs.CLIENT, Status.FAIL),  # same pair again: counted once
    ]
    nist = next(s for s in framework_scores(fs, catalog) if s.framework == "nist-800-53")
    assert (nist.passed_weight, nist.scored_weight) == (10, 15)
    rows = {r.control: r for r in control_rows(fs, catalog)}
    assert rows[rs.CLIENT].counts.failed == 1 and rows[rs.CLIENT].weight == 5


def test_requirement_view_worst_status_per_host(catalog: rs.SampleCatalog) -> None:
    fw = catalog.frameworks["nist-800-53"]
    view = {r.requirement: r for r in requirement_view(rs.findings(), fw)}
    sc8 = view["SC-8"]
    assert dict(sc8.hosts) == {"dc01": "error", "ws01": "fail", "ws02": "fail"}
    assert sc8.status == "fail"
    assert view["SC-23"].status == NOT_ASSESSED
    assert all(s == NOT_ASSESSED for _, s in view["SC-23"].hosts)
    cis = {
        r.requirement: r for r in requirement_view(rs.findings(), catalog.frameworks["cis-win11"])
    }
    assert dict(cis["18.4.4"].hosts) == {"dc01": "pass", "ws01": "pass", "ws02": "not_applicable"}
    assert cis["18.4.4"].status == "pass"


def test_find_framework_by_id_or_name(catalog: rs.SampleCatalog) -> None:
    assert find_framework(catalog, "NIST-800-53") is catalog.frameworks["nist-800-53"]
    assert find_framework(catalog, "nist sp 800-53") is catalog.frameworks["nist-800-53"]
    assert find_framework(catalog, "pci") is None


def test_weights_split_by_status(catalog: rs.SampleCatalog) -> None:
    """The HTML ring and bar draw pass / fail / error weight: they must add up to the score."""
    cis = {s.framework: s for s in framework_scores(rs.findings(), catalog)}["cis-win11"]
    # fail: ws01/client (5), ws02/server (10); error: dc01/client (5)
    assert (cis.passed_weight, cis.failed_weight, cis.error_weight) == (26, 15, 5)
    assert cis.passed_weight + cis.failed_weight + cis.error_weight == cis.scored_weight

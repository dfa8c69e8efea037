"""Diff of two runs: regressed, fixed, appeared, vanished, changed; ``worse`` drives exit 1."""

from __future__ import annotations

from dataclasses import replace

import report_samples as rs
from smbsign.model import Finding, ScanRecord, ScanStatus, Smb1Observation, Status
from smbsign.report.diff import diff_runs, diff_to_dict


def _rec(host: str, required: bool | None, status: ScanStatus = ScanStatus.OK) -> ScanRecord:
    smb2 = rs._smb2(0x03 if required else 0x01) if required is not None else None
    return ScanRecord(host, 445, status, required, Smb1Observation(False), smb2)


def _find(host: str, status: Status) -> Finding:
    return Finding(host, rs.SERVER, status, None, "= 1", None, "")


def test_host_transitions() -> None:
    a = replace(
        rs.scan_run("aaaa000001"),
        records=(_rec("r2n", True), _rec("n2r", False), _rec("r2u", True), _rec("gone", True)),
    )
    b = replace(
        rs.scan_run("bbbb000001"),
        records=(
            _rec("r2n", False),
            _rec("n2r", True),
            _rec("r2u", None, ScanStatus.ERROR),
            _rec("new", False),
        ),
    )
    d = diff_runs(a, b)
    assert [(c.host, c.before, c.after) for c in d.regressed] == [
        ("r2n", "required", "not_required")
    ]
    assert [(c.host, c.before, c.after) for c in d.fixed] == [("n2r", "not_required", "required")]
    assert [(c.host, c.after) for c in d.appeared] == [("new", "not_required")]
    assert [(c.host, c.before) for c in d.vanished] == [("gone", "required")]
    assert [(c.host, c.after) for c in d.changed] == [("r2u", "unknown")]
    assert d.worse


def test_control_transitions_and_not_worse() -> None:
    a = replace(
        rs.audit_run("aaaa000002"),
        findings=(_find("h1", Status.FAIL), _find("h2", Status.PASS), _find("h3", Status.FAIL)),
    )
    b = replace(
        rs.audit_run("bbbb000002"),
        findings=(_find("h1", Status.PASS), _find("h2", Status.UNKNOWN), _find("h4", Status.PASS)),
    )
    d = diff_runs(a, b)
    assert [c.host for c in d.fixed] == ["h1"] and [c.host for c in d.changed] == ["h2"]
    assert [(c.scope, c.host, c.item, c.before) for c in d.vanished] == [
        ("control", "h3", rs.SERVER, "fail")
    ]
    assert [(c.scope, c.host, c.after) for c in d.appeared] == [("control", "h4", "pass")]
    assert not d.regressed and not d.worse
    assert diff_to_dict(d)["worse"] is False


def test_same_run_has_no_changes() -> None:
    d = diff_runs(rs.mixed_run("aaaa000003"), rs.mixed_run("bbbb000003"))
    assert not any(
        diff_to_dict(d)[c] for c in ("regressed", "fixed", "appeared", "vanished", "changed")
    )


def test_appeared_passing_is_not_worse() -> None:
    a = replace(rs.audit_run("aaaa000004"), findings=())
    b = replace(rs.audit_run("bbbb000004"), findings=(_find("h1", Status.PASS),))
    assert not diff_runs(a, b).worse
    c = replace(rs.audit_run("cccc000004"), findings=(_find("h1", Status.FAIL),))
    assert diff_runs(a, c).worse

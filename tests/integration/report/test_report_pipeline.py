"""The flow a user runs, end to end on real Samba servers in the lab (docs/lab.md):
``smbsign scan`` twice with a signing change in between, ``smbsign audit`` of evidence
files, then ``history``, ``diff`` and ``report`` (HTML, compliance view) from the store.

Skipped with the reason where no lab can be built (not root, no namespaces, no smbd); a
failure instead under ``SMBSIGN_REQUIRE_LAB=1`` (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smbsign.catalog import load_catalog
from smbsign.lab.lab import Lab, lab_unavailable_reason, smbsign_argv
from smbsign.report.scores import framework_scores
from smbsign.store import load_run

pytestmark = pytest.mark.lab

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "collect"
EVIDENCE = (
    FIXTURES / "reg" / "server-not-required.fail.regedit4.reg",
    FIXTURES / "smbconf" / "auto.fail.smb.conf",
)


@dataclass(frozen=True)
class Flow:
    db: str
    web: str  # address of the host fixed between the scans
    dc: str  # address of the host that always required signing
    scans: tuple[str, str]  # run ids, oldest first
    audit: str


def smbsign(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run_id(stderr: str) -> str:
    found = re.search(r"recorded (?:scan|audit) run ([a-z0-9]+) ", stderr)
    assert found, stderr
    return found.group(1)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    reason = lab_unavailable_reason()
    if reason:
        if os.environ.get("SMBSIGN_REQUIRE_LAB") == "1":
            pytest.fail(f"lab tests are required here but cannot run: {reason}")
        pytest.skip(reason)
    db = f"sqlite:///{tmp_path_factory.mktemp('flow') / 'history.sqlite'}"
    with Lab(hosts=()) as lab:
        lab.start_server("web1", {"server signing": "auto"})
        lab.start_server("dc1", {"server signing": "mandatory"})
        web, dc = lab.address("web1"), lab.address("dc1")
        scan = [*smbsign_argv(), "scan", web, dc, "--db", db, "--no-progress", "-o", os.devnull]
        first = lab.run_in_client(scan, timeout=120)
        assert first.returncode == 1, first.stderr  # web1 does not require signing
        lab.reload("web1", {"server signing": "mandatory"})
        second = lab.run_in_client(scan, timeout=120)
        assert second.returncode == 0, second.stderr
    audit = smbsign("audit", *map(str, EVIDENCE), "--db", db, "--format", "json")
    assert audit.returncode == 1, audit.stderr  # both files hold failing controls
    yield Flow(db, web, dc, (_run_id(first.stderr), _run_id(second.stderr)), _run_id(audit.stderr))


def test_history_lists_every_run(flow: Flow) -> None:
    proc = smbsign("history", "--db", flow.db, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)["runs"]
    assert [(r["id"], r["kind"]) for r in runs] == [
        (flow.audit, "audit"),
        (flow.scans[1], "scan"),
        (flow.scans[0], "scan"),
    ]
    assert [r["summary"]["relayable"] for r in runs[1:]] == [0, 1]


def test_diff_of_the_two_scans(flow: Flow) -> None:
    proc = smbsign("diff", "previous", "latest", "--kind", "scan", "--db", flow.db, "-f", "json")
    assert proc.returncode == 0, proc.stderr  # something was fixed, nothing got worse
    doc = json.loads(proc.stdout)
    assert [(c["host"], c["before"], c["after"]) for c in doc["fixed"]] == [
        (flow.web, "not_required", "required")
    ]
    assert not doc["regressed"] and not doc["appeared"] and not doc["vanished"]
    back = smbsign("diff", flow.scans[1], flow.scans[0], "--db", flow.db)
    assert back.returncode == 1 and "1 regressed" in back.stdout


def test_scan_html_shows_relayable_hosts_and_trend(flow: Flow, tmp_path: Path) -> None:
    out = tmp_path / "scan.html"
    proc = smbsign("report", flow.scans[1], "--format", "html", "-o", str(out), "--db", flow.db)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert 'data-relayable="0"' in page and 'data-smb-hosts="2"' in page
    assert re.findall(
        r'class="trend-point"[^>]*data-run="([a-z0-9]+)" data-value="(\d+)"', page
    ) == [
        (flow.scans[0], "1"),
        (flow.scans[1], "0"),
    ]
    assert page.count('<tr data-status="required"') == 2
    assert 'id="frameworks"' not in page  # a scan has no findings: no compliance section


def test_audit_html_scores_and_compliance_view(flow: Flow, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    proc = smbsign("report", "latest", "--format", "html", "-o", str(out), "--db", flow.db)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    run = load_run(flow.db, flow.audit)
    scores = framework_scores(run.findings, load_catalog())
    shown = dict(re.findall(r'<tr data-framework="([^"]+)" data-score="([^"]*)"', page))
    assert shown == {s.framework: "" if s.score is None else f"{s.score:.1f}" for s in scores}
    assert 'id="hosts"' not in page and "Relayable hosts" not in page  # nothing was probed
    view = smbsign("report", flow.audit, "--framework", "cis-windows-11", "--db", flow.db)
    assert view.returncode == 0, view.stderr
    assert "Weighted score" in view.stdout and "fail" in view.stdout

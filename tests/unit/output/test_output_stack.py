"""The one output stack (smbsign.output): one registry, one writer interface, one CSV cell
function, the run model free of presentation (#8 item 2)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from smbsign.model import (
    Finding,
    Layer,
    Provenance,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb2Observation,
    Status,
)
from smbsign.output import registry
from smbsign.output.base import Format, Kind, Meta, Options, RunBuffer
from smbsign.output.cells import cell
from smbsign.output.csv_out import CsvWriter
from smbsign.report import FORMATS as REPORT_FORMATS
from smbsign.report import sarif
from smbsign.run import Run

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def record(target: str, required: bool, reason: str = "SMB2 3.1.1") -> ScanRecord:
    mode = 0x03 if required else 0x01
    smb2 = Smb2Observation("3.1.1", 0x0311, mode, 0, "6b1c2e0a-0000-0000-0000-000000000000")
    return ScanRecord(
        target, 445, ScanStatus.OK, required, Smb1Observation(False), smb2, reason=reason
    )


def finding(host: str, status: Status) -> Finding:
    return Finding(
        host=host,
        control="smb-server-signing-required",
        title="SMB server signing required",
        status=status,
        severity="high",
        observed=0,
        expected="1",
        source=Provenance("reg", "x.reg", "line 3", Layer.LOCAL),
        reason="RequireSecuritySignature = 0",
    )


def test_report_formats_and_scan_formats_come_from_the_one_registry() -> None:
    assert set(REPORT_FORMATS) == set(registry.names(Kind.RUN))
    assert REPORT_FORMATS["sarif"] is registry.FORMATS["sarif"].render
    from smbsign.scan import output as scan_output

    assert registry.names(Kind.RECORDS) == scan_output.FORMATS
    for kind in (Kind.RECORDS, Kind.FINDINGS, Kind.RUN):  # at least the formats they had
        assert {"table", "json", "jsonl", "csv"} <= set(registry.names(kind))


def test_a_format_that_cannot_carry_a_kind_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    only_runs = Format(
        "pdf", ".pdf", "x", registry.FORMATS["html"].render, kinds=frozenset({Kind.RUN})
    )
    monkeypatch.setitem(registry.FORMATS, "pdf", only_runs)
    with pytest.raises(Exception) as err:
        registry.get("pdf", Kind.FINDINGS)
    message = str(err.value)
    assert "\n" not in message and "pdf cannot carry findings" in message
    assert "pdf" not in message.split("choose ")[1]
    with pytest.raises(Exception, match="unknown --format 'nope'"):
        registry.get("nope", Kind.RECORDS)
    # a real one: SARIF has no shape for a diff of two runs
    with pytest.raises(Exception) as err:
        registry.get("sarif", Kind.DIFF)
    assert str(err.value) == "--format sarif cannot carry a diff (choose table, json, markdown)"
    assert registry.names(Kind.HISTORY) == ("table", "json")


@pytest.mark.parametrize(
    ("path", "kind", "want"),
    [
        ("a.sarif", Kind.RECORDS, "sarif"),
        ("a.ndjson", Kind.FINDINGS, "jsonl"),
        ("a.bin", Kind.RUN, None),
    ],
)
def test_output_suffix_names_a_format(path: str, kind: Kind, want: str | None) -> None:
    from pathlib import Path

    assert registry.guess(Path(path), kind) == want


def test_the_one_csv_cell_strips_control_characters_and_guards_formulas() -> None:
    assert cell("a\x1b[31mb\nc\u2028d") == "a [31mb c d"
    assert cell("=1+1") == "'=1+1"
    assert cell(3) == "3" and cell(True) == "true" and cell(None) == ""


def test_scan_csv_strips_control_characters_from_cells() -> None:
    """The scan CSV used its own cell function that kept ESC and newlines (drifted)."""
    buf = io.StringIO()
    writer = CsvWriter(buf)
    writer.write(record("10.0.0.1", True, reason="evil\x1b]0;title\x07\nnext"))
    writer.close({})
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert len(rows) == 2
    assert not any(ch in cellv for cellv in rows[1] for ch in "\x1b\x07\n")


def test_finding_csv_cells_go_through_the_same_cell_function() -> None:
    buf = io.StringIO()
    w = registry.open_writer("csv", Kind.FINDINGS, buf)
    w.begin(Meta(run_kind="audit"))
    bad = finding("h\x1b[2Jost", Status.FAIL)
    w.add(bad)
    w.end({"complete": True})
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows[1][0] == "h [2Jost"


def test_live_items_in_a_buffered_format_are_the_stored_run_report() -> None:
    """scan/audit -f sarif gives the bytes `report show -f sarif` gives for the same run."""
    meta = Meta(run_kind="scan", run_id="abcdefghjk", started=STARTED, argv=("smbsign", "scan"))
    records = [record("10.0.0.1", True), record("10.0.0.2", False)]
    buf = io.StringIO()
    writer = registry.open_writer("sarif", Kind.RECORDS, buf)
    writer.begin(meta)
    for r in records:
        writer.add(r)
    writer.end({"complete": True})
    doc = json.loads(buf.getvalue())
    run = Run("abcdefghjk", "scan", STARTED, STARTED, "x", meta.argv, records=tuple(records))
    want = json.loads(sarif.render(run))
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == [
        r["ruleId"] for r in want["runs"][0]["results"]
    ]
    assert len(doc["runs"][0]["results"]) == 1  # the relayable host


def test_an_interrupted_buffered_output_is_a_valid_incomplete_document() -> None:
    buf = io.StringIO()
    writer = RunBuffer(registry.FORMATS["json"].render, buf, Options())
    writer.begin(Meta(run_kind="audit"))
    writer.add(finding("h1", Status.FAIL))
    writer.end({"complete": False})
    doc = json.loads(buf.getvalue())
    assert doc["run"]["complete"] is False and len(doc["findings"]) == 1


def test_the_store_and_the_run_model_import_no_presentation() -> None:
    code = (
        "import sys, smbsign.store, smbsign.run;"
        "pres = ('smbsign.report', 'smbsign.output');"
        "bad = sorted(m for m in sys.modules if m.startswith(pres));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_relay_wording_lives_once() -> None:
    from smbsign.engine import wire
    from smbsign.verdict import SENTENCE, Verdict, wording

    assert wire.RELAY_WORDING[False] == SENTENCE[Verdict.NOT_REQUIRED]
    assert wording(record("10.0.0.2", False)) == SENTENCE[Verdict.NOT_REQUIRED]

"""JSON: one document. A live scan streams ``{"schema_version", "kind", "records": [...],
"complete", "summary"}``; live findings are ``{"schema_version", "findings": [...]}``; a stored
run is the report document (``report.schema.json``, :mod:`smbsign.report.json_out`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from smbsign.model import Finding, ScanRecord
from smbsign.output.base import Format, Item, Kind, Meta, RecordStream, lazy_render
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict, scan_record_to_dict

if TYPE_CHECKING:
    from smbsign.report.diff import Diff
    from smbsign.run import History

__all__ = ["DOCUMENT_KIND", "FORMAT", "JsonFindingsWriter", "JsonWriter", "render_findings"]

DOCUMENT_KIND = "smbsign.scan"


class JsonWriter(RecordStream):
    """``{"schema_version", "kind", "records": [...], "complete", "summary"}``, streamed."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self._n = 0
        head = {"schema_version": SCHEMA_VERSION, "kind": DOCUMENT_KIND}
        fh.write(json.dumps(head)[:-1] + ', "records": [')
        fh.flush()

    def write(self, rec: ScanRecord) -> None:
        sep = ",\n" if self._n else "\n"
        self._fh.write(sep + json.dumps(scan_record_to_dict(rec)))
        self._fh.flush()
        self._n += 1

    def close(self, summary: dict[str, Any]) -> None:
        complete = json.dumps(bool(summary.get("complete")))
        self._fh.write(f'\n], "complete": {complete}, "summary": {json.dumps(summary)}}}\n')
        self._fh.flush()


class JsonFindingsWriter:
    """``json.dumps({"schema_version", "findings"}, indent=2)``, byte for byte, written one
    finding at a time: the indenting encoder holds every token of a whole document at once
    (706 MB for the 130,000 findings of a 10,000-computer domain, 110 MB of output), and a
    domain audit need not keep its findings to write them."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self._n = 0

    def begin(self, meta: Meta) -> None:
        _ = meta

    def add(self, item: Item) -> None:
        if not isinstance(item, Finding):
            return
        if self._n == 0:
            head = json.dumps({"schema_version": SCHEMA_VERSION}, indent=2, ensure_ascii=False)
            self._fh.write(head[:-2] + ',\n  "findings": [\n')
        else:
            self._fh.write(",\n")
        text = json.dumps(finding_to_dict(item), indent=2, ensure_ascii=False)
        # raw newlines are structure only (JSON escapes them in strings): indent two levels
        self._fh.write("    " + text.replace("\n", "\n    "))
        self._n += 1

    def end(self, summary: Mapping[str, Any]) -> None:
        _ = summary
        if self._n == 0:
            doc = {"schema_version": SCHEMA_VERSION, "findings": []}
            self._fh.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        else:
            self._fh.write("\n  ]\n}\n")
        self._fh.flush()


def render_findings(findings: Sequence[Finding]) -> bytes:
    """The document of :class:`JsonFindingsWriter` for ``findings``."""
    buf = io.StringIO()
    writer = JsonFindingsWriter(buf)
    for f in findings:
        writer.add(f)
    writer.end({})
    return buf.getvalue().encode()


def render_history(history: History) -> bytes:
    """``smbsign history -f json``: ``{"store", "runs": [run header without rows]}``."""
    from smbsign.run import iso, summary_to_dict

    doc = {
        "store": history.store,
        "runs": [
            {
                "seq": r.seq,
                "id": r.id,
                "kind": r.kind,
                "started": iso(r.started),
                "finished": iso(r.finished),
                "tool_version": r.tool_version,
                "argv": list(r.argv),
                "summary": summary_to_dict(r.summary),
                "complete": r.complete,
            }
            for r in history.runs
        ],
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


def render_diff(d: Diff) -> bytes:
    """``smbsign diff -f json``: ``$defs/diff`` of report.schema.json."""
    from smbsign.report.diff import diff_to_dict

    return (json.dumps(diff_to_dict(d), indent=2) + "\n").encode()


FORMAT = Format(
    name="json",
    suffix=".json",
    help="one JSON document",
    render=lazy_render("smbsign.report.json_out"),
    writers={
        Kind.RECORDS: lambda fh, _opts: JsonWriter(fh),
        Kind.FINDINGS: lambda fh, _opts: JsonFindingsWriter(fh),
    },
    documents={Kind.HISTORY: render_history, Kind.DIFF: render_diff},
)

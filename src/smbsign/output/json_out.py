"""JSON: one document. A live scan streams ``{"schema_version", "kind", "records": [...],
"complete", "summary"}``; live findings are ``{"schema_version", "findings": [...]}``; a stored
run is the report document (``report.schema.json``, :mod:`smbsign.report.json_out`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from smbsign.model import Finding, ScanRecord
from smbsign.output.base import BytesBuffer, Format, Kind, RecordStream, lazy_render
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict, scan_record_to_dict

__all__ = ["DOCUMENT_KIND", "FORMAT", "JsonWriter", "render_findings"]

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


def render_findings(findings: Sequence[Finding]) -> bytes:
    doc = {"schema_version": SCHEMA_VERSION, "findings": [finding_to_dict(f) for f in findings]}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


FORMAT = Format(
    name="json",
    suffix=".json",
    help="one JSON document",
    render=lazy_render("smbsign.report.json_out"),
    writers={
        Kind.RECORDS: lambda fh, _opts: JsonWriter(fh),
        Kind.FINDINGS: lambda fh, _opts: BytesBuffer(render_findings, fh),
    },
)

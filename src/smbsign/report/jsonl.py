"""JSON Lines: one object a line, each with ``type`` and ``run_id`` (for SIEM ingestion).

Line types: ``run`` (the run header, first), ``record`` (a scan record), ``finding``,
``score``. Apart from ``type`` and ``run_id`` each line is exactly the shape of the JSON
report's corresponding object (``$defs/jsonl_line`` in report.schema.json).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from smbsign.report.document import report_document
from smbsign.run import CatalogLike, Run, RunInfo
from smbsign.serialize import json_line


def lines(run: Run, catalog: CatalogLike | None = None) -> Iterator[dict[str, Any]]:
    doc = report_document(run, catalog)
    head = doc["run"]
    yield {"type": "run", "schema_version": doc["schema_version"], **head}
    for kind, key in (("record", "records"), ("finding", "findings"), ("score", "scores")):
        for item in doc[key]:
            yield {"type": kind, "run_id": run.id, **item}


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    return "".join(json_line(obj, separators=(",", ":")) for obj in lines(run, catalog)).encode()

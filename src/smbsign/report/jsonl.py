"""JSON Lines: one object a line, each with ``type`` and ``run_id`` (for SIEM ingestion).

Line types: ``run`` (the run header, first), ``record`` (a scan record), ``finding``,
``score``. Apart from ``type`` and ``run_id`` each line is exactly the shape of the JSON
report's corresponding object (``$defs/jsonl_line`` in report.schema.json).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from smbsign.report.document import report_document
from smbsign.report.run import CatalogLike, Run, RunInfo


def lines(run: Run, catalog: CatalogLike | None = None) -> Iterator[dict[str, Any]]:
    doc = report_document(run, catalog)
    head = doc["run"]
    yield {"type": "run", "schema_version": doc["schema_version"], **head}
    for kind, key in (("record", "records"), ("finding", "findings"), ("score", "scores")):
        for item in doc[key]:
            yield {"type": kind, "run_id": run.id, **item}


# Characters str.splitlines() and some log shippers treat as line breaks; escaped inside
# JSON strings so that one object is always one line.
_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    return "".join(
        json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_BREAKS) + "\n"
        for obj in lines(run, catalog)
    ).encode()

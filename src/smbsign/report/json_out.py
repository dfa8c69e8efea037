"""JSON report: one document, validated by ``smbsign/schemas/report.schema.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence

from smbsign.report.document import report_document
from smbsign.run import CatalogLike, Run, RunInfo


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    doc = report_document(run, catalog)
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()

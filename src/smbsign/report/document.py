"""The JSON report document: ``{"schema_version", "run", "records", "findings", "scores"}``.

Published as ``smbsign/schemas/report.schema.json`` (docs/schema.md, "report"). Records and
findings use the shared shapes of ``smbsign.serialize``; nothing here renames a field.
"""

from __future__ import annotations

from typing import Any

from smbsign.report.scores import framework_scores, score_to_dict
from smbsign.run import CatalogLike, Run, iso, summary_to_dict
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict, scan_record_to_dict


def run_to_dict(run: Run) -> dict[str, Any]:
    """The run header (no rows): id, seq, kind, times, tool version, redacted argv, summary,
    and ``complete`` (false for an interrupted run)."""
    return {
        "id": run.id,
        "seq": run.seq,
        "kind": run.kind,
        "started": iso(run.started),
        "finished": iso(run.finished),
        "tool_version": run.tool_version,
        "argv": list(run.argv),
        "summary": summary_to_dict(run.summary),
        "complete": run.complete,
    }


def report_document(run: Run, catalog: CatalogLike | None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run_to_dict(run),
        "records": [scan_record_to_dict(r) for r in run.records],
        "findings": [finding_to_dict(f) for f in run.findings],
        "scores": [score_to_dict(s) for s in framework_scores(run.findings, catalog)],
    }

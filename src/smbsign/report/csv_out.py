"""CSV: one row per scan record and per finding, flat columns (Wazuh's export is the bar).

Cells that a spreadsheet would run as a formula (leading ``= + - @``, tab, CR) are
prefixed with ``'`` (OWASP "CSV injection"); numbers are written as they are.
UTF-8 without a BOM, CRLF line ends (RFC 4180).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from smbsign.model import Finding, ScanRecord
from smbsign.output.cells import cell
from smbsign.output.csv_out import DOMAIN_COLUMNS, domain_cells
from smbsign.report.scores import weight_of
from smbsign.run import CatalogLike, Run, RunInfo
from smbsign.verdict import verdict, wording

COLUMNS = (
    "run_id",
    "type",
    "host",
    "port",
    "control",
    "title",
    "status",
    "verdict",
    "relayable",
    "severity",
    "weight",
    "observed",
    "expected",
    "signing_required",
    "smb1_offered",
    "smb1_signing",
    "dialect",
    "security_mode",
    "source_kind",
    "source_path",
    "source_location",
    "source_layer",
    "reason",
    "message",
)


def _record_row(run: Run, r: ScanRecord) -> dict[str, object]:
    return {
        "run_id": run.id,
        "type": "record",
        "host": r.target,
        "port": r.port,
        "status": r.status.value,
        "verdict": verdict(r).value,
        "relayable": r.relayable,
        "signing_required": r.signing_required,
        "smb1_offered": r.smb1.offered,
        "smb1_signing": r.smb1.signing.value if r.smb1.signing else None,
        "dialect": r.smb2.dialect if r.smb2 else None,
        "security_mode": f"0x{r.smb2.security_mode:04x}" if r.smb2 else None,
        "reason": r.reason,
        "message": wording(r),
    }


def _finding_row(run: Run, f: Finding, catalog: CatalogLike | None) -> dict[str, object]:
    src = f.source
    return {
        "run_id": run.id,
        "type": "finding",
        "host": f.host,
        "control": f.control,
        "title": f.title,
        "status": f.status.value,
        "severity": f.severity,
        "weight": weight_of(f, catalog),
        "observed": f.observed,
        "expected": f.expected,
        "source_kind": src.kind if src else None,
        "source_path": src.path if src else None,
        "source_location": src.location if src else None,
        "source_layer": src.layer.value if src else None,
        "reason": f.reason,
        "message": "; ".join(f.notes),
        **(domain_cells(f) if f.container is not None else {}),
    }


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    domain = any(f.container is not None for f in run.findings)
    columns = COLUMNS + (DOMAIN_COLUMNS if domain else ())
    writer.writerow(columns)
    rows = [_record_row(run, r) for r in run.records]
    rows += [_finding_row(run, f, catalog) for f in run.findings]
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return buf.getvalue().encode()

"""CSV: flat columns, one row a scan record or finding (Wazuh's export is the bar).

Every cell goes through :func:`smbsign.output.cells.cell` (one line, no control characters,
formula guard). Live scan records stream with the flattened record fields (``smb1_offered``,
``smb2_dialect``, ...; LF line ends, as since 0.1); live findings and stored runs are
RFC 4180 (CRLF) documents (:mod:`smbsign.report.csv_out` for a run).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, TextIO

from smbsign.model import Finding, ScanRecord, ScanStatus, Smb1Observation, Smb2Observation
from smbsign.output.base import BytesBuffer, Format, Kind, RecordStream, lazy_render
from smbsign.output.cells import cell, flatten
from smbsign.serialize import finding_to_dict, scan_record_to_dict

__all__ = ["CSV_COLUMNS", "CSV_LDAP_COLUMNS", "FINDING_COLUMNS", "FORMAT", "CsvWriter"]


def _columns() -> tuple[str, ...]:
    """Flattened field names of a fully populated record (smb2 present)."""
    sample = ScanRecord(
        "192.0.2.1", 445, ScanStatus.OK, True, Smb1Observation(None), Smb2Observation("3.1.1", 0, 0)
    )
    return tuple(key for key, _ in flatten(scan_record_to_dict(sample)))


CSV_COLUMNS = _columns()
# Appended only when LDAP was probed (scan --protocols): SMB-only CSV keeps its columns.
CSV_LDAP_COLUMNS = ("ldap_signing", "ldap_channel_binding", "ldap_method", "ldap_reason")


class CsvWriter(RecordStream):
    """Flattened columns (``smb1_offered``, ``smb2_dialect``, ...), header first."""

    def __init__(self, fh: TextIO, *, ldap: bool = False) -> None:
        self._fh = fh
        self._columns = CSV_COLUMNS + (CSV_LDAP_COLUMNS if ldap else ())
        self._csv = csv.writer(fh, lineterminator="\n")
        self._csv.writerow(self._columns)
        fh.flush()

    def write(self, rec: ScanRecord) -> None:
        flat = dict(flatten(scan_record_to_dict(rec)))
        self._csv.writerow([cell(flat.get(col)) for col in self._columns])
        self._fh.flush()

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._fh.flush()


FINDING_COLUMNS = (
    "host",
    "control",
    "title",
    "status",
    "severity",
    "weight",
    "observed",
    "expected",
    "source_kind",
    "source_path",
    "source_location",
    "source_layer",
    "reason",
    "notes",
)


# Findings of smbsign ad (docs/ad.md): added only when a finding carries a container.
DOMAIN_COLUMNS = ("gpo_name", "gpo_guid", "gpo_link", "gpo_enforced", "roles", "drift", "container")


def domain_cells(f: Finding) -> dict[str, object]:
    """The domain view's fields of ``f`` as flat CSV values."""
    gpo = f.source.gpo if f.source is not None else None
    return {
        "gpo_name": gpo.name if gpo else None,
        "gpo_guid": gpo.guid if gpo else None,
        "gpo_link": gpo.link if gpo else None,
        "gpo_enforced": gpo.enforced if gpo else None,
        "roles": " | ".join(f.roles),
        "drift": f.drift,
        "container": f.container,
    }


def finding_row(f: Finding, domain: bool = False) -> list[str]:
    d = finding_to_dict(f)
    src = d["source"] or {}
    row = {
        **{k: d[k] for k in ("host", "control", "title", "status", "severity", "weight")},
        "observed": d["observed"],
        "expected": d["expected"],
        "source_kind": src.get("kind"),
        "source_path": src.get("path"),
        "source_location": src.get("location"),
        "source_layer": src.get("layer"),
        "reason": d["reason"],
        "notes": " | ".join(d["notes"]),
    }
    extra = [cell(v) for v in domain_cells(f).values()] if domain else []
    return [cell(row[c]) for c in FINDING_COLUMNS] + extra


def render_findings(findings: Sequence[Finding]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    domain = any(f.container is not None for f in findings)
    writer.writerow(FINDING_COLUMNS + (DOMAIN_COLUMNS if domain else ()))
    for f in findings:
        writer.writerow(finding_row(f, domain))
    return buf.getvalue().encode()


FORMAT = Format(
    name="csv",
    suffix=".csv",
    help="flat columns for a spreadsheet",
    render=lazy_render("smbsign.report.csv_out"),
    writers={
        Kind.RECORDS: lambda fh, opts: CsvWriter(fh, ldap=opts.ldap),
        Kind.FINDINGS: lambda fh, _opts: BytesBuffer(render_findings, fh),
    },
)

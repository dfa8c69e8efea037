"""Findings writers, now part of the one output stack (:mod:`smbsign.output`); kept as
aliases. Every writer goes through :func:`smbsign.serialize.finding_to_dict`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from smbsign.model import Finding
from smbsign.output.cells import clean_text, printable
from smbsign.output.csv_out import FINDING_COLUMNS as CSV_COLUMNS
from smbsign.output.csv_out import finding_row as csv_row
from smbsign.output.csv_out import render_findings as render_csv
from smbsign.output.json_out import render_findings as render_json
from smbsign.output.jsonl import render_findings as render_jsonl
from smbsign.output.table import render_findings as render_table

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "clean_text",
    "csv_row",
    "printable",
    "render_csv",
    "render_json",
    "render_jsonl",
    "render_table",
]

FORMATS: dict[str, Callable[[Sequence[Finding]], bytes]] = {
    "table": render_table,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
}

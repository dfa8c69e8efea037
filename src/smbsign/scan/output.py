"""Scan outputs, now part of the one output stack (:mod:`smbsign.output`); kept as aliases.

Writers: :mod:`smbsign.output.jsonl`, ``json_out``, ``csv_out``, ``table``; the tally behind
the exit code: :mod:`smbsign.output.summary`; relay lists: :mod:`smbsign.output.relay`.
Field names come from :func:`smbsign.serialize.scan_record_to_dict` only; docs/schema.md
documents them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Protocol, TextIO

from rich.console import Console

from smbsign.model import ScanRecord
from smbsign.output.base import Kind, Options
from smbsign.output.csv_out import CSV_COLUMNS, CSV_LDAP_COLUMNS, CsvWriter
from smbsign.output.json_out import DOCUMENT_KIND, JsonWriter
from smbsign.output.jsonl import FLUSH_SECONDS, JsonlWriter
from smbsign.output.registry import names, open_writer
from smbsign.output.relay import RELAY_FORMATS, relay_list_bytes, relay_urls_bytes
from smbsign.output.summary import EXIT_UNDETERMINED, Tally
from smbsign.output.table import TableWriter

__all__ = [
    "CSV_COLUMNS",
    "CSV_LDAP_COLUMNS",
    "DOCUMENT_KIND",
    "EXIT_UNDETERMINED",
    "FLUSH_SECONDS",
    "FORMATS",
    "RELAY_FORMATS",
    "CsvWriter",
    "JsonWriter",
    "JsonlWriter",
    "RecordWriter",
    "TableWriter",
    "Tally",
    "load_schema",
    "make_writer",
    "relay_list_bytes",
    "relay_urls_bytes",
]

FORMATS = names(Kind.RECORDS)
SCHEMA_FILE = "scan-record.schema.json"  # in smbsign/schemas/; docs/schema.md


def load_schema() -> dict[str, Any]:
    """The published JSON Schema of a scan record (``$defs/document``: the JSON output)."""
    text = resources.files("smbsign").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class RecordWriter(Protocol):
    def write(self, rec: ScanRecord) -> None: ...

    def close(self, summary: dict[str, Any]) -> None: ...


def make_writer(
    fmt: str, fh: TextIO, *, console: Console | None = None, ldap: bool = False
) -> RecordWriter:
    """The streaming record writer for ``fmt`` (table, jsonl, json, csv) on ``fh``."""
    writer = open_writer(fmt, Kind.RECORDS, fh, Options(console=console, ldap=ldap))
    if not isinstance(writer, CsvWriter | JsonWriter | JsonlWriter | TableWriter):
        raise TypeError(f"{fmt} is not a streaming record format")
    return writer

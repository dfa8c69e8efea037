"""JSON Lines: one object a line (SIEM ingestion).

Live scan records stream as their published shape (``scan-record.schema.json``), live
findings as theirs (``finding.schema.json``); a stored run gets typed lines (``run``,
``record``, ``finding``, ``score``; :mod:`smbsign.report.jsonl`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from smbsign.model import Finding, ScanRecord
from smbsign.output.base import Format, Item, Kind, Meta, RecordStream, lazy_render
from smbsign.serialize import finding_to_dict, json_line, scan_record_to_dict

__all__ = ["FORMAT", "FindingLines", "JsonlWriter"]

FLUSH_SECONDS = 0.25  # dead records reach the reader at least this often (JSONL)
_DEAD_HEAD = '{"target":""'
_DEAD_TAIL = ',"elapsed_ms":0.0}'


class JsonlWriter(RecordStream):
    """One JSON object a line. A host that answered is flushed at once; dead ones (closed,
    filtered, unreachable: most of a sparse range) at least every :data:`FLUSH_SECONDS` and at
    close, and their lines are built from a cached template (the same bytes, tested) instead
    of a dict per record.
    """

    def __init__(self, fh: TextIO) -> None:
        from smbsign.scan.runner import is_dead  # the scan machinery only when writing

        self._is_dead = is_dead
        self._fh = fh
        self._flushed = time.monotonic()
        self._dead: dict[tuple[object, ...], str] = {}

    def _dead_line(self, rec: ScanRecord) -> str:
        key = (rec.hostname, rec.port, rec.transport, rec.status, rec.smb1, rec.reason)
        middle = self._dead.get(key)
        if middle is None:
            blank = dataclasses.replace(rec, target="", elapsed_ms=0.0)
            full = json.dumps(scan_record_to_dict(blank), separators=(",", ":"))
            if not (full.startswith(_DEAD_HEAD) and full.endswith(_DEAD_TAIL)):
                return json.dumps(scan_record_to_dict(rec), separators=(",", ":"))
            middle = full[len(_DEAD_HEAD) : -len("0.0}")]
            if len(self._dead) >= 256:
                self._dead.clear()
            self._dead[key] = middle
        elapsed = json.dumps(round(rec.elapsed_ms, 1))
        return f'{{"target":{json.dumps(rec.target)}{middle}{elapsed}}}'

    def write(self, rec: ScanRecord) -> None:
        dead = self._is_dead(rec) and rec.smb2 is None and rec.ldap is None
        if dead:
            self._fh.write(self._dead_line(rec) + "\n")
        else:
            self._fh.write(json.dumps(scan_record_to_dict(rec), separators=(",", ":")) + "\n")
        now = time.monotonic()
        if not dead or now - self._flushed >= FLUSH_SECONDS:
            self._fh.flush()
            self._flushed = now

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._fh.flush()


class FindingLines:
    """One finding a line, flushed at once (``audit``, ``ad audit``)."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh

    def begin(self, meta: Meta) -> None:
        _ = meta

    def add(self, item: Item) -> None:
        if isinstance(item, Finding):
            self._fh.write(json_line(finding_to_dict(item)))
            self._fh.flush()

    def end(self, summary: Mapping[str, Any]) -> None:
        _ = summary
        self._fh.flush()


def render_findings(findings: Sequence[Finding]) -> bytes:
    return "".join(json_line(finding_to_dict(f)) for f in findings).encode()


FORMAT = Format(
    name="jsonl",
    suffix=".jsonl",
    help="JSON Lines, one object a line, streamed",
    render=lazy_render("smbsign.report.jsonl"),
    writers={
        Kind.RECORDS: lambda fh, _opts: JsonlWriter(fh),
        Kind.FINDINGS: lambda fh, _opts: FindingLines(fh),
    },
)

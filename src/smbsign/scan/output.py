"""Scan outputs: streaming writers, the tally behind the exit code, the relay list (issue #2.6).

Every writer takes records one at a time, writes and flushes at once and keeps nothing, so
memory stays flat and an interrupted scan leaves a valid file once ``close`` has run (the
CLI calls it in ``finally``): JSONL is valid after every line, the JSON document is closed
with ``"complete": false``, CSV rows are written whole. Field names come from
:func:`smbsign.serialize.scan_record_to_dict` only; docs/schema.md documents them.

Order: records are written as they complete (not sorted); the relay list is sorted.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.text import Text

from smbsign.model import ScanRecord, ScanStatus, Smb1Observation, Smb1Signing, Smb2Observation
from smbsign.scan.runner import is_dead
from smbsign.scan.targets import address_sort_key
from smbsign.serialize import SCHEMA_VERSION, scan_record_to_dict
from smbsign.textutil import formula_safe, plural

__all__ = [
    "CSV_COLUMNS",
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
]

FORMATS = ("table", "jsonl", "json", "csv")
SCHEMA_FILE = "scan-record.schema.json"  # in smbsign/schemas/; docs/schema.md
DOCUMENT_KIND = "smbsign.scan"
EXIT_UNDETERMINED = 3  # no host proven "not required", but some SMB host left unknown


def load_schema() -> dict[str, Any]:
    """The published JSON Schema of a scan record (``$defs/document``: the JSON output)."""
    text = resources.files("smbsign").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(slots=True)
class Tally:
    """What the exit code, the summary and the relay list need; O(relayable hosts) memory."""

    targets: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    required: int = 0
    not_required: int = 0
    unknown: int = 0  # answered (not dead) but signing not determined
    relay: set[str] = field(default_factory=set)

    def add(self, rec: ScanRecord) -> None:
        self.statuses[rec.status.value] += 1
        if rec.relayable:
            self.not_required += 1
            self.relay.add(rec.target)
        elif rec.status is ScanStatus.OK and rec.signing_required is True:
            self.required += 1
        elif rec.status in (ScanStatus.OK, ScanStatus.ERROR) and not _unreachable(rec):
            self.unknown += 1

    @property
    def records(self) -> int:
        return sum(self.statuses.values())

    def exit_code(self) -> int:
        """1: some host proven not to require signing; 3: none, but some unknown; else 0."""
        if self.not_required:
            return 1
        return EXIT_UNDETERMINED if self.unknown else 0

    def relay_addresses(self) -> list[str]:
        return sorted(self.relay, key=address_sort_key)

    def summary(self, *, complete: bool) -> dict[str, Any]:
        return {
            "complete": complete,
            "targets": self.targets,
            "records": self.records,
            "statuses": {s.value: self.statuses.get(s.value, 0) for s in ScanStatus},
            "signing_required": self.required,
            "signing_not_required": self.not_required,
            "unknown": self.unknown,
        }

    def summary_line(self) -> str:
        st = self.statuses
        return (
            f"{plural(self.targets, 'target')}, {plural(self.records, 'record')}: "
            f"{self.not_required} signing NOT required, {self.required} required, "
            f"{self.unknown} unknown; {st['closed']} closed, {st['filtered']} filtered, "
            f"{st['not_smb']} not SMB, {plural(st['error'], 'error')}"
        )


def _unreachable(rec: ScanRecord) -> bool:
    return is_dead(rec) or rec.reason.startswith("resolve_failed")


RELAY_FORMATS = ("plain", "ntlmrelayx")


def relay_list_bytes(addresses: Iterable[str], *, fmt: str = "plain") -> bytes:
    """One address a line; ``plain``: IPv6 without brackets (DOMAIN.md 7; nmap ``-iL``,
    NetExec target files), ``ntlmrelayx``: IPv6 in brackets, ``[fe80::1%eth0]``.

    ntlmrelayx ``-tf`` turns each line into ``urlparse("smb://" + line)`` and connects to its
    ``.hostname`` and ``.port`` (impacket ``examples/ntlmrelayx/utils/targetsutils.py``
    ``processTarget``, ``clients/__init__.py`` ``ProtocolClient``): an unbracketed IPv6
    address parses as host ``fe80`` with an invalid port, so that relay fails. IPv4 lines
    are the same in both formats.
    """
    if fmt not in RELAY_FORMATS:
        raise ValueError(f"unknown relay list format {fmt!r}")
    wrap = fmt == "ntlmrelayx"
    return "".join(f"[{a}]\n" if wrap and ":" in a else f"{a}\n" for a in addresses).encode("ascii")


class RecordWriter(Protocol):
    def write(self, rec: ScanRecord) -> None: ...

    def close(self, summary: dict[str, Any]) -> None: ...


class JsonlWriter:
    """One JSON object a line, flushed per record."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh

    def write(self, rec: ScanRecord) -> None:
        self._fh.write(json.dumps(scan_record_to_dict(rec), separators=(",", ":")) + "\n")
        self._fh.flush()

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._fh.flush()


class JsonWriter:
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


def _flatten(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}_")
        else:
            yield f"{prefix}{key}", value


def _columns() -> tuple[str, ...]:
    """Flattened field names of a fully populated record (smb2 present)."""
    sample = ScanRecord(
        "192.0.2.1", 445, ScanStatus.OK, True, Smb1Observation(None), Smb2Observation("3.1.1", 0, 0)
    )
    return tuple(key for key, _ in _flatten(scan_record_to_dict(sample)))


CSV_COLUMNS = _columns()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return formula_safe(str(value))  # no spreadsheet formulas


class CsvWriter:
    """Flattened columns (``smb1_offered``, ``smb2_dialect``, ...), header first."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self._csv = csv.writer(fh, lineterminator="\n")
        self._csv.writerow(CSV_COLUMNS)
        fh.flush()

    def write(self, rec: ScanRecord) -> None:
        flat = dict(_flatten(scan_record_to_dict(rec)))
        self._csv.writerow([_cell(flat.get(col)) for col in CSV_COLUMNS])
        self._fh.flush()

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._fh.flush()


def _signing_cell(rec: ScanRecord) -> tuple[str, str]:
    """DOMAIN.md 7 wording, shortened for a column: (text, style)."""
    if rec.status is not ScanStatus.OK or rec.signing_required is None:
        return "unknown", "yellow"
    if rec.signing_required:
        return "required", "green"
    return "NOT required", "bold red"


def _smb1_cell(smb1: Smb1Observation) -> tuple[str, str]:
    if smb1.offered is None:
        return "?", "yellow"
    if not smb1.offered:
        return "off", ""
    signing = smb1.signing.value if smb1.signing else "?"
    return f"on, signing {signing}", "green" if smb1.signing is Smb1Signing.REQUIRED else "red"


# (header, width); the last column is free width.
_COLUMNS = (
    ("TARGET", 30),
    ("PORT", 6),
    ("STATUS", 9),
    ("SIGNING", 14),
    ("DIALECT", 8),
    ("SMB1", 24),
    ("REASON", 0),
)


def _row(cells: Iterable[tuple[str, str]]) -> Text:
    parts = [
        (text.ljust(width - 1) + " " if width else text, style)
        for (text, style), (_, width) in zip(cells, _COLUMNS, strict=True)
    ]
    return Text.assemble(*parts)


class TableWriter:
    """Rows streamed to a rich console for each host that answered; dead hosts only counted.

    Signing wording follows DOMAIN.md 7 ("NOT required" means relay to SMB likely).
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._header = False

    def write(self, rec: ScanRecord) -> None:
        if is_dead(rec):
            return
        if not self._header:
            self._console.print(_row((h, "bold") for h, _ in _COLUMNS), soft_wrap=True)
            self._header = True
        name = rec.target
        if rec.hostname and rec.hostname != rec.target:
            name = f"{rec.target} ({rec.hostname})"
        cells = (
            (name, ""),
            (str(rec.port), ""),
            (rec.status.value, "" if rec.status is ScanStatus.OK else "yellow"),
            _signing_cell(rec),
            (rec.smb2.dialect if rec.smb2 else "-", ""),
            _smb1_cell(rec.smb1),
            (rec.reason, "dim"),
        )
        self._console.print(_row(cells), soft_wrap=True)

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._console.file.flush()


_STREAM_WRITERS: dict[str, Callable[[TextIO], RecordWriter]] = {
    "jsonl": JsonlWriter,
    "json": JsonWriter,
    "csv": CsvWriter,
}


def make_writer(fmt: str, fh: TextIO, *, console: Console | None = None) -> RecordWriter:
    """The writer for ``fmt`` on ``fh``; ``table`` uses ``console`` (or a plain one on fh)."""
    if fmt == "table":
        return TableWriter(console or Console(file=fh, no_color=True, width=200))
    return _STREAM_WRITERS[fmt](fh)

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
import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.text import Text

from smbsign.model import (
    ChannelBinding,
    LdapObservation,
    LdapSigning,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb1Signing,
    Smb2Observation,
)
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
    "relay_urls_bytes",
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
    # ("ldap" | "ldaps", address) relay targets and LDAP verdicts (scan --protocols, #12)
    ldap_relay: set[tuple[str, str]] = field(default_factory=set)
    ldap_hosts: int = 0
    ldap_unknown: int = 0

    def add(self, rec: ScanRecord) -> None:
        self.statuses[rec.status.value] += 1
        if rec.ldap is not None:
            self._add_ldap(rec.target, rec.ldap)
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

    def _add_ldap(self, address: str, obs: LdapObservation) -> None:
        self.ldap_hosts += 1
        if obs.relay_ldap:
            self.ldap_relay.add(("ldap", address))
        if obs.relay_ldaps:
            self.ldap_relay.add(("ldaps", address))
        asked_signing = not obs.reason.startswith("ldap: not probed")
        asked_binding = not obs.reason.endswith("ldaps: not probed")
        if (asked_signing and obs.signing is LdapSigning.UNKNOWN) or (
            asked_binding and obs.channel_binding is ChannelBinding.UNKNOWN
        ):
            self.ldap_unknown += 1

    def exit_code(self) -> int:
        """1: some host proven not to require signing (SMB, or LDAP: a relay target); 3:
        none, but some SMB host unknown; else 0."""
        if self.not_required or self.ldap_relay:
            return 1
        return EXIT_UNDETERMINED if self.unknown else 0

    def relay_addresses(self) -> list[str]:
        return sorted(self.relay, key=address_sort_key)

    def relay_targets(self) -> list[tuple[str, str]]:
        """Every open relay path as (scheme, address): by address, then smb, ldap, ldaps."""
        targets = {("smb", a) for a in self.relay} | self.ldap_relay
        return sorted(targets, key=lambda t: (address_sort_key(t[1]), _SCHEMES.index(t[0])))

    def ldap_line(self) -> str:
        """One line for stderr when LDAP was probed."""
        relay = sorted(self.ldap_relay)
        ldap = sum(1 for s, _ in relay if s == "ldap")
        return (
            f"ldap: {plural(self.ldap_hosts, 'host')} probed: {ldap} signing NOT required, "
            f"{len(relay) - ldap} LDAPS channel binding never, "
            f"{self.ldap_unknown} with an unknown verdict"
        )

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
    return is_dead(rec) or rec.reason.startswith(("resolve_failed", "not_probed"))


RELAY_FORMATS = ("plain", "ntlmrelayx")
_SCHEMES = ("smb", "ldap", "ldaps")


def relay_urls_bytes(targets: Iterable[tuple[str, str]]) -> bytes:
    """One ntlmrelayx target URL a line, ``smb://10.0.0.5``, ``ldap://[fd00::5]``, in the
    order given, each once.

    ntlmrelayx ``-tf`` reads a line with ``://`` as a URL (``urlparse``) and uses its scheme to
    pick the relay client and ``.hostname`` to connect (impacket
    ``examples/ntlmrelayx/utils/targetsutils.py`` ``processTarget``): IPv6 goes in brackets
    (RFC 3986 3.2.2). Used when LDAP was probed; the SMB-only list keeps
    :func:`relay_list_bytes`.
    """
    lines: dict[str, None] = {}
    for scheme, address in targets:
        if scheme not in _SCHEMES:
            raise ValueError(f"unknown relay scheme {scheme!r}")
        host = f"[{address}]" if ":" in address else address
        lines[f"{scheme}://{host}\n"] = None
    return "".join(lines).encode("ascii")


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


FLUSH_SECONDS = 0.25  # dead records reach the reader at least this often (JSONL)
_DEAD_HEAD = '{"target":""'
_DEAD_TAIL = ',"elapsed_ms":0.0}'


class JsonlWriter:
    """One JSON object a line. A host that answered is flushed at once; dead ones (closed,
    filtered, unreachable: most of a sparse range) at least every :data:`FLUSH_SECONDS` and at
    close, and their lines are built from a cached template (the same bytes, tested) instead
    of a dict per record.
    """

    def __init__(self, fh: TextIO) -> None:
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
        dead = is_dead(rec) and rec.smb2 is None and rec.ldap is None
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
# Appended only when LDAP was probed (scan --protocols): SMB-only CSV keeps its columns.
CSV_LDAP_COLUMNS = ("ldap_signing", "ldap_channel_binding", "ldap_method", "ldap_reason")


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

    def __init__(self, fh: TextIO, *, ldap: bool = False) -> None:
        self._fh = fh
        self._columns = CSV_COLUMNS + (CSV_LDAP_COLUMNS if ldap else ())
        self._csv = csv.writer(fh, lineterminator="\n")
        self._csv.writerow(self._columns)
        fh.flush()

    def write(self, rec: ScanRecord) -> None:
        flat = dict(_flatten(scan_record_to_dict(rec)))
        self._csv.writerow([_cell(flat.get(col)) for col in self._columns])
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
        if rec.ldap is not None:
            self._console.print(_ldap_row(rec.ldap), soft_wrap=True)

    def close(self, summary: dict[str, Any]) -> None:
        _ = summary
        self._console.file.flush()


_STREAM_WRITERS: dict[str, Callable[[TextIO], RecordWriter]] = {
    "jsonl": JsonlWriter,
    "json": JsonWriter,
    "csv": CsvWriter,
}


def _ldap_row(obs: LdapObservation) -> Text:
    """The line under a host's row when LDAP was probed (NOT marks an open relay path)."""
    signing = "NOT required" if obs.relay_ldap else obs.signing.value.replace("_", " ")
    binding = obs.channel_binding.value.replace("_", " ")
    return Text.assemble(
        ("  ldap signing ", ""),
        (signing, "bold red" if obs.relay_ldap else ""),
        (", ldaps channel binding ", ""),
        (binding, "bold red" if obs.relay_ldaps else ""),
        (f" ({obs.method}) ", ""),
        (obs.reason, "dim"),
    )


def make_writer(
    fmt: str, fh: TextIO, *, console: Console | None = None, ldap: bool = False
) -> RecordWriter:
    """The writer for ``fmt`` on ``fh``; ``table`` uses ``console`` (or a plain one on fh);
    ``ldap``: CSV gets the ``ldap_*`` columns."""
    if fmt == "table":
        return TableWriter(console or Console(file=fh, no_color=True, width=200))
    if fmt == "csv":
        return CsvWriter(fh, ldap=ldap)
    return _STREAM_WRITERS[fmt](fh)

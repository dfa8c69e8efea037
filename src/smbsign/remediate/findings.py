"""Read what ``smbsign fix --from`` takes (pure: bytes in, findings or scan records out;
:func:`read_fix_input` reads the file first).

Accepted (docs/fix.md): the JSON of ``smbsign audit --format json``
(``{"schema_version", "findings": [...]}``, also a report JSON, which has the same key), a bare
JSON list of findings, and JSON Lines - one finding a line (``audit --format jsonl``) or the
report's typed lines, of which only ``"type": "finding"`` ones are used. A finding needs
``control`` and ``status``; anything else is a :class:`ParseError` with the line or index.

Scan output is accepted too (:func:`parse_fix_input`): ``smbsign scan --format json``
(``{"kind": "smbsign.scan", "records": [...]}``, or a report JSON whose ``findings`` is empty),
a JSON list of records, ``scan --format jsonl`` lines and the report's ``"type": "record"``
lines. Records are rebuilt with :func:`smbsign.decode.scan_record_from_dict`
(``relayable`` is recomputed, and a file whose ``relayable`` disagrees is refused); a target
that is not a printable address or name is refused, since it is echoed to the terminal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbsign.decode import scan_record_from_dict
from smbsign.errors import ParseError, UsageError
from smbsign.model import ScanRecord

MAX_BYTES = 256 * 2**20
MAX_TARGET = 300  # a DNS name is at most 253 characters; an IPv6 address with %scope fits


@dataclass(frozen=True, slots=True)
class FixInput:
    """What ``--from`` held: audit findings, or scan records (``records`` is not None)."""

    findings: tuple[dict[str, Any], ...] = ()
    records: tuple[ScanRecord, ...] | None = None


def _is_record(item: Any) -> bool:
    return isinstance(item, dict) and "control" not in item and "relayable" in item


def _record(item: Any, where: str) -> ScanRecord:
    """One scan record (docs/schema.md), checked beyond what the decoder checks."""
    if not isinstance(item, dict):
        raise ParseError("not a scan record (a JSON object)", where=where)
    try:
        rec = scan_record_from_dict(item)
    except ParseError:
        raise ParseError(
            "not a scan record (needs target, port, status, signing_required, smb1)", where=where
        ) from None
    target = rec.target
    if not target or len(target) > MAX_TARGET or not all(c.isprintable() for c in target):
        raise ParseError("scan record with a target that is not an address", where=where)
    if " " in target or not 0 < rec.port < 65536:
        raise ParseError("scan record with a bad target or port", where=where)
    if item.get("signing_required") not in (True, False, None) or item["smb1"].get(
        "offered"
    ) not in (True, False, None):
        raise ParseError("scan record with a non-boolean signing field", where=where)
    if item.get("relayable") is not rec.relayable:
        raise ParseError(
            "inconsistent scan record (relayable disagrees with status and signing)", where=where
        )
    return rec


def _check(item: Any, where: str) -> dict[str, Any]:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("control"), str)
        or not isinstance(item.get("status"), str)
    ):
        raise ParseError("not a finding (needs string 'control' and 'status')", where=where)
    return item


def parse_findings(data: bytes, name: str = "findings") -> list[dict[str, Any]]:
    """Audit findings only (scan records are a :class:`ParseError`)."""
    got = parse_fix_input(data, name)
    if got.records is not None:
        raise ParseError("scan records, not findings", where=name)
    return list(got.findings)


def read_fix_input(path: Path) -> FixInput:
    """:func:`parse_fix_input` of the file ``path``, read bounded (``fix --from``,
    ``audit --wire``); an unreadable or malformed file is a one-line :class:`UsageError`."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)  # bounded: parse_fix_input refuses more
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return parse_fix_input(data, str(path))
    except ParseError as exc:
        raise UsageError(str(exc)) from None


def parse_fix_input(data: bytes, name: str = "findings") -> FixInput:
    """Findings or scan records, whichever the file holds (see the module docstring)."""
    if len(data) > MAX_BYTES:
        raise ParseError(f"larger than {MAX_BYTES // 2**20} MiB", where=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("not UTF-8 text", where=name) from None
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty file", where=name)
    try:
        doc = json.loads(stripped)
    except json.JSONDecodeError:
        doc = None
    except RecursionError:  # hostile nesting: json gives up before the stack does
        raise ParseError("JSON nested too deeply", where=name) from None
    if isinstance(doc, dict) and _is_record(doc):  # one line of `scan --format jsonl`
        return FixInput(records=(_record(doc, f"{name}: line 1"),))
    if isinstance(doc, dict):
        items, records = doc.get("findings"), doc.get("records")
        if isinstance(records, list) and not items:
            recs = (_record(r, f"{name}: records[{i}]") for i, r in enumerate(records))
            return FixInput(records=tuple(recs))
        if not isinstance(items, list):
            raise ParseError("JSON object without a 'findings' or 'records' list", where=name)
        return FixInput(tuple(_check(f, f"{name}: findings[{i}]") for i, f in enumerate(items)))
    if isinstance(doc, list):
        if doc and _is_record(doc[0]):
            return FixInput(records=tuple(_record(r, f"{name}: [{i}]") for i, r in enumerate(doc)))
        return FixInput(tuple(_check(f, f"{name}: [{i}]") for i, f in enumerate(doc)))
    out: list[dict[str, Any]] = []
    scan: list[ScanRecord] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON ({exc.msg})", where=f"{name}: line {number}") from None
        except RecursionError:
            raise ParseError("JSON nested too deeply", where=f"{name}: line {number}") from None
        where = f"{name}: line {number}"
        if isinstance(obj, dict) and "type" in obj:
            if obj["type"] not in ("finding", "record"):
                continue
            kind = obj["type"]
            obj = {k: v for k, v in obj.items() if k not in ("type", "run_id")}
            if kind == "record":
                scan.append(_record(obj, where))
                continue
        elif _is_record(obj):
            scan.append(_record(obj, where))
            continue
        out.append(_check(obj, where))
    if scan and not out:
        return FixInput(records=tuple(scan))
    return FixInput(tuple(out))

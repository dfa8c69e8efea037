"""Reading a fleet part back: a shard's JSONL or an audit JSONL, validated line by line.

:func:`read_shard` validates every line (the record schema, the marker fields, bounded line
and file sizes) and raises :class:`ShardFileError` with one line naming the file and line.
Only records of hosts that answered are kept in memory (the store keeps only those; docs/
report.md), so reading a shard of a silent /8 stays small.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from smbsign.decode import finding_from_dict, scan_record_from_dict
from smbsign.errors import ParseError, UsageError
from smbsign.model import Finding, ScanRecord
from smbsign.run import parse_iso
from smbsign.scan.runner import is_dead
from smbsign.scan.shard import Shard, parse_shard
from smbsign.scan.shardfile import _RUN_ID, MARKER, MAX_LINE_BYTES, ShardFileError
from smbsign.serialize import scan_record_to_dict

__all__ = [
    "MAX_FILE_BYTES",
    "FindingsFile",
    "ShardFile",
    "is_shard_output",
    "read_findings",
    "read_shard",
    "shard_digest",
]

MAX_FILE_BYTES = 8 << 30  # a shard of a silent /8 over one jump host is ~2.5 GB
MAX_ANSWERED = 2_000_000  # hosts that answered, kept in memory for the store
_MARKER_KEYS = {
    "begin": {"type", "state", "run_id", "shard", "kind", "started", "tool_version", "argv",
              "schema_version"},
    "end": {"type", "state", "run_id", "shard", "complete", "records", "finished"},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ShardFile:
    """One shard's output as read: its identity, whether it finished, its answered records."""

    path: str
    run_id: str
    shard: Shard
    started: datetime
    finished: datetime
    tool_version: str
    argv: tuple[str, ...]
    complete: bool  # the end line says so, and every record it counts is there
    lines: int  # record lines read (answered or not)
    records: tuple[ScanRecord, ...]  # hosts that answered: what the store keeps
    digest: str  # shard_digest(): the same shard imported twice has the same digest
    note: str = ""  # why it is incomplete, for the one-line report


def shard_digest(run_id: str, shard: Shard, complete: bool, records: Iterable[ScanRecord]) -> str:
    """SHA-256 of what the store keeps of a shard: its identity, whether it finished and its
    answered records in order (the file's dead lines and layout do not matter)."""
    sha = hashlib.sha256(f"{run_id}\n{shard}\n{int(complete)}\n".encode())
    for rec in records:
        sha.update(json.dumps(scan_record_to_dict(rec), sort_keys=True).encode() + b"\n")
    return sha.hexdigest()


@cache
def _validator(name: str = "scan-record.schema.json") -> Any:
    import jsonschema  # type: ignore[import-untyped]  # loaded for imports only

    text = resources.files("smbsign").joinpath("schemas", name)
    schema = json.loads(text.read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


class _Records:
    """Validates record lines; shapes seen before (all but target and time) are not
    re-validated, so the dead records of a sparse range cost a dict and a lookup each."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def check(self, obj: Any) -> str | None:
        """None when ``obj`` is a valid scan record, else the first problem, one line."""
        if not isinstance(obj, dict):
            return "not a JSON object"
        target, elapsed, name = obj.get("target"), obj.get("elapsed_ms"), obj.get("hostname")
        if not isinstance(target, str) or not target:
            return "'target' must be a non-empty string"
        if isinstance(elapsed, bool) or not isinstance(elapsed, int | float) or elapsed < 0:
            return "'elapsed_ms' must be a number >= 0"
        if name is not None and not isinstance(name, str):
            return "'hostname' must be a string or null"
        # What differs from host to host is checked above; the rest is a shape, validated
        # against the schema once (a guid stands in for every guid).
        shape = {k: v for k, v in obj.items() if k not in ("target", "elapsed_ms", "hostname")}
        smb2 = shape.get("smb2")
        if isinstance(smb2, dict) and "server_guid" in smb2:
            if not isinstance(smb2["server_guid"], str):
                return "smb2/server_guid: must be a string"
            shape["smb2"] = {**smb2, "server_guid": ""}
        key = json.dumps(shape, sort_keys=True)
        if key in self._known:
            return None
        probe = {**shape, "target": "x", "elapsed_ms": 0, "hostname": None}
        error = next(iter(_validator().iter_errors(probe)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "record"
            return f"{where}: {' '.join(error.message.split())[:160]}"
        if len(self._known) < 4096:
            self._known.add(key)
        return None


def _lines(fh: BinaryIO, name: str) -> Iterator[tuple[int, bytes, bool]]:
    """(number, line, ended by a newline); a line longer than the bound is an error."""
    number = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise ShardFileError(f"{name}:{number}: line longer than {MAX_LINE_BYTES:,} bytes")
        yield number, raw, raw.endswith(b"\n")


def _marker_problem(obj: dict[str, Any], state: str) -> str | None:
    """None when the fields of a begin/end line hold what they must, else the problem."""
    if not isinstance(obj["run_id"], str) or not _RUN_ID.match(obj["run_id"]):
        return "bad run_id"
    try:
        parse_shard(str(obj["shard"]))
        parse_iso(str(obj["started" if state == "begin" else "finished"]))
    except (UsageError, ValueError) as exc:
        return str(exc)
    if state == "begin":
        if obj["kind"] != "scan" or not isinstance(obj["argv"], list):
            return "kind must be scan and argv a list"
        if not str(obj["schema_version"]).startswith("1."):
            return f"schema_version {str(obj['schema_version'])[:20]!r} is not 1.x"
        return None
    if not isinstance(obj["complete"], bool):
        return "complete must be true or false"
    if isinstance(obj["records"], bool) or not isinstance(obj["records"], int):
        return "records must be an integer"
    return None


def _marker(obj: Any, state: str, name: str, number: int) -> dict[str, Any]:
    where = f"{name}:{number}"
    if not isinstance(obj, dict) or obj.get("type") != MARKER or obj.get("state") != state:
        raise ShardFileError(f"{where}: expected the shard {state} line")
    keys = set(obj)
    if keys != _MARKER_KEYS[state]:
        odd = sorted(keys ^ _MARKER_KEYS[state])
        raise ShardFileError(f"{where}: shard {state} line has wrong fields: {', '.join(odd)}")
    problem = _marker_problem(obj, state)
    if problem is not None:
        raise ShardFileError(f"{where}: bad shard {state} line: {' '.join(problem.split())}")
    return obj


def read_shard(path: Path) -> ShardFile:
    """Read and validate one shard output (ShardFileError, one line, on anything wrong)."""
    name = str(path)
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ShardFileError(f"{name}: {size:,} bytes, more than {MAX_FILE_BYTES:,}")
            return _read(fh, name)
    except OSError as exc:
        raise ShardFileError(f"cannot read {name}: {exc.strerror or exc}") from None


def _read(fh: BinaryIO, name: str) -> ShardFile:
    records = _Records()
    begin: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    answered: list[ScanRecord] = []
    count = 0
    note = ""
    for number, raw, whole in _lines(fh, name):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            if not whole and begin is not None and end is None:
                note = f"last line {number} cut off"  # a shard killed while writing a line
                break
            detail = str(exc).split(":")[0] if isinstance(exc, ValueError) else "too deep"
            raise ShardFileError(f"{name}:{number}: not JSON ({detail})") from None
        if begin is None:
            if not (isinstance(obj, dict) and obj.get("type") == MARKER):
                raise ShardFileError(
                    f"{name}:1: not a shard output (no shard begin line): scan with "
                    "--shard I/N --run-id ID -f jsonl"
                )
            begin = _marker(obj, "begin", name, number)
            continue
        if end is not None:
            raise ShardFileError(f"{name}:{number}: data after the shard end line")
        if isinstance(obj, dict) and obj.get("type") == MARKER:
            end = _marker(obj, "end", name, number)
            continue
        problem = records.check(obj)
        if problem is not None:
            raise ShardFileError(f"{name}:{number}: not a scan record: {problem}")
        count += 1
        if obj["status"] in ("closed", "filtered"):
            continue  # dead: not stored (is_dead), and not worth decoding
        try:
            rec = scan_record_from_dict(obj)
        except (ParseError, ValueError, KeyError, TypeError) as exc:
            raise ShardFileError(f"{name}:{number}: not a scan record: {exc}") from None
        if not is_dead(rec):  # what a scan keeps in the store (cli.scan_run)
            if len(answered) >= MAX_ANSWERED:
                raise ShardFileError(f"{name}: more than {MAX_ANSWERED:,} hosts answered")
            answered.append(rec)
    if begin is None:
        raise ShardFileError(f"{name}: empty: not a shard output")
    if end is not None:
        for key in ("run_id", "shard"):
            if end[key] != begin[key]:
                raise ShardFileError(f"{name}: begin and end lines disagree on {key}")
        if end["records"] != count:
            raise ShardFileError(
                f"{name}: the end line counts {end['records']:,} records, the file holds {count:,}"
            )
    elif not note:
        note = "no end line (the scan was stopped)"
    complete = end is not None and bool(end["complete"])
    if end is not None and not complete:
        note = "the scan was interrupted"
    started = parse_iso(str(begin["started"]))
    shard = parse_shard(str(begin["shard"]))
    return ShardFile(
        path=name,
        run_id=str(begin["run_id"]),
        shard=shard,
        started=started,
        finished=parse_iso(str(end["finished"])) if end is not None else started,
        tool_version=str(begin["tool_version"])[:64],
        argv=tuple(str(a) for a in begin["argv"])[:200],
        complete=complete,
        lines=count,
        records=tuple(answered),
        digest=shard_digest(str(begin["run_id"]), shard, complete, answered),
        note=note,
    )


MAX_FINDINGS = 1_000_000


@dataclass(frozen=True, slots=True)
class FindingsFile:
    """An ``audit -f jsonl`` output (``audit --local`` on a server): one audit run."""

    path: str
    run_id: str  # derived from the content: the same file imported twice is one run
    findings: tuple[Finding, ...]


def is_shard_output(path: Path) -> bool:
    """Whether the file starts with a shard begin line (else it is read as audit findings)."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(MAX_LINE_BYTES + 1)
    except OSError:
        return True  # read_shard reports the error
    return b'"type":"smbsign.shard"' in first.replace(b" ", b"")


def read_findings(path: Path) -> FindingsFile:
    """Read and validate an audit JSONL output (finding.schema.json; ShardFileError, one line)."""
    name = str(path)
    findings: list[Finding] = []
    sha = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for number, raw, _whole in _lines(fh, name):
                if not raw.strip():
                    continue
                sha.update(raw)
                try:
                    obj = json.loads(raw)
                except (ValueError, RecursionError):
                    raise ShardFileError(f"{name}:{number}: not JSON") from None
                error = next(iter(_validator("finding.schema.json").iter_errors(obj)), None)
                if error is not None:
                    where = "/".join(str(p) for p in error.absolute_path) or "finding"
                    detail = " ".join(error.message.split())[:160]
                    raise ShardFileError(f"{name}:{number}: not a finding: {where}: {detail}")
                if len(findings) >= MAX_FINDINGS:
                    raise ShardFileError(f"{name}: more than {MAX_FINDINGS:,} findings")
                try:
                    findings.append(finding_from_dict(obj))
                except (ParseError, ValueError, KeyError, TypeError) as exc:
                    raise ShardFileError(f"{name}:{number}: not a finding: {exc}") from None
    except OSError as exc:
        raise ShardFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    if not findings:
        raise ShardFileError(f"{name}: no findings: not an audit output")
    digest = int.from_bytes(sha.digest()[:8], "big")
    letters = "abcdefghjkmnpqrstvwxyz"
    alphabet = "0123456789" + letters
    rid = letters[digest % len(letters)]
    digest //= len(letters)
    for _ in range(9):
        rid += alphabet[digest % len(alphabet)]
        digest //= len(alphabet)
    return FindingsFile(name, rid, tuple(findings))

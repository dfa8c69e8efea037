"""A scan shard's JSONL output: a begin line, the records, an end line (docs/fleet.md).

``smbsign scan --shard I/N --run-id ID -f jsonl`` writes::

    {"type":"smbsign.shard","state":"begin","run_id":ID,"shard":"I/N","kind":"scan",...}
    {"target":...}                      <- one scan record a line (scan-record.schema.json)
    {"type":"smbsign.shard","state":"end","run_id":ID,"shard":"I/N","complete":true,"records":R}

The end line is written whenever the scan ends (``complete`` false when it was interrupted);
a shard killed outright has none, and a file without one is an incomplete shard.
:func:`smbsign.scan.shardread.read_shard` reads such a file back, validated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from smbsign.errors import SmbsignError, UsageError
from smbsign.run import iso, redact_argv, utc_now
from smbsign.scan.shard import Shard, parse_shard
from smbsign.serialize import SCHEMA_VERSION

if TYPE_CHECKING:  # the store reads shard files without loading the output stack
    from smbsign.output.base import Item, Meta, Writer

__all__ = [
    "MARKER",
    "MAX_LINE_BYTES",
    "Fleet",
    "ShardFileError",
    "ShardWriter",
    "begin_line",
    "check_run_id",
    "end_line",
    "fleet_of",
]

MARKER = "smbsign.shard"
MAX_LINE_BYTES = 1 << 20  # a record is a few hundred bytes; an LDAP one a few KiB
_RUN_ID = re.compile(r"^[a-z][a-z0-9]{3,31}$")


class ShardFileError(SmbsignError):
    """A shard file that cannot be imported (one line: the file, the line, what is wrong)."""


def check_run_id(text: str) -> str:
    """A fleet run id: 4 to 32 lower-case letters and digits, a letter first (never a number,
    so ``history`` and ``report`` never read it as a sequence number)."""
    if not _RUN_ID.match(text):
        raise UsageError(
            f"bad run id {text[:40]!r}: use 4 to 32 lower-case letters and digits, "
            "starting with a letter"
        )
    return text


def begin_line(
    run_id: str, shard: Shard, *, started: datetime, tool_version: str, argv: list[str]
) -> str:
    """The first line of a shard's JSONL output."""
    return _line(
        {
            "type": MARKER,
            "state": "begin",
            "run_id": run_id,
            "shard": str(shard),
            "kind": "scan",
            "started": iso(started),
            "tool_version": tool_version,
            "argv": list(redact_argv(argv)),
            "schema_version": SCHEMA_VERSION,
        }
    )


def end_line(run_id: str, shard: Shard, *, complete: bool, records: int, finished: datetime) -> str:
    """The last line: written when the scan ends, ``complete`` false if it was cut short."""
    return _line(
        {
            "type": MARKER,
            "state": "end",
            "run_id": run_id,
            "shard": str(shard),
            "complete": complete,
            "records": records,
            "finished": iso(finished),
        }
    )


@dataclass(frozen=True, slots=True)
class Fleet:
    """``scan --shard I/N --run-id ID`` (``split``: the targets are dealt by address) or
    ``--part I/N`` (the targets as given: a zone's own segment is part I of the run)."""

    run_id: str
    shard: Shard
    split: bool = True


def fleet_of(shard: str | None, run_id: str | None, part: str | None = None) -> Fleet | None:
    """``--shard``/``--part`` and ``--run-id`` as given (a run id alone is part 1/1)."""
    if shard is None and run_id is None and part is None:
        return None
    if shard is not None and part is not None:
        raise UsageError("--shard and --part exclude each other: deal the targets, or not")
    if run_id is None:
        what = "--shard" if shard is not None else "--part"
        raise UsageError(f"{what} needs --run-id ID, the same id on every part of the run")
    if shard is not None:
        return Fleet(check_run_id(run_id), parse_shard(shard))
    whole = parse_shard(part) if part is not None else Shard(1, 1)
    return Fleet(check_run_id(run_id), whole, split=False)


class ShardWriter:
    """Wraps the JSONL record writer: the begin line first, the end line last (also when the
    scan was interrupted: ``end`` runs in every case, with ``complete`` false)."""

    def __init__(self, inner: Writer, fh: TextIO, fleet: Fleet) -> None:
        self._inner, self._fh, self._fleet = inner, fh, fleet

    def begin(self, meta: Meta) -> None:
        from smbsign import __version__

        fleet = self._fleet
        line = begin_line(
            fleet.run_id,
            fleet.shard,
            started=meta.started,
            tool_version=__version__,
            argv=list(meta.argv),
        )
        self._fh.write(line)
        self._fh.flush()
        self._inner.begin(meta)

    def add(self, item: Item) -> None:
        self._inner.add(item)

    def end(self, summary: Mapping[str, Any]) -> None:
        self._inner.end(summary)
        records = summary.get("records", 0)
        line = end_line(
            self._fleet.run_id,
            self._fleet.shard,
            complete=summary.get("complete") is True,
            records=records if isinstance(records, int) else 0,
            finished=utc_now(),
        )
        self._fh.write(line)
        self._fh.flush()


def _line(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"

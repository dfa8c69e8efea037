"""Fleet runs: scan shards imported into one stored run (``smbsign import``; docs/fleet.md).

A fleet run is an ordinary row of ``smbsign_runs`` (``history``, ``report`` and ``diff`` read
it like any run) plus one ``smbsign_shards`` row per shard that arrived: its number, the
file's SHA-256, whether it finished, and the block of record indexes it holds. The run is
``complete`` once all N shards are there and each finished.

One file is one transaction. The run row is locked first (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` locks the whole file), so concurrent imports into
one run queue up and each sees the others' shards: a shard already stored with the same
digest is a no-op (idempotent), an incomplete stored shard is replaced by a later file of
it, and a complete one is never overwritten by other content. Two writers creating the
same run at once: one wins, the other's insert fails on the unique id and is retried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from smbsign.errors import SmbsignError
from smbsign.run import iso, parse_iso, summarize, summary_from_dict, summary_to_dict
from smbsign.scan.shardread import ShardFile
from smbsign.serialize import SCHEMA_VERSION, scan_record_to_dict
from smbsign.store.db import _CHUNK, StoreError, _open, _retrying, metadata, records_t, runs_t
from smbsign.verdict import verdict

__all__ = ["ImportResult", "ShardConflict", "import_shard", "shards_t"]

_CREATE_ATTEMPTS = 5

shards_t = Table(
    "smbsign_shards",
    metadata,
    Column("run_seq", Integer, ForeignKey("smbsign_runs.seq", ondelete="CASCADE"), nullable=False),
    Column("shard", Integer, nullable=False),  # 1-based
    Column("shards", Integer, nullable=False),  # N
    Column("complete", Integer, nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 of the imported file
    Column("first_idx", Integer, nullable=False),  # its records: idx first_idx ..
    Column("n_records", Integer, nullable=False),  # .. first_idx + n_records - 1
    Column("lines", Integer, nullable=False),  # record lines in the file (dead ones too)
    Column("started", String(40), nullable=False),
    Column("finished", String(40), nullable=False),
    Column("summary", Text, nullable=False),  # this shard's headline numbers (JSON)
    PrimaryKeyConstraint("run_seq", "shard"),
)


class ShardConflict(SmbsignError):
    """The file cannot join the run it names (other N, other kind, a finished shard)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one file did to the store."""

    run_id: str
    seq: int
    shard: str  # "I/N"
    action: str  # "stored", "replaced" (an incomplete shard), "unchanged" (already there)
    records: int  # records of this shard in the store
    arrived: int  # shards of the run in the store
    shards: int  # N
    complete: bool  # the whole run: every shard arrived and finished


def import_shard(shard: ShardFile, url: str | None = None) -> ImportResult:
    """Store one shard file into its fleet run, in one transaction (see the module doc)."""
    with _open(url, write=True) as (engine, _parsed):
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                result: ImportResult = _retrying(engine, lambda conn: _import(conn, shard))
            except IntegrityError:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                continue  # another writer created the run (or the shard) first: see it now
            return result
    raise StoreError("could not import: the run kept changing")  # pragma: no cover


def _run_row(conn: Connection, shard: ShardFile) -> tuple[Any, bool]:
    """The fleet run's row, locked for this transaction, and whether this import created it."""
    q = select(runs_t).where(runs_t.c.id == shard.run_id).with_for_update()
    row = conn.execute(q).first()
    if row is not None:
        return row, False
    conn.execute(
        insert(runs_t).values(
            id=shard.run_id,
            kind="scan",
            started=iso(shard.started),
            finished=iso(shard.finished),
            tool_version=shard.tool_version,
            schema_version=SCHEMA_VERSION,
            argv=json.dumps(list(shard.argv), ensure_ascii=False),
            summary=json.dumps(summary_to_dict(summarize((), ()))),
            n_records=0,
            n_findings=0,
            complete=0,
        )
    )
    return conn.execute(q).one(), True


def _import(conn: Connection, shard: ShardFile) -> ImportResult:
    run, created = _run_row(conn, shard)
    seq = int(run.seq)
    count = shard.shard.count
    where = f"run {shard.run_id}"
    if run.kind != "scan":
        raise ShardConflict(f"{where} is an {run.kind} run: scan shards cannot join it")
    stored = {
        int(r.shard): r for r in conn.execute(select(shards_t).where(shards_t.c.run_seq == seq))
    }
    if not stored and not created:  # a fleet run gets its first part when it is created
        raise ShardConflict(f"{where} is an ordinary stored scan, not a fleet run")
    other_n = {int(r.shards) for r in stored.values()} - {count}
    if other_n:
        raise ShardConflict(
            f"{where} is split in {other_n.pop()} shards; {shard.path} is shard {shard.shard}"
        )
    old = stored.get(shard.shard.index)
    action = "stored"
    if old is not None:
        if old.digest == shard.digest:
            return _result(conn, seq, shard, "unchanged", int(old.n_records), stored)
        if old.complete:
            raise ShardConflict(
                f"shard {shard.shard} of {where} is already stored, complete, from other "
                "content: a new scan of it needs a new run id"
            )
        conn.execute(
            delete(records_t).where(
                and_(
                    records_t.c.run_seq == seq,
                    records_t.c.idx >= old.first_idx,
                    records_t.c.idx < old.first_idx + old.n_records,
                )
            )
        )
        conn.execute(
            delete(shards_t).where(shards_t.c.run_seq == seq, shards_t.c.shard == old.shard)
        )
        action = "replaced"
    top = conn.execute(select(func.max(records_t.c.idx)).where(records_t.c.run_seq == seq))
    first = int(top.scalar_one() or 0) + 1
    rows = [
        {
            "run_seq": seq,
            "idx": first + i,
            "host": r.target,
            "port": r.port,
            "verdict": verdict(r).value,
            "data": json.dumps(scan_record_to_dict(r), ensure_ascii=False),
        }
        for i, r in enumerate(shard.records)
    ]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(records_t), rows[start : start + _CHUNK])
    conn.execute(
        insert(shards_t).values(
            run_seq=seq,
            shard=shard.shard.index,
            shards=count,
            complete=1 if shard.complete else 0,
            digest=shard.digest,
            first_idx=first,
            n_records=len(rows),
            lines=shard.lines,
            started=iso(shard.started),
            finished=iso(shard.finished),
            summary=json.dumps(summary_to_dict(summarize(shard.records, ()))),
        )
    )
    _refresh(conn, seq)
    stored = {
        int(r.shard): r for r in conn.execute(select(shards_t).where(shards_t.c.run_seq == seq))
    }
    return _result(conn, seq, shard, action, len(rows), stored)


def _refresh(conn: Connection, seq: int) -> None:
    """The run row from its shards: times, counts, completeness and the summary.

    The headline numbers are the sums of the shards' own: shards hold disjoint addresses,
    so hosts add up (a server answering on addresses dealt to two shards counts in both;
    ``report`` and ``diff`` recount from the records). Summing keeps an import's cost to its
    own records however large the run grows.
    """
    shards = conn.execute(select(shards_t).where(shards_t.c.run_seq == seq)).all()
    n = {int(s.shards) for s in shards}
    complete = len(n) == 1 and len(shards) == n.pop() and all(s.complete for s in shards)
    parts = [summary_from_dict(json.loads(s.summary)) for s in shards]
    total = {
        "hosts": sum(p.hosts for p in parts),
        "smb_hosts": sum(p.smb_hosts for p in parts),
        "relayable": sum(p.relayable for p in parts),
        "required": sum(p.required for p in parts),
        "unknown": sum(p.unknown for p in parts),
        "findings": {},
    }
    conn.execute(
        update(runs_t)
        .where(runs_t.c.seq == seq)
        .values(
            started=iso(min(parse_iso(s.started) for s in shards)),
            finished=iso(max(parse_iso(s.finished) for s in shards)),
            n_records=sum(int(s.n_records) for s in shards),
            summary=json.dumps(total),
            complete=1 if complete else 0,
        )
    )


def _result(
    conn: Connection, seq: int, shard: ShardFile, action: str, records: int, stored: dict[int, Any]
) -> ImportResult:
    complete = conn.execute(select(runs_t.c.complete).where(runs_t.c.seq == seq)).scalar_one()
    return ImportResult(
        run_id=shard.run_id,
        seq=seq,
        shard=str(shard.shard),
        action=action,
        records=records,
        arrived=len(stored),
        shards=shard.shard.count,
        complete=bool(complete),
    )

"""Writing runs to the store and reading them back (``record_run``, ``list_runs``, ``load_run``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from smbsign.decode import finding_from_dict, scan_record_from_dict
from smbsign.errors import ParseError, UsageError
from smbsign.run import (
    Run,
    RunInfo,
    RunKind,
    iso,
    new_run_id,
    parse_iso,
    summary_from_dict,
    summary_to_dict,
)
from smbsign.runspool import FindingSpool
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict, scan_record_to_dict
from smbsign.store.db import (
    _CHUNK,
    ENV_DB,
    RunNotFound,
    StoreError,
    StoreMissing,
    _NoStore,
    _open,
    _retrying,
    _runs_select,
    findings_t,
    records_t,
    redact_url,
    resolve_url,
    runs_t,
)
from smbsign.textutil import is_decimal
from smbsign.verdict import verdict

# ----------------------------------------------------------------------- writing


def _rows(run: Run, seq: int) -> tuple[list[dict[str, Any]], Iterable[dict[str, Any]]]:
    recs = [
        {
            "run_seq": seq,
            "idx": i,
            "host": r.target,
            "port": r.port,
            "verdict": verdict(r).value,
            "data": json.dumps(scan_record_to_dict(r), ensure_ascii=False),
        }
        for i, r in enumerate(run.records)
    ]
    fnds = (
        {
            "run_seq": seq,
            "idx": i,
            "host": f.host,
            "control": f.control,
            "status": f.status.value,
            "data": json.dumps(finding_to_dict(f), ensure_ascii=False),
        }
        for i, f in enumerate(run.findings)
    )
    return recs, fnds


def _spooled_rows(spool: FindingSpool, seq: int) -> Iterator[dict[str, Any]]:
    for i, row in enumerate(spool.rows()):
        yield {
            "run_seq": seq,
            "idx": i,
            "host": row.host,
            "control": row.control,
            "status": row.status,
            "data": row.data,
        }


def record_run(run: Run, url: str | None = None, *, spool: FindingSpool | None = None) -> Run:
    """Store ``run`` in one transaction; returns it with ``seq`` (and a fresh id on a clash).

    With ``spool`` the run's findings are the spool's rows (``run.findings`` must be empty and
    ``run.records`` too): they are written in chunks, never all in memory at once, and the
    stored summary is the spool's. The returned run then has no findings of its own.
    """
    if spool is not None and (run.findings or run.records):
        raise ValueError("record_run: a spooled run carries no findings or records of its own")
    with _open(url, write=True) as (engine, _parsed):
        for _ in range(3):
            try:
                seq = _retrying(engine, lambda conn, r=run: _insert(conn, r, spool))
            except IntegrityError:
                run = replace(run, id=new_run_id())  # id clash: ~50 random bits, so rare
                continue
            return replace(run, seq=seq)
    raise StoreError("could not allocate a unique run id")


def _insert(conn: Connection, run: Run, spool: FindingSpool | None = None) -> int:
    summary = spool.summary() if spool is not None else run.summary
    res = conn.execute(
        insert(runs_t).values(
            id=run.id,
            kind=run.kind,
            started=iso(run.started),
            finished=iso(run.finished),
            tool_version=run.tool_version,
            schema_version=SCHEMA_VERSION,
            argv=json.dumps(list(run.argv), ensure_ascii=False),
            summary=json.dumps(summary_to_dict(summary)),
            n_records=len(run.records),
            n_findings=spool.count if spool is not None else len(run.findings),
            complete=1 if run.complete else 0,
        )
    )
    key = res.inserted_primary_key
    if key is None or key[0] is None:
        raise StoreError("the database returned no sequence number for the new run")
    seq = int(key[0])
    recs, fnds = _rows(run, seq)
    if spool is not None:
        fnds = _spooled_rows(spool, seq)
    for table, rows in ((records_t, recs), (findings_t, fnds)):
        it = iter(rows)
        while chunk := list(islice(it, _CHUNK)):
            conn.execute(insert(table), chunk)
    return seq


# ----------------------------------------------------------------------- reading


def _info(row: Any) -> RunInfo:
    kind: RunKind = "audit" if row.kind == "audit" else "scan"
    try:
        argv = json.loads(row.argv)
        summary = json.loads(row.summary)
        return RunInfo(
            seq=int(row.seq),
            id=str(row.id),
            kind=kind,
            started=parse_iso(row.started),
            finished=parse_iso(row.finished),
            tool_version=str(row.tool_version),
            argv=tuple(str(a) for a in argv) if isinstance(argv, list) else (str(argv),),
            summary=summary_from_dict(summary if isinstance(summary, dict) else {}),
            complete=bool(getattr(row, "complete", 1)),  # absent in stores before the column
        )
    except (ValueError, TypeError, AttributeError) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise StoreError(f"run #{row.seq} is damaged in the store: {detail}") from None


def list_runs(
    url: str | None = None, *, limit: int = 20, kind: RunKind | None = None
) -> list[RunInfo]:
    """Newest first; ``StoreMissing`` when there is no store at ``url`` (none is created)."""
    try:
        with _open(url) as (engine, _parsed), engine.connect() as conn:
            q = _runs_select(conn).order_by(runs_t.c.seq.desc()).limit(max(1, limit))
            if kind is not None:
                q = q.where(runs_t.c.kind == kind)
            return [_info(row) for row in conn.execute(q)]
    except _NoStore:
        raise _missing(url) from None


def _missing(url: str | None, prefix: str = "") -> StoreMissing:
    where = redact_url(resolve_url(url))
    return StoreMissing(
        f"{prefix}no runs recorded in {where} (there is no smbsign store there; "
        f"check --db or ${ENV_DB})"
    )


def trend(url: str | None, *, upto_seq: int, kind: RunKind, limit: int = 20) -> list[RunInfo]:
    """Up to ``limit`` runs of ``kind`` ending at ``upto_seq``, oldest first."""
    try:
        with _open(url) as (engine, _parsed), engine.connect() as conn:
            q = (
                _runs_select(conn)
                .where(runs_t.c.kind == kind, runs_t.c.seq <= upto_seq)
                .order_by(runs_t.c.seq.desc())
                .limit(max(1, limit))
            )
            return [_info(row) for row in reversed(conn.execute(q).all())]
    except _NoStore:
        return []


def _resolve(conn: Connection, ref: str, kind: RunKind | None) -> int:
    """``latest``, ``previous``, a sequence number, a run id or a unique id prefix (4+)."""
    ref = ref.strip()
    base = select(runs_t.c.seq)
    if kind is not None:
        base = base.where(runs_t.c.kind == kind)
    if ref.lower() in ("latest", "previous"):
        offset = 0 if ref.lower() == "latest" else 1
        row = conn.execute(base.order_by(runs_t.c.seq.desc()).offset(offset).limit(1)).first()
    elif is_decimal(ref):
        row = conn.execute(base.where(runs_t.c.seq == int(ref))).first()
    elif len(ref) >= 4 and ref.isalnum():
        pattern = ref.lower() + "%"
        rows = conn.execute(base.where(runs_t.c.id.like(pattern)).limit(2)).all()
        if len(rows) > 1:
            raise UsageError(f"run id prefix {ref!r} is ambiguous: give more characters")
        row = rows[0] if rows else None
    else:
        raise UsageError(f"bad run reference {ref!r}: use latest, previous, a number or a run id")
    if row is None:
        raise RunNotFound(f"no stored run {ref!r}" + (f" of kind {kind}" if kind else ""))
    return int(row[0])


def load_run(url: str | None, ref: str, *, kind: RunKind | None = None) -> Run:
    """The stored run ``ref`` with all its records and findings."""
    try:
        with _open(url) as (engine, _parsed), engine.connect() as conn:
            return _load(conn, ref, kind)
    except _NoStore:
        raise _missing(url, f"no stored run {ref!r}: ") from None


_RELATIVE = ("latest", "previous")


def load_pair(
    url: str | None, ref_a: str, ref_b: str, *, kind: RunKind | None = None
) -> tuple[Run, Run]:
    """Two stored runs of one kind, for ``diff``.

    ``latest``/``previous`` resolve among runs of ``kind``; without ``kind``, among runs of
    the kind of the explicit reference (a number or an id) if one is given, else of the kind
    of the newest run in the store. Explicit runs of different kinds are a ``UsageError``.
    """
    try:
        with _open(url) as (engine, _parsed), engine.connect() as conn:
            if kind is None:
                kind = _pair_kind(conn, ref_a, ref_b)
            for ref in (ref_a, ref_b):
                if ref.strip().lower() in _RELATIVE:
                    continue
                other = _kind_of(conn, _resolve(conn, ref, None))
                if other != kind:
                    raise UsageError(
                        f"run {ref} is a {other} run, not a {kind} run: diff compares runs "
                        "of the same kind"
                    )
            return _load(conn, ref_a, kind), _load(conn, ref_b, kind)
    except _NoStore:
        raise _missing(url, f"no stored run {ref_a!r}: ") from None


def _kind_of(conn: Connection, seq: int) -> RunKind:
    value = conn.execute(select(runs_t.c.kind).where(runs_t.c.seq == seq)).scalar_one()
    return "audit" if value == "audit" else "scan"


def _pair_kind(conn: Connection, ref_a: str, ref_b: str) -> RunKind:
    explicit = [r for r in (ref_a, ref_b) if r.strip().lower() not in _RELATIVE]
    seqs = [_resolve(conn, r, None) for r in explicit]
    if not seqs:
        newest = conn.execute(select(runs_t.c.seq).order_by(runs_t.c.seq.desc()).limit(1)).first()
        if newest is None:
            raise RunNotFound(f"no stored run {ref_a!r}: the store holds no runs yet")
        seqs = [int(newest[0])]
    kinds = {_kind_of(conn, seq) for seq in seqs}
    if len(kinds) > 1:
        raise UsageError(
            f"{ref_a} is a {_kind_of(conn, seqs[0])} run and {ref_b} a "
            f"{_kind_of(conn, seqs[1])} run: diff compares runs of the same kind"
        )
    return kinds.pop()


def _load(conn: Connection, ref: str, kind: RunKind | None) -> Run:
    seq = _resolve(conn, ref, kind)
    info = _info(conn.execute(_runs_select(conn).where(runs_t.c.seq == seq)).one())
    try:
        recs = tuple(
            scan_record_from_dict(json.loads(d))
            for (d,) in conn.execute(
                select(records_t.c.data).where(records_t.c.run_seq == seq).order_by(records_t.c.idx)
            )
        )
        fnds = tuple(
            finding_from_dict(json.loads(d))
            for (d,) in conn.execute(
                select(findings_t.c.data)
                .where(findings_t.c.run_seq == seq)
                .order_by(findings_t.c.idx)
            )
        )
    except (ParseError, ValueError) as exc:
        raise StoreError(f"run {info.id} is damaged in the store: {exc}") from None
    return Run(
        id=info.id,
        kind=info.kind,
        started=info.started,
        finished=info.finished,
        tool_version=info.tool_version,
        argv=info.argv,
        records=recs,
        findings=fnds,
        seq=info.seq,
        complete=info.complete,
    )


def count_rows(url: str | None = None) -> dict[str, int]:
    """Row counts per table (for checks and tests)."""
    try:
        with _open(url) as (engine, _parsed), engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (runs_t, records_t, findings_t)
            }
    except _NoStore:
        return {t.name: 0 for t in (runs_t, records_t, findings_t)}

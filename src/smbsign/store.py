"""History of runs: SQLite by default, PostgreSQL by URL (SQLAlchemy Core, no ORM).

Tables (prefixed ``smbsign_`` so a team's shared database stays tidy): ``runs`` (one row a
run, summary and redacted argv as JSON text, ``complete`` 0 for an interrupted run),
``scan_records`` and ``findings`` (one row each, the published JSON shape as text plus
indexed host / control / status columns).

Writers create the tables and add columns that later versions introduced (``complete``:
an additive ``ALTER TABLE ... ADD COLUMN`` whose default 1 counts older runs as complete).
Readers (``history``, ``diff``, ``report``) never create or change anything: SQLite is opened
with ``mode=ro``, PostgreSQL in read-only transactions, and a store that does not exist (no
file, no tables) is ``StoreMissing``, a usage error.

Default URL: ``sqlite:///<platformdirs.user_data_dir("smbsign")>/history.sqlite``;
``$SMBSIGN_DB`` or ``--db URL`` override it. ``postgresql://`` means psycopg 3.

Concurrency: a run is written in one short transaction. SQLite runs in WAL mode with a
busy timeout and takes the write lock at ``BEGIN IMMEDIATE`` (a deferred transaction that
must upgrade its lock fails at once instead of waiting); "database is locked" is retried a
bounded number of times. PostgreSQL uses ordinary transactions; schema creation is
serialised with an advisory lock. Passwords in URLs never appear in messages.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from smbsign.errors import ParseError, SmbsignError, UsageError
from smbsign.report.decode import finding_from_dict, scan_record_from_dict
from smbsign.report.run import (
    Run,
    RunInfo,
    RunKind,
    iso,
    new_run_id,
    parse_iso,
    redact_text,
    summary_from_dict,
    summary_to_dict,
)
from smbsign.report.verdict import verdict
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict, scan_record_to_dict
from smbsign.textutil import is_decimal

ENV_DB = "SMBSIGN_DB"
STORE_VERSION = "1"
_WRITE_ATTEMPTS = 8
_BUSY_TIMEOUT_S = 30.0
_CHUNK = 1000
_ADVISORY_KEY = 0x736D6273  # "smbs": serialises CREATE TABLE on PostgreSQL


class StoreError(SmbsignError):
    """The store could not be opened, read or written (message never holds a password)."""


class RunNotFound(UsageError):
    """No stored run matches the reference the user gave."""


class StoreMissing(RunNotFound):
    """A reader found no store at the URL (no SQLite file, or no smbsign tables in it)."""


metadata = MetaData()
runs_t = Table(
    "smbsign_runs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("started", String(40), nullable=False),
    Column("finished", String(40), nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("schema_version", String(16), nullable=False),
    Column("argv", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("n_records", Integer, nullable=False),
    Column("n_findings", Integer, nullable=False),
    # Added after store version 1 shipped: writers add it to older stores (default 1).
    Column("complete", Integer, nullable=False, server_default=text("1")),
)
Index("ix_smbsign_runs_kind_seq", runs_t.c.kind, runs_t.c.seq)
records_t = Table(
    "smbsign_scan_records",
    metadata,
    Column("run_seq", Integer, ForeignKey("smbsign_runs.seq", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("host", String(512), nullable=False),
    Column("port", Integer, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("run_seq", "idx"),
)
Index("ix_smbsign_scan_records_host", records_t.c.host)
findings_t = Table(
    "smbsign_findings",
    metadata,
    Column("run_seq", Integer, ForeignKey("smbsign_runs.seq", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("host", String(512), nullable=False),
    Column("control", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("run_seq", "idx"),
)
Index("ix_smbsign_findings_host_control", findings_t.c.host, findings_t.c.control)
meta_t = Table(
    "smbsign_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)


# ------------------------------------------------------------------------------ URLs


def default_url() -> str:
    base = Path(platformdirs.user_data_dir("smbsign"))
    return f"sqlite:///{base / 'history.sqlite'}"


def resolve_url(url: str | None) -> str:
    """``--db`` wins, then ``$SMBSIGN_DB``, then the per-user SQLite file."""
    return url or os.environ.get(ENV_DB) or default_url()


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and listings)."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        shown = url
    return redact_text(shown, word=True)


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
        _ = parsed.port  # SQLAlchemy converts the port lazily: a bad one raises here
    except (ArgumentError, ValueError):
        raise UsageError(
            f"invalid database URL {redact_url(url)!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST/DB"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):  # libpq also spells it postgres://
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UsageError(
            f"unsupported database URL {redact_url(url)!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST/DB"
        )
    if backend == "sqlite" and _sqlite_path(parsed) is None:
        raise UsageError(
            f"{redact_url(url)!r} is an in-memory SQLite database that keeps nothing: "
            "use sqlite:///PATH (a file)"
        )
    return parsed


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    db = url.database or ""
    if db in ("", ":memory:") or (db.startswith("file:") and "mode=memory" in db):
        return None
    if db.startswith("file:"):
        return Path(db[5:].split("?", 1)[0])
    return Path(db)


def _scrub(message: str, url: URL) -> str:
    """One line, with the URL's password removed wherever a driver echoed it."""
    line = " ".join(redact_text(message).split())
    for secret in (url.password, url.query.get("password"), url.query.get("sslpassword")):
        for value in (secret,) if isinstance(secret, str) else secret or ():
            if value:
                line = line.replace(str(value), "***")
    return line[:300]


# -------------------------------------------------------------------------- engine


def _sqlite_file(url: URL) -> None:
    """Create the parent directory (0700) and the file (0600) of a file-backed SQLite URL."""
    path = _sqlite_path(url)
    if path is None or (url.database or "").startswith("file:"):
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror}") from None


def _sqlite_reader(url: URL) -> Engine:
    """A read-only engine on an existing SQLite file (``mode=ro``: nothing can be written)."""
    path = _sqlite_path(url)
    assert path is not None  # in-memory URLs are refused by _parse_url
    uri = "file:" + urllib.parse.quote(str(path.absolute())) + "?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        return conn

    return create_engine("sqlite://", creator=connect)


def _engine(url: URL, *, write: bool = True) -> Engine:
    if url.get_backend_name() == "sqlite":
        if not write:
            return _sqlite_reader(url)
        _sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (SQLAlchemy recipe)
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("smbsign_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    try:
        engine = create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 10})
    except (NoSuchModuleError, ImportError):
        raise UsageError(
            "PostgreSQL support needs psycopg 3: pip install 'smbsign[postgres]'"
        ) from None
    # Readers run in read-only transactions (PostgreSQL "SET TRANSACTION READ ONLY").
    return engine if write else engine.execution_options(postgresql_readonly=True)


class _NoStore(Exception):
    """A reader found no store (no SQLite file, or no smbsign tables): nothing is created."""


@contextmanager
def _open(url: str | None, *, write: bool = False) -> Iterator[tuple[Engine, URL]]:
    """Engine for the store; readers never create or change one (``_NoStore`` instead)."""
    raw = resolve_url(url)
    parsed = _parse_url(raw)
    if not write and parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None and not path.is_file():
            raise _NoStore
    engine = _engine(parsed, write=write)
    try:
        if write:
            _ensure_schema(engine, parsed)
        else:
            _check_schema(engine)
        yield engine, parsed
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        detail = str(orig) if orig is not None else str(exc)
        where = redact_url(raw)
        raise StoreError(f"database {where}: {_scrub(detail, parsed)}") from None
    finally:
        engine.dispose()


def _is_locked(exc: SQLAlchemyError) -> bool:
    msg = str(exc).lower()
    return "database is locked" in msg or "database is busy" in msg


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn = conn.execution_options(smbsign_write=True)
        with conn.begin():
            yield conn


def _retrying(engine: Engine, work: Any) -> Any:
    """Run ``work(conn)`` in a write transaction, retrying SQLite lock errors (bounded)."""
    for attempt in range(_WRITE_ATTEMPTS):
        try:
            with _write(engine) as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            if not _is_locked(exc) or attempt == _WRITE_ATTEMPTS - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _ensure_schema(engine: Engine, url: URL) -> None:
    def create(conn: Connection) -> None:
        if url.get_backend_name() == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
        metadata.create_all(conn, checkfirst=True)
        if "complete" not in _run_columns(conn):  # a store written before the column existed
            conn.execute(
                text("ALTER TABLE smbsign_runs ADD COLUMN complete INTEGER NOT NULL DEFAULT 1")
            )
        _check_version(conn, create=True)

    _retrying(engine, create)


def _run_columns(conn: Connection) -> set[str]:
    return {str(c["name"]) for c in inspect(conn).get_columns(runs_t.name)}


def _check_version(conn: Connection, *, create: bool) -> None:
    row = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "store_version")).first()
    if row is None and create:
        conn.execute(insert(meta_t).values(key="store_version", value=STORE_VERSION))
    elif row is not None and row[0] != STORE_VERSION:
        raise StoreError(f"store version {row[0]} is not supported (want {STORE_VERSION})")


def _check_schema(engine: Engine) -> None:
    """For readers: the store's tables exist (else ``_NoStore``) and its version is known."""
    with engine.connect() as conn:
        have = set(inspect(conn).get_table_names())
        if not {runs_t.name, records_t.name, findings_t.name, meta_t.name} <= have:
            raise _NoStore
        _check_version(conn, create=False)


def _runs_select(conn: Connection) -> Any:
    """``SELECT`` of the runs table that also works on a store without newer columns."""
    cols = _run_columns(conn)
    return select(*(c for c in runs_t.c if c.name in cols))


# ----------------------------------------------------------------------- writing


def _rows(run: Run, seq: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
    fnds = [
        {
            "run_seq": seq,
            "idx": i,
            "host": f.host,
            "control": f.control,
            "status": f.status.value,
            "data": json.dumps(finding_to_dict(f), ensure_ascii=False),
        }
        for i, f in enumerate(run.findings)
    ]
    return recs, fnds


def record_run(run: Run, url: str | None = None) -> Run:
    """Store ``run`` in one transaction; returns it with ``seq`` (and a fresh id on a clash)."""
    with _open(url, write=True) as (engine, _parsed):
        for _ in range(3):
            try:
                seq = _retrying(engine, lambda conn, r=run: _insert(conn, r))
            except IntegrityError:
                run = replace(run, id=new_run_id())  # id clash: ~50 random bits, so rare
                continue
            return replace(run, seq=seq)
    raise StoreError("could not allocate a unique run id")


def _insert(conn: Connection, run: Run) -> int:
    res = conn.execute(
        insert(runs_t).values(
            id=run.id,
            kind=run.kind,
            started=iso(run.started),
            finished=iso(run.finished),
            tool_version=run.tool_version,
            schema_version=SCHEMA_VERSION,
            argv=json.dumps(list(run.argv), ensure_ascii=False),
            summary=json.dumps(summary_to_dict(run.summary)),
            n_records=len(run.records),
            n_findings=len(run.findings),
            complete=1 if run.complete else 0,
        )
    )
    key = res.inserted_primary_key
    if key is None or key[0] is None:
        raise StoreError("the database returned no sequence number for the new run")
    seq = int(key[0])
    recs, fnds = _rows(run, seq)
    for table, rows in ((records_t, recs), (findings_t, fnds)):
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(table), rows[start : start + _CHUNK])
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


__all__: Sequence[str] = (
    "ENV_DB",
    "RunNotFound",
    "StoreError",
    "StoreMissing",
    "count_rows",
    "default_url",
    "list_runs",
    "load_pair",
    "load_run",
    "record_run",
    "redact_url",
    "resolve_url",
    "trend",
)

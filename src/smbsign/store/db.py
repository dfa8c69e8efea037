"""The store's database: tables, URLs, engines, schema creation and checks (SQLAlchemy Core)."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
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
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from smbsign.errors import SmbsignError, UsageError
from smbsign.run import redact_text

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
    # psycopg logs a warning of its own ("error ignored terminating <psycopg.Pipeline>") when
    # the server drops the connection; the StoreError line says it once.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
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

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

from smbsign.store.db import (
    ENV_DB,
    STORE_VERSION,
    RunNotFound,
    StoreError,
    StoreMissing,
    default_url,
    redact_url,
    resolve_url,
)
from smbsign.store.runs import (
    count_rows,
    list_runs,
    load_pair,
    load_run,
    record_run,
    trend,
)

__all__ = [
    "ENV_DB",
    "STORE_VERSION",
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
]

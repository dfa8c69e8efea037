"""Store URLs for the report/store tests: a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import pgcluster

_dbs = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pgcluster.Cluster]:
    """A real PostgreSQL server; skipped with the reason where Debian's postgresql is missing,
    a failure instead under ``SMBSIGN_REQUIRE_LAB=1`` (set by ``.ci/run``)."""
    reason = pgcluster.skip_reason()
    if reason:
        if os.environ.get("SMBSIGN_REQUIRE_LAB") == "1":
            pytest.fail(f"PostgreSQL tests are required here but cannot run: {reason}")
        pytest.skip(reason)
    cluster = pgcluster.start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: pgcluster.Cluster) -> str:
    return pg_cluster.createdb(f"smbsign_t{next(_dbs)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sub' / 'history.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url

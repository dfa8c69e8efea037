"""Shared pytest configuration.

Every test run gets its own private data directory: the history store (``SMBSIGN_DB``,
docs/report.md) and fix snapshots (``$XDG_DATA_HOME/smbsign/snapshots``, docs/fix.md) of
commands run by tests never land in the real user's data directory. Subprocesses inherit it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    base = tmp_path_factory.mktemp("smbsign-data")
    saved = {k: os.environ.get(k) for k in ("XDG_DATA_HOME", "SMBSIGN_DB")}
    os.environ["XDG_DATA_HOME"] = str(base / "xdg")
    os.environ["SMBSIGN_DB"] = f"sqlite:///{base / 'history.sqlite'}"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

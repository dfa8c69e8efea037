"""Shared pytest configuration.

Every test run gets its own private data directory: the history store (``SMBSIGN_DB``,
docs/report.md) and fix snapshots (``$XDG_DATA_HOME/smbsign/snapshots``, docs/fix.md) of
commands run by tests never land in the real user's data directory. Subprocesses inherit it.

A run started with Ctrl-C ignored gets Python's default handler back, so that the processes the
tests start (and interrupt) act on Ctrl-C as on a terminal.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Undo an inherited "ignore Ctrl-C".

    A shell script that starts the suite in the background (``cmd &``, ``nohup``) starts it with
    SIGINT ignored (POSIX, Shell Command Language 2.11: asynchronous lists), Python keeps an
    inherited SIG_IGN (Python docs, ``signal``), and every ``smbsign`` a test starts inherits it
    in turn: the tests that interrupt a scan or an audit with SIGINT would wait out their timeouts.
    A handler, unlike SIG_IGN, is reset to the default by ``exec`` (POSIX ``execve``).
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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

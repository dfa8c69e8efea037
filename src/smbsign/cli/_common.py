"""Helpers shared by the command modules: exit codes, one-line errors, output files."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``smbsign: error: <message>`` (one line) and exit with ``code``."""
    line = " ".join(str(message).split())
    sys.stderr.write(f"smbsign: error: {line}\n")
    raise SystemExit(code)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and rename (never half-written)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

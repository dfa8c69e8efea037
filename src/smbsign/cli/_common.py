"""Helpers shared by the command modules: exit codes, one-line errors, output files."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it

# THE exit codes of every command (public interface): a command's help says what each code
# it uses means for it with :func:`exit_epilog`, which accepts only these codes; the root
# help lists this table (tests/unit/test_cli_help.py checks every command's help).
EXIT_CODES: Mapping[int, str] = MappingProxyType(
    {
        EXIT_OK: "everything checked is compliant, or the command did what was asked",
        EXIT_FINDINGS: "at least one host or control is not compliant (or got worse)",
        EXIT_USAGE: "usage error: bad arguments, unreadable or invalid input; nothing done",
        EXIT_RUNTIME: "the run itself failed, or something could not be determined",
        EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    }
)


def exit_epilog(*rows: int | tuple[int, str], see: str | None = None) -> str:
    """``Exit codes: 0 ...; 2 ...`` for a command's help (``epilog=``).

    A row is a code of :data:`EXIT_CODES` (its general meaning) or ``(code, what it means for
    this command)``; a code outside the table is a programming error (ValueError)."""
    parts = []
    for row in rows:
        code, meaning = row if isinstance(row, tuple) else (row, EXIT_CODES.get(row, ""))
        if code not in EXIT_CODES:
            raise ValueError(f"exit code {code} is not in EXIT_CODES")
        parts.append(f"{code} {meaning}")
    tail = f" See {see}." if see else ""
    return f"Exit codes: {'; '.join(parts)}.{tail}"


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

"""THE table of output formats (docs/architecture.md, "Add a format").

One line a format; every command's ``-f/--format`` choices, its ``-o`` suffix guess and
``smbsign report``'s renderers come from here. A format module defines ``FORMAT``
(:class:`smbsign.output.base.Format`): what it carries and how.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import TextIO

from smbsign.errors import UsageError
from smbsign.output import csv_out, html, json_out, jsonl, junit, markdown, sarif, table
from smbsign.output.base import Format, Item, Kind, Meta, Options, Writer

__all__ = [
    "FORMATS",
    "Kind",
    "choice",
    "format_enum",
    "get",
    "guess",
    "names",
    "open_writer",
    "render_document",
    "render_items",
]

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        table.FORMAT,
        json_out.FORMAT,
        jsonl.FORMAT,
        csv_out.FORMAT,
        sarif.FORMAT,
        junit.FORMAT,
        markdown.FORMAT,
        html.FORMAT,
    )
}

# What each kind is called in a message.
_WHAT = {
    Kind.RECORDS: "scan records",
    Kind.FINDINGS: "findings",
    Kind.RUN: "a stored run",
    Kind.HISTORY: "a run history",
    Kind.DIFF: "a diff",
}
# Other suffixes read as a format (``-o scan.ndjson``).
_ALIASES = {".ndjson": "jsonl", ".htm": "html", ".markdown": "markdown"}


def names(kind: Kind) -> tuple[str, ...]:
    """The formats that carry ``kind``, in table order."""
    return tuple(name for name, f in FORMATS.items() if f.carries(kind))


def choice(kind: Kind) -> str:
    """``table, json, jsonl, ...``: the choices of ``kind`` for help and messages."""
    return ", ".join(names(kind))


def get(name: str, kind: Kind) -> Format:
    """The format ``name`` for ``kind``; an unknown one, or one that cannot carry ``kind``, is a
    one-line :class:`UsageError`."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise UsageError(f"unknown --format {name!r} (choose {choice(kind)})")
    if not fmt.carries(kind):
        raise UsageError(f"--format {name} cannot carry {_WHAT[kind]} (choose {choice(kind)})")
    return fmt


def guess(path: Path | None, kind: Kind) -> str | None:
    """The format an ``-o`` file name asks for (``.sarif`` -> sarif), if it carries ``kind``."""
    if path is None:
        return None
    suffix = path.suffix.lower()
    for name in names(kind):
        if FORMATS[name].suffix == suffix:
            return name
    alias = _ALIASES.get(suffix)
    return alias if alias in names(kind) else None


def open_writer(name: str, kind: Kind, fh: TextIO, opts: Options | None = None) -> Writer:
    """The writer of ``kind`` items in format ``name`` on ``fh``."""
    return get(name, kind).writer(kind, fh, opts)


def render_items(
    name: str,
    kind: Kind,
    items: Iterable[Item],
    meta: Meta,
    *,
    complete: bool = True,
    opts: Options | None = None,
) -> bytes:
    """``items`` written whole in format ``name`` (a command that collects before it writes)."""
    raw = io.BytesIO()
    fh = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
    writer = open_writer(name, kind, fh, opts)
    writer.begin(meta)
    for item in items:
        writer.add(item)
    writer.end({"complete": complete})
    fh.flush()
    return raw.getvalue()


def render_document(name: str, kind: Kind, doc: object) -> bytes:
    """A one-document kind (``history``, ``diff``) in format ``name``."""
    return get(name, kind).document(kind, doc)


def format_enum(kind: Kind) -> type[StrEnum]:
    """A ``StrEnum`` of the formats of ``kind``, for a typer option (help lists the choices)."""
    members = {name.upper(): name for name in names(kind)}
    enum: type[StrEnum] = StrEnum(f"{kind.value.title()}Format", members)  # type: ignore[misc]
    return enum

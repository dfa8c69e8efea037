"""The one CSV cell function and the text cleaning every output shares.

A cell is one line with no control characters, and text a spreadsheet would run as a
formula (leading ``= + - @``, tab, CR) gets a leading ``'`` (OWASP "CSV injection",
:func:`smbsign.textutil.formula_safe`); numbers and booleans are written as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from smbsign.model import Finding
from smbsign.run import clean
from smbsign.textutil import formula_safe

__all__ = ["cell", "clean", "clean_text", "flatten", "printable"]


def cell(value: object) -> str:
    """One CSV cell: ``""`` for None, ``true``/``false``, numbers as they are, text cleaned
    to one line without control characters and guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return formula_safe(clean(value))


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``{"smb2": {"dialect": x}}`` as ``("smb2_dialect", x)``: nested keys joined by ``_``."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}_")
        else:
            yield f"{prefix}{key}", value


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a file name that is not UTF-8 (lone surrogates from
    ``os.fsdecode``) shows its bytes as ``\\xff`` instead of failing the UTF-8 writers."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte (e.g. JSON "\ud800")
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "backslashreplace")


def printable(f: Finding) -> Finding:
    """``f`` with every text field valid Unicode (see :func:`clean_text`)."""
    texts = (f.host, f.expected, f.reason, f.title, *f.notes)
    if f.source is not None:
        texts += (f.source.kind, f.source.path, f.source.location)
    if isinstance(f.observed, str):
        texts += (f.observed,)
    if all(clean_text(t) is t for t in texts):  # the common case: nothing to clean, no copy
        return f
    src = f.source
    if src is not None:
        src = replace(
            src,
            kind=clean_text(src.kind),
            path=clean_text(src.path),
            location=clean_text(src.location),
        )
    return replace(
        f,
        host=clean_text(f.host),
        observed=clean_text(f.observed) if isinstance(f.observed, str) else f.observed,
        expected=clean_text(f.expected),
        source=src,
        reason=clean_text(f.reason),
        title=clean_text(f.title),
        notes=tuple(clean_text(n) for n in f.notes),
    )

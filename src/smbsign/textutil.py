"""Small text helpers shared by parsers."""

from __future__ import annotations


def is_decimal(text: str) -> bool:
    """True for ASCII decimal digits only.

    ``str.isdigit`` is also True for characters such as ``'²'`` that ``int()`` rejects, so
    ``s.isdigit()`` followed by ``int(s)`` can raise on hostile input.
    """
    return text.isascii() and text.isdigit()


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """``text`` for a CSV cell: a leading ``'`` keeps a spreadsheet from running it."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 target"``, ``"0 targets"``, ``"65,536 targets"``; ``nouns`` for an irregular plural."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"

"""Small text helpers shared by parsers."""

from __future__ import annotations


def is_decimal(text: str) -> bool:
    """True for ASCII decimal digits only.

    ``str.isdigit`` is also True for characters such as ``'²'`` that ``int()`` rejects, so
    ``s.isdigit()`` followed by ``int(s)`` can raise on hostile input.
    """
    return text.isascii() and text.isdigit()

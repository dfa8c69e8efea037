"""The output options every command shares: ``-f/--format``, ``-o/--output``, ``-q/--quiet``.

The ``-f`` choices of a command are the formats of the one registry
(:mod:`smbsign.output.registry`) that carry its record kind, so ``--help`` lists them and a
new format appears in every command that can carry it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from smbsign.output.base import Kind

# The registry imports every format module (rich, the run model): it is imported by the
# functions below, when a command builds its choices or picks a format, so that a command
# using only -q (``smbsign controls``) starts without it (#8 item 6).

__all__ = ["QuietOption", "format_choices", "format_option", "pick_format"]


def format_option(help_text: str, *, show_default: bool = False) -> Any:
    """``-f/--format``; annotate it with the command's enum from :func:`format_choices`."""
    return typer.Option("--format", "-f", help=help_text, show_default=show_default)


def format_choices(kind: Kind) -> type[StrEnum]:
    """The ``-f`` choices of a command (``--help`` lists them): the formats carrying ``kind``.

    Use as ``if TYPE_CHECKING: X = StrEnum else: X = format_choices(kind)`` (mypy cannot see
    an enum made at run time)."""
    from smbsign.output.registry import format_enum

    return format_enum(kind)


QuietOption = Annotated[
    bool, typer.Option("-q", "--quiet", help="Only the output: no notes or summary on stderr.")
]


def pick_format(fmt: str | StrEnum | None, output: Path | None, kind: Kind, default: str) -> str:
    """``-f``, else what the ``-o`` suffix names, else ``default``; a format that cannot carry
    ``kind`` is a one-line usage error."""
    from smbsign.output.registry import get, guess

    chosen = str(fmt) if fmt is not None else guess(output, kind) or default
    return get(chosen, kind).name

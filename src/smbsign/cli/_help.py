"""House rules for command help: a flag shows no value type.

Typer 0.29 renders a type for every option in its help table, flags included, so every flag
(``--quiet``, ``--no-store``, even ``--help``) read ``<bool>`` as if it took a value. A flag
takes none: :class:`FlagOption` renders no type for it (options with a value are unchanged).

The command classes here are what ``cls=`` would give each command; the root group derives
from :class:`HouseGroup`, and :func:`adopt` gives the classes to a command tree a command
module registered (``smbsign.cli.lazy.load_module_group``), so no command module has to
remember a ``cls=``. Parsing is untouched: only ``display_type_rich``, which typer calls for
the help table alone, differs.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup, TyperOption

__all__ = ["FlagOption", "HouseCommand", "HouseGroup", "adopt"]


class FlagOption(TyperOption):
    """A typer option whose help shows no type when it is a flag (it takes no value)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        return super().display_type_rich(ctx)


def _plain_flags(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption and param.is_flag:
            param.__class__ = FlagOption  # a subclass adding one display override
    return params


class HouseCommand(TyperCommand):
    """A typer command whose flags show no type in help."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


class HouseGroup(TyperGroup):
    """A typer group whose flags show no type in help."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


def adopt(command: Any) -> None:
    """Give ``command`` and every command under it the house classes (in place)."""
    if type(command) is TyperCommand:
        command.__class__ = HouseCommand
    elif type(command) is TyperGroup:
        command.__class__ = HouseGroup
    for sub in getattr(command, "commands", {}).values():
        adopt(sub)

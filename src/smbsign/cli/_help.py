"""House rules for command parameters: a flag shows no value type; coercion is deferred.

Typer 0.29 renders a type for every option in its help table, flags included, so every flag
(``--quiet``, ``--no-store``, even ``--help``) read ``<bool>`` as if it took a value. A flag
takes none: :class:`FlagOption` renders no type for it (options with a value are unchanged).
Every option and argument also coerces its value through :class:`~smbsign.cli._coerce.
DeferredCoercion`, which builds typer's pydantic-based coercion only for a value that needs
it (start-up, #8 item 6).

The command classes here are what ``cls=`` would give each command; the root group derives
from :class:`HouseGroup`, and :func:`adopt` gives the classes to a command tree a command
module registered (``smbsign.cli.lazy.load_module_group``), so no command module has to
remember a ``cls=``. Parsing is untouched: only ``display_type_rich``, which typer calls for
the help table alone, differs, and coercion gives typer's results and errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from typer._coercion import RuntimeParam

__all__ = ["FlagOption", "HouseArgument", "HouseCommand", "HouseGroup", "HouseOption", "adopt"]


def _deferred(param: TyperOption | TyperArgument) -> RuntimeParam:
    # Imported here: typer calls get_runtime_param from 0.29 on, when this module exists.
    from smbsign.cli._coerce import DeferredCoercion

    if param._runtime_param is None:
        desc = param.type_descriptor
        param._runtime_param = DeferredCoercion(desc.parameter_info, desc.annotation)
    return param._runtime_param


class HouseOption(TyperOption):
    """A typer option whose value is coerced by :class:`DeferredCoercion`."""

    def get_runtime_param(self) -> RuntimeParam:
        return _deferred(self)


class HouseArgument(TyperArgument):
    """A typer argument whose value is coerced by :class:`DeferredCoercion`."""

    def get_runtime_param(self) -> RuntimeParam:
        return _deferred(self)


class FlagOption(HouseOption):
    """A typer option whose help shows no type when it is a flag (it takes no value)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        return super().display_type_rich(ctx)


def _plain_flags(params: list[Any]) -> list[Any]:
    for param in params:  # subclasses adding overrides only (no state of their own)
        if type(param) is TyperOption:
            param.__class__ = FlagOption if param.is_flag else HouseOption
        elif type(param) is TyperArgument:
            param.__class__ = HouseArgument
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

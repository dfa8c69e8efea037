"""Typer's value coercion, built only for a value that needs it (#8 item 6).

Typer 0.29 coerces a parameter's value through a pydantic ``TypeAdapter`` that it builds the
first time the parameter is processed (``typer._coercion.build_runtime_param``), importing
``typer._adapters`` and pydantic: about 90 ms of every command with an option that is not a
flag, even when the option was not given (the value is ``None``) or is a string for a ``str``
parameter, where that coercion returns the value unchanged. :class:`DeferredCoercion` stands in
for it: ``None`` is handled by typer's own ``RuntimeParam.coerce`` before any adapter is used,
a ``str`` for a plain ``str`` parameter is returned as typer would return it, and any other
value goes through typer's coercion, built then (same result, same errors). So ``smbsign
controls`` lists the catalog without importing pydantic.

The parameter classes of ``cli/_help.py`` use it; nothing else changes in how values parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer._coercion import RuntimeParam, build_runtime_param

__all__ = ["DeferredCoercion", "typer_coercion"]


def typer_coercion(param: Any) -> RuntimeParam:
    """Typer's own coercion of ``param`` (a typer option or argument), built once."""
    built: RuntimeParam | None = getattr(param, "_smbsign_typer_coercion", None)
    if built is None:
        built = build_runtime_param(param.type_descriptor)
        param._smbsign_typer_coercion = built
    return built


def needs_typer(annotation: Any, parameter_info: Any, value: Any) -> bool:
    """False when typer's coercion of ``value`` is the identity: a ``str`` (exactly) for a
    plain ``str`` parameter without a custom parser (typer's adapter is ``str(value)`` and
    pydantic's lax ``str`` validation, which return the same string)."""
    return not (annotation is str and parameter_info.parser is None and type(value) is str)


@dataclass(frozen=True)
class DeferredCoercion(RuntimeParam):
    """A parameter's coercion that builds typer's (and imports pydantic) only when needed."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if not needs_typer(self.annotation, self.parameter_info, value):
            return value
        return typer_coercion(param)._coerce_value(value, param=param, ctx=ctx)

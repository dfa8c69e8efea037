"""Strict YAML reading for catalog data: safe types only, duplicate keys rejected.

PyYAML's ``safe_load`` silently keeps the last of two equal mapping keys, so a control with
``weight`` written twice would load without complaint; the catalog must reject that like any
other unknown or malformed key. Errors become one-line :class:`CatalogError` messages that
name the file (and line, when YAML knows it).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from smbsign.errors import CatalogError

# libyaml's parser when PyYAML was built with it (several times faster), else pure Python.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate keys in a mapping."""


def _construct_mapping(loader: _StrictLoader, node: MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load_yaml(text: str, where: str) -> Any:
    """Parse ``text`` (the content of ``where``); :class:`CatalogError` on any YAML problem."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" (line {mark.line + 1})" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise CatalogError(f"{where}{line}: {_one_line(problem)}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{where}: {_one_line(str(exc))}") from None


def load_mapping(text: str, where: str) -> dict[str, Any]:
    """Like :func:`load_yaml`, but the document must be a mapping."""
    data = load_yaml(text, where)
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: the document must be a mapping, not {type(data).__name__}")
    return data


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one line: ``loc: msg; loc: msg``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return _one_line("; ".join(parts))

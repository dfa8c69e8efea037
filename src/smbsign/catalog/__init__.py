"""smbsign.catalog: controls, framework mappings and defaults as validated data.

Public API: :func:`load_catalog` -> :class:`Catalog`; :func:`resolve_default` ->
:class:`DefaultResolution` (``defaults.py``). Nothing is loaded at import time, and the names
are imported when first used (PEP 562), so that ``smbsign.catalog.listing`` (``smbsign
controls``) is importable without the pydantic schemas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smbsign.catalog.defaults import DefaultResolution, DefaultsTable, resolve_default
    from smbsign.catalog.loader import Catalog, load_catalog

__all__ = ["Catalog", "DefaultResolution", "DefaultsTable", "load_catalog", "resolve_default"]

_WHERE = {
    "Catalog": "smbsign.catalog.loader",
    "load_catalog": "smbsign.catalog.loader",
    "DefaultResolution": "smbsign.catalog.defaults",
    "DefaultsTable": "smbsign.catalog.defaults",
    "resolve_default": "smbsign.catalog.defaults",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

"""smbsign.catalog: controls, framework mappings and defaults as validated data.

Public API: :func:`load_catalog` -> :class:`Catalog`; :func:`resolve_default` ->
:class:`DefaultResolution` (``defaults.py``). Nothing is loaded at import time.
"""

from smbsign.catalog.defaults import DefaultResolution, DefaultsTable, resolve_default
from smbsign.catalog.loader import Catalog, load_catalog

__all__ = ["Catalog", "DefaultResolution", "DefaultsTable", "load_catalog", "resolve_default"]

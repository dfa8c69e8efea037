"""Reports: one small module a format, all reading the same ``Run`` (ARCHITECTURE.md).

``FORMATS`` (name -> renderer returning bytes) is derived from the one registry of formats,
:mod:`smbsign.output.registry`.
Every renderer has the signature ``render(run, catalog=None, *, trend=())``; ``trend`` (older
runs of the same kind, oldest first) is used by the HTML report only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smbsign.output.base import Kind
from smbsign.output.registry import FORMATS as _REGISTRY
from smbsign.run import CatalogLike, Run, RunInfo


class Renderer(Protocol):
    def __call__(
        self, run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()
    ) -> bytes: ...


# Derived from the one registry (smbsign.output.registry): a stored run in every format.
FORMATS: dict[str, Renderer] = {
    name: f.render for name, f in _REGISTRY.items() if f.carries(Kind.RUN)
}

# Suggested file name suffix per format (``-o`` is free-form).
SUFFIX = {name: f.suffix for name, f in _REGISTRY.items() if f.carries(Kind.RUN)}

__all__ = ["FORMATS", "SUFFIX", "Renderer"]

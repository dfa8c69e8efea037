"""Reports: one small module a format, all reading the same ``Run`` (ARCHITECTURE.md).

``FORMATS`` is the explicit wiring table (no discovery): name -> renderer returning bytes.
Every renderer has the signature ``render(run, catalog=None, *, trend=())``; ``trend`` (older
runs of the same kind, oldest first) is used by the HTML report only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smbsign.report import csv_out, html, json_out, jsonl, junit, markdown, sarif, table
from smbsign.run import CatalogLike, Run, RunInfo


class Renderer(Protocol):
    def __call__(
        self, run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()
    ) -> bytes: ...


FORMATS: dict[str, Renderer] = {
    "table": table.render,
    "json": json_out.render,
    "jsonl": jsonl.render,
    "csv": csv_out.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "markdown": markdown.render,
    "html": html.render,
}

# Suggested file name suffix per format (``-o`` is free-form).
SUFFIX = {
    "table": ".txt",
    "json": ".json",
    "jsonl": ".jsonl",
    "csv": ".csv",
    "sarif": ".sarif",
    "junit": ".xml",
    "markdown": ".md",
    "html": ".html",
}

__all__ = ["FORMATS", "SUFFIX", "Renderer"]

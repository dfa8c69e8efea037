"""The listing of the packaged catalog (``smbsign controls``), from an index when it is current.

Loading the catalog validates every file with the pydantic schemas (importing pydantic and
the schemas and validating ~40 files: about 0.1 s); listing it needs only a summary row per
control and each framework's name, version and controls. ``listing.json`` next to this module
holds that listing, made from the loaded, validated catalog by ``python -m
smbsign.catalog.listing``, with the SHA-256 digest of every file of this package it was made
from (the YAML data and the code; ``__pycache__`` and the index itself excluded).

:func:`packaged_listing` uses the index only when the package's files have that digest now.
Otherwise (a file edited, added or removed; the index stale, unreadable or malformed; the
package not on a file system) it loads and validates the catalog as before, so the listing is
always the validated catalog's and a broken catalog is still a :class:`CatalogError`. Nothing
is written at run time; only the packaged catalog has an index (a catalog from another root,
and every user file, is always validated). ``tests/unit/test_catalog_listing.py`` checks that
the committed index is current; after changing anything in ``smbsign/catalog/``, run
``python -m smbsign.catalog.listing`` to rewrite it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smbsign.catalog.loader import Catalog

__all__ = ["INDEX", "FrameworkInfo", "Listing", "listing_of", "package_digest", "packaged_listing"]

INDEX = "listing.json"
_FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class FrameworkInfo:
    """What a listing shows of a framework: the controls it names, in first-mention order."""

    id: str
    name: str
    version: str
    controls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Listing:
    """Every control's summary row (``describe.control_summary``) and every framework, both
    in catalog order (sorted by id)."""

    rows: Mapping[str, dict[str, Any]]
    frameworks: Mapping[str, FrameworkInfo]


def listing_of(catalog: Catalog) -> Listing:
    """The listing of a loaded catalog."""
    from smbsign.catalog.describe import control_summary

    rows = {cid: control_summary(catalog, c) for cid, c in catalog.controls.items()}
    frameworks = {
        fid: FrameworkInfo(fid, fw.name, fw.version, tuple(catalog.framework_controls(fid)))
        for fid, fw in catalog.frameworks.items()
    }
    return Listing(MappingProxyType(rows), MappingProxyType(frameworks))


def package_digest(root: Path = _PACKAGE) -> str:
    """SHA-256 over the relative path and content of every file under ``root`` (sorted),
    except ``__pycache__`` and the index."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or rel.as_posix() == INDEX or not path.is_file():
            continue
        data = path.read_bytes()
        digest.update(f"{rel.as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _to_json(listing: Listing, digest: str) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "digest": digest,
        "controls": list(listing.rows.values()),
        "frameworks": [
            {"id": f.id, "name": f.name, "version": f.version, "controls": list(f.controls)}
            for f in listing.frameworks.values()
        ],
    }


def _from_json(doc: dict[str, Any]) -> Listing:
    rows = {row["id"]: row for row in doc["controls"]}
    frameworks = {
        f["id"]: FrameworkInfo(f["id"], f["name"], f["version"], tuple(f["controls"]))
        for f in doc["frameworks"]
    }
    return Listing(MappingProxyType(rows), MappingProxyType(frameworks))


def _indexed(root: Path) -> Listing | None:
    """The index's listing if it was made from exactly the files under ``root`` now."""
    try:
        doc = json.loads((root / INDEX).read_text(encoding="utf-8"))
        if doc["format"] != _FORMAT or doc["digest"] != package_digest(root):
            return None
        return _from_json(doc)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def packaged_listing(root: Path | None = None) -> Listing:
    """The listing of the packaged catalog (or of a copy of the package in ``root``): from the
    index when current, else by loading and validating the catalog (:class:`CatalogError`
    when it is broken)."""
    listing = _indexed(_PACKAGE if root is None else root)
    if listing is not None:
        return listing
    from smbsign.catalog.loader import load_catalog

    return listing_of(load_catalog(root))


def index_text(root: Path = _PACKAGE) -> str:
    """The index for the packaged catalog as it is now (loaded and validated)."""
    from smbsign.catalog.loader import load_catalog

    doc = _to_json(listing_of(load_catalog()), package_digest(root))
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """``python -m smbsign.catalog.listing [--check]``: rewrite the index, or (``--check``)
    exit 1 when it is not current."""
    text = index_text()
    path = _PACKAGE / INDEX
    if argv == ["--check"]:
        current = path.is_file() and path.read_text(encoding="utf-8") == text
        state = "current" if current else "stale: run python -m smbsign.catalog.listing"
        sys.stdout.write(f"{path}: {state}\n")
        return 0 if current else 1
    path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

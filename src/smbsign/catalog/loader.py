"""Load the control catalog: ``controls/*.yaml``, ``frameworks/*.yaml``, ``defaults.yaml``.

One control a file, id = file name (the ``id`` key is never written in the YAML); one
framework a file, id = file name. Every file is validated by the strict schema
(``schema.py``, unknown keys rejected) and the whole is then checked for integrity
(``integrity.py``: dangling or duplicated references, unmapped controls, missing desired
state, ...). Any problem raises :class:`CatalogError` with the file name and the reason on
one line. The packaged catalog is read through ``importlib.resources`` and cached by an
explicit ``lru_cache``; nothing is read at import time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from smbsign.catalog._yaml import load_mapping, validation_message
from smbsign.catalog.defaults import DefaultsTable, load_defaults
from smbsign.catalog.integrity import check_integrity
from smbsign.catalog.schema import Control, Framework, Requirement
from smbsign.errors import CatalogError

_CONTROL_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FRAMEWORK_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The loaded, validated catalog (read-only mappings, sorted by id)."""

    controls: Mapping[str, Control]
    frameworks: Mapping[str, Framework]
    defaults: DefaultsTable

    def only(self, control_ids: Iterable[str]) -> Catalog:
        """The same catalog (frameworks, defaults) restricted to ``control_ids`` (order kept)."""
        keep = set(control_ids)
        chosen = {k: v for k, v in self.controls.items() if k in keep}
        return replace(self, controls=MappingProxyType(chosen))

    def mappings_for(self, control_id: str) -> list[tuple[Framework, Requirement]]:
        """Every (framework, requirement) that names ``control_id``, in file order."""
        return [
            (fw, req)
            for fw in self.frameworks.values()
            for req in fw.requirements
            if control_id in req.controls
        ]

    def framework_controls(self, framework_id: str) -> list[str]:
        """Control ids a framework names, in first-mention order (KeyError if unknown)."""
        fw = self.frameworks[framework_id]
        return list(dict.fromkeys(c for req in fw.requirements for c in req.controls))


def _read(path: Traversable, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{where}: cannot read: {exc}") from None


def _load_dir(
    root: Traversable, folder: str, model: type[M], id_pattern: re.Pattern[str]
) -> dict[str, M]:
    base = root / folder
    if not base.is_dir():
        raise CatalogError(f"{folder}/: directory missing")
    items: dict[str, M] = {}
    for entry in sorted(base.iterdir(), key=lambda p: p.name):
        name = entry.name
        where = f"{folder}/{name}"
        if name.endswith(".yml"):
            raise CatalogError(f"{where}: use the .yaml extension")
        if not name.endswith(".yaml") or not entry.is_file():
            continue
        ident = name[: -len(".yaml")]
        if not id_pattern.match(ident):
            raise CatalogError(f"{where}: file name is not a valid id ({id_pattern.pattern})")
        data = load_mapping(_read(entry, where), where)
        if "id" in data:
            raise CatalogError(f"{where}: remove the 'id' key: the id is the file name ({ident!r})")
        try:
            items[ident] = model.model_validate({**data, "id": ident})
        except ValidationError as exc:
            raise CatalogError(f"{where}: {validation_message(exc)}") from None
    if not items:
        raise CatalogError(f"{folder}/: no .yaml files")
    return items


def _load(root: Traversable) -> Catalog:
    controls = _load_dir(root, "controls", Control, _CONTROL_ID)
    frameworks = _load_dir(root, "frameworks", Framework, _FRAMEWORK_ID)
    defaults_file = root / "defaults.yaml"
    if not defaults_file.is_file():
        raise CatalogError("defaults.yaml: file missing")
    defaults = load_defaults(defaults_file)
    problems = check_integrity(controls, frameworks, defaults)
    if problems:
        raise CatalogError(f"{len(problems)} catalog problem(s): " + "; ".join(problems))
    return Catalog(MappingProxyType(controls), MappingProxyType(frameworks), defaults)


@lru_cache(maxsize=1)
def _packaged() -> Catalog:
    return _load(resources.files("smbsign.catalog"))


def load_catalog(root: Path | None = None) -> Catalog:
    """The catalog in ``root`` (a directory with ``controls/``, ``frameworks/`` and
    ``defaults.yaml``), or the packaged one (cached) when ``root`` is None."""
    if root is None:
        return _packaged()
    return _load(Path(root))

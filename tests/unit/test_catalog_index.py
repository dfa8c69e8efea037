"""The catalog index of the mapping and the linter: built once per catalog, same reports.

``map_policy`` and ``lint`` look up what depends only on the catalog (setting ids, key sides,
Security Options names, framework requirements, defaults on the platform hosts) in
:func:`smbsign.importers.catalog_index.catalog_index`. The reports of every fuzz seed, test
fixture and reference sample checklist must be the same whether each is computed with a freshly
built index or through one kept across files and catalogs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from importer_helpers import SAMPLES

from smbsign.catalog import Catalog, load_catalog
from smbsign.importers import ImportedPolicy, catalog_index, importer_for
from smbsign.importers.describe import check_report, policy_to_dict
from smbsign.importers.lint import lint
from smbsign.importers.mapping import map_policy

ROOT = Path(__file__).resolve().parents[2]
SEED_KINDS = ("wazuh_policy", "wazuh_export", "hardeningkitty", "tenable_audit", "edca")


def _checklists() -> Iterator[tuple[str, ImportedPolicy]]:
    """Every seed, fixture and sample file an importer reads, imported."""
    paths = [p for kind in SEED_KINDS for p in sorted((ROOT / "fuzz" / "seeds" / kind).iterdir())]
    paths += sorted((ROOT / "tests" / "fixtures").rglob("*"))
    if SAMPLES.is_dir():
        paths += sorted(SAMPLES.iterdir())
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        module = importer_for(data, path.name)
        if module is None:
            continue
        policy = module.parse(data, path.name)
        assert isinstance(policy, ImportedPolicy)
        yield str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name), policy


CHECKLISTS = list(_checklists())


def _report(name: str, policy: ImportedPolicy, catalog: Catalog) -> list[dict[str, Any]]:
    """What ``policy show`` and ``policy check`` print of ``policy`` (JSON shapes)."""
    mapped = map_policy(policy, catalog)
    return [
        policy_to_dict(name, policy, mapped),
        check_report(name, policy, mapped, lint(policy, catalog)),
    ]


def _restricted(catalog: Catalog) -> Catalog:
    """The catalog without its Wazuh SCA and NIST SP 800-53 framework files (another catalog
    object, whose index differs: no id-drift from Wazuh ids, no compliance-mapping finding)."""
    gone = ("wazuh-sca", "nist-800-53")
    kept = {k: v for k, v in catalog.frameworks.items() if k not in gone}
    assert len(kept) == len(catalog.frameworks) - len(gone)
    return replace(catalog, frameworks=MappingProxyType(kept))


def test_the_seeds_fixtures_and_samples_are_checklists() -> None:
    kinds = {policy.kind for _, policy in CHECKLISTS}
    assert kinds == set(SEED_KINDS)
    assert sum(len(p.checks) for _, p in CHECKLISTS) > 50


def test_reports_are_the_same_with_a_fresh_index_and_a_kept_one() -> None:
    full = load_catalog()
    part = _restricted(full)
    fresh: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for n, (name, policy) in enumerate(CHECKLISTS):
        for which, catalog in enumerate((full, part)):
            catalog_index.clear_cache()
            fresh[n, which] = _report(name, policy, catalog)
    catalog_index.clear_cache()
    for _round in range(2):  # both catalogs' indexes kept and used in turn
        for n, (name, policy) in enumerate(CHECKLISTS):
            for which, catalog in enumerate((full, part)):
                assert _report(name, policy, catalog) == fresh[n, which], (name, which)
    # the restricted catalog does change reports, so its index is not the full one's
    assert any(fresh[n, 0] != fresh[n, 1] for n in range(len(CHECKLISTS)))


def test_the_index_is_built_once_per_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Catalog] = []
    build = catalog_index.build_index

    def counting(catalog: Catalog) -> catalog_index.CatalogIndex:
        builds.append(catalog)
        return build(catalog)

    monkeypatch.setattr(catalog_index, "build_index", counting)
    catalog_index.clear_cache()
    full = load_catalog()
    part = _restricted(full)
    for _name, policy in CHECKLISTS:
        map_policy(policy, full)
        lint(policy, full)
    assert builds == [full]
    for _name, policy in CHECKLISTS:
        lint(policy, part)
        lint(policy, full)
    assert [id(c) for c in builds] == [id(full), id(part)]
    assert catalog_index.catalog_index(full) is catalog_index.catalog_index(full)


def test_a_catalog_equal_to_another_has_its_own_index() -> None:
    """Kept by identity: a catalog is not hashable, and an equal copy is another object."""
    full = load_catalog()
    copy = full.only(full.controls)
    assert copy == full and copy is not full
    assert catalog_index.catalog_index(copy) is not catalog_index.catalog_index(full)
    assert catalog_index.catalog_index(copy).catalog is copy

"""The packaged catalog's listing index (``catalog/listing.json``, #8 item 6).

``smbsign controls`` lists the packaged catalog from the index only when the package's files
are exactly those the index was made from; otherwise it loads and validates the catalog. These
tests check that the committed index is current and equals the validated catalog's listing,
and that an edited, broken or tampered copy of the package is never listed from its index.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import smbsign.catalog
from smbsign.catalog import load_catalog
from smbsign.catalog.listing import INDEX, index_text, listing_of, packaged_listing
from smbsign.errors import CatalogError

PACKAGE = Path(smbsign.catalog.__file__).parent
CONTROL = "smb-server-signing-required"


def _copy(tmp_path: Path) -> Path:
    """A copy of the catalog package (data, code and index) in ``tmp_path``."""
    root = tmp_path / "catalog"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _index_of(root: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((root / INDEX).read_text(encoding="utf-8"))
    return doc


def test_committed_index_is_current() -> None:
    """After a change in smbsign/catalog/, rewrite it: python -m smbsign.catalog.listing."""
    assert (PACKAGE / INDEX).read_text(encoding="utf-8") == index_text(), (
        "catalog/listing.json is stale: run python -m smbsign.catalog.listing"
    )


def test_index_listing_is_the_validated_catalogs() -> None:
    assert packaged_listing() == listing_of(load_catalog())


def test_a_copy_of_the_package_is_listed_from_its_index(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    doc = _index_of(root)
    rows = doc["controls"]
    assert isinstance(rows, list)
    for row in rows:
        if row["id"] == CONTROL:
            row["title"] = "from the index"  # a marker only the index carries; digest unchanged
    (root / INDEX).write_text(json.dumps(doc), encoding="utf-8")
    assert packaged_listing(root).rows[CONTROL]["title"] == "from the index"


def test_an_edited_control_is_listed_from_the_yaml_not_the_stale_index(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "controls" / f"{CONTROL}.yaml"
    text = path.read_text(encoding="utf-8")
    weight = load_catalog().controls[CONTROL].weight
    assert f"\nweight: {weight}\n" in text, "the control's weight moved"
    other = weight - 1
    path.write_text(text.replace(f"\nweight: {weight}\n", f"\nweight: {other}\n"), "utf-8")
    assert packaged_listing(root).rows[CONTROL]["weight"] == other
    assert packaged_listing().rows[CONTROL]["weight"] == weight


def test_a_broken_control_is_an_error_not_a_listing(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "controls" / f"{CONTROL}.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "bogus_key: 1\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=f"controls/{CONTROL}.yaml"):
        packaged_listing(root)


def test_an_added_file_makes_the_index_stale(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "controls" / "stray.yml").write_text("title: x\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"stray\.yml: use the \.yaml extension"):
        packaged_listing(root)


@pytest.mark.parametrize(
    "index",
    ["", "{", "[]", '{"format": 1}', '{"format": 2, "digest": "x"}', None],
    ids=["empty", "not-json", "list", "no-digest", "other-format", "missing"],
)
def test_an_unusable_index_means_loading_the_catalog(tmp_path: Path, index: str | None) -> None:
    root = _copy(tmp_path)
    if index is None:
        (root / INDEX).unlink()
    else:
        (root / INDEX).write_text(index, encoding="utf-8")
    assert packaged_listing(root) == listing_of(load_catalog(root))


def test_an_index_with_the_right_digest_but_broken_rows_means_loading(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    doc = _index_of(root)
    doc["controls"] = [{"no": "id"}]
    (root / INDEX).write_text(json.dumps(doc), encoding="utf-8")
    assert packaged_listing(root) == listing_of(load_catalog(root))

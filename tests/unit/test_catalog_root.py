"""A catalog loaded from another root is judged with its own defaults (issue #8 item 1).

The engine takes the defaults table from the ``Catalog`` it is given; nothing falls back to
the packaged ``defaults.yaml`` behind the caller's back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import smbsign.catalog
from smbsign.catalog import load_catalog
from smbsign.engine.evaluate import evaluate
from smbsign.model import HostFacts, OsFamily, Role, Status

CATALOG_DIR = Path(smbsign.catalog.__file__).parent
CONTROL = "smb-client-plaintext-password-disabled"
ENTRY = "'windows:lanmanworkstation:enableplaintextpassword':"
HOST = HostFacts("h1", os_family=OsFamily.WINDOWS, build=26100, role=Role.WORKSTATION)


def _other_root(tmp_path: Path) -> Path:
    """A copy of the packaged catalog whose default for EnablePlainTextPassword is 1."""
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR / "controls", root / "controls")
    shutil.copytree(CATALOG_DIR / "frameworks", root / "frameworks")
    text = (CATALOG_DIR / "defaults.yaml").read_text(encoding="utf-8")
    head, entry, rest = text.partition(ENTRY)
    assert entry, "the defaults entry moved"
    old = "value: 0\n        label: 'default({build}/{edition}/{role})'"
    assert old in rest.split("\n\n", 1)[0]
    rest = rest.replace(old, old.replace("value: 0", "value: 1"), 1)
    (root / "defaults.yaml").write_text(head + entry + rest, encoding="utf-8")
    return root


def _verdict(catalog: smbsign.catalog.Catalog) -> tuple[Status, str]:
    (found,) = [f for f in evaluate([], [], HOST, catalog) if f.control == CONTROL]
    assert found.source is not None and found.source.kind == "default"
    return found.status, found.reason


def test_packaged_default_passes() -> None:
    status, reason = _verdict(load_catalog())
    assert status is Status.PASS and "is 0:" in reason


def test_catalog_from_another_root_is_judged_with_its_own_defaults(tmp_path: Path) -> None:
    other = load_catalog(_other_root(tmp_path))
    assert other.defaults.resolve(other.controls[CONTROL].default_key or "", HOST).value == 1
    status, reason = _verdict(other)
    assert status is Status.FAIL and "is 1:" in reason
    assert _verdict(load_catalog())[0] is Status.PASS  # the packaged catalog is untouched

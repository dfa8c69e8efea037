"""Golden files for every renderer, from the shipped catalog (tests/golden/fix/<format>/<case>/).

Every enforcing control appears in at least one case of every format that serves its
platform. When a template or the catalog changes on purpose, regenerate and review the diff:

    SMBSIGN_UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/unit/test_render_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from smbsign.catalog import load_catalog
from smbsign.cli.fix_cmd import _context
from smbsign.remediate.plan import Plan, Stage, TargetKind, build_plan
from smbsign.remediate.render import FORMATS

GOLDEN = Path(__file__).parents[1] / "golden" / "fix"
UPDATE = os.environ.get("SMBSIGN_UPDATE_GOLDENS") == "1"


def _catalog_ids(windows: bool) -> list[str]:
    family = "windows" if windows else "samba"
    return [c.id for c in load_catalog().controls.values() if family in c.applies_to.os_families]


CASES: dict[str, tuple[TargetKind, Stage | None, list[str] | None]] = {
    "windows-server-enforce": (TargetKind.WINDOWS_SERVER, Stage.ENFORCE, None),
    "windows-client-audit": (TargetKind.WINDOWS_CLIENT, Stage.AUDIT, None),
    "domain-controller-all": (TargetKind.DOMAIN_CONTROLLER, None, _catalog_ids(True)),
    "windows-server-all": (TargetKind.WINDOWS_SERVER, None, _catalog_ids(True)),
    "samba-enforce": (TargetKind.SAMBA, None, None),
    "samba-all": (TargetKind.SAMBA, None, _catalog_ids(False)),
}


def _plan(case: str) -> Plan:
    target, stage, ids = CASES[case]
    return build_plan(list(load_catalog().controls.values()), target, stage=stage, control_ids=ids)


def _params() -> list[tuple[str, str]]:
    return [
        (fmt, case)
        for case, (target, _, _) in CASES.items()
        for fmt, spec in FORMATS.items()
        if spec.windows is target.is_windows
    ]


@pytest.mark.parametrize(("fmt", "case"), _params())
def test_renderer_matches_golden_files(fmt: str, case: str) -> None:
    rendered = FORMATS[fmt].render(_plan(case), _context(load_catalog(), ""))
    root = GOLDEN / fmt / case
    if UPDATE:
        shutil.rmtree(root, ignore_errors=True)
        for rel, data in rendered.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk == set(rendered), f"file list differs under {root}"
    for rel, data in rendered.items():
        assert (root / rel).read_bytes() == data, f"{root / rel} differs (see module docstring)"


def test_every_enforcing_control_is_in_every_format_of_its_platform() -> None:
    catalog = load_catalog()
    enforcing = [c for c in catalog.controls.values() if c.enforces_signing]
    assert enforcing
    for control in enforcing:
        for family in control.applies_to.os_families:
            windows = family == "windows"
            cases = [c for c, (t, _, _) in CASES.items() if t.is_windows is windows]
            covered = [c for c in cases if control.id in {ch.id for ch in _plan(c).changes}]
            assert covered, f"{control.id} is in no {family} golden case"
            for fmt, spec in FORMATS.items():
                if spec.windows is not windows:
                    continue
                text = b"".join(
                    (GOLDEN / fmt / covered[0] / rel).read_bytes()
                    for rel in spec.render(_plan(covered[0]), _context(catalog, ""))
                )
                needle = _needle(control, fmt)
                assert needle in text, f"{control.id} missing from {fmt}/{covered[0]}"


def _needle(control, fmt: str) -> bytes:
    """Bytes that prove a control's desired state is in a format's output."""
    if fmt == "smbconf":
        s = control.desired.samba[0]
        return f"{s.parameter} = {s.value}".encode()
    reg = control.desired.registry[0]
    if fmt in ("reg", "gpo"):
        return reg.value.encode("utf-16-le")  # .reg and GptTmpl.inf / Registry.pol are UTF-16LE
    if fmt == "intune" and control.desired.intune is not None:
        return control.desired.intune.oma_uri.encode()
    if fmt == "dsc" and control.desired.security_option is not None:
        return control.desired.security_option.dsc_name.encode()
    if fmt == "ansible":
        return control.id.replace("-", "_").encode()
    return reg.value.encode()

"""The wheel carries everything ``smbsign demo`` needs (#8 item 8, docs/architecture.md).

``smbsign.lab`` ships in the package because ``smbsign demo`` builds its lab from it; the lab
has no data files (each host's smb.conf is generated from ``lab/hosts.py``), but the demo
judges with the packaged catalog and renders through the packaged templates. The test builds
the wheel as a user's ``pip install`` would and checks that every file git tracks under
``src/smbsign`` is inside it, then imports the demo's code path from the wheel alone and loads
the catalog from it (running the demo needs root and namespaces: docs/lab.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("smbsign-*.whl")
    return built


def _tracked() -> set[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know which files are the package's")
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "src/smbsign"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {name.removeprefix("src/") for name in out if (ROOT / name).is_file()}


def test_every_package_file_is_in_the_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = _tracked()
    assert {n for n in tracked if n.startswith("smbsign/lab/")} <= names
    assert "smbsign/cli/demo_cmd.py" in names
    assert any(n.startswith("smbsign/catalog/controls/") and n.endswith(".yaml") for n in names)
    assert sorted(tracked - names) == []


def test_the_demo_code_path_imports_from_the_wheel_alone(wheel: Path) -> None:
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(wheel)!r})\n"
        "import smbsign, smbsign.cli.demo_cmd, smbsign.lab.lab, smbsign.lab.hosts\n"
        "from smbsign.catalog import load_catalog\n"
        f"assert smbsign.__file__.startswith({str(wheel)!r}), smbsign.__file__\n"
        "print(len(smbsign.lab.hosts.CATALOG), len(load_catalog().controls))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    hosts, controls = map(int, out.stdout.split())
    assert hosts > 0
    assert controls > 0

"""No module of the package is over 400 lines (issue #8: small modules, one job each).

`remediate/plan.py` had grown to 411 lines unnoticed; this keeps the rule true.
"""

from __future__ import annotations

from pathlib import Path

import smbsign

MAX_LINES = 400
PACKAGE = Path(smbsign.__file__).resolve().parent


def test_no_module_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    assert len(sizes) > 100  # the package, not an empty directory
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}

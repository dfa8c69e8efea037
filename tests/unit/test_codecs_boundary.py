"""The codecs stand alone and the engine needs no collector (#8 item 3): importing them loads
neither ``smbsign.collect`` nor ``smbsign.remediate`` (nor, for the codecs, the engine)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("modules", "forbidden"),
    [
        (
            "smbsign.codecs.text, smbsign.codecs.regdata, smbsign.codecs.reg, "
            "smbsign.codecs.registrypol, smbsign.codecs.gpttmpl, smbsign.codecs.smbconf",
            ("smbsign.collect", "smbsign.remediate", "smbsign.engine", "smbsign.catalog"),
        ),
        ("smbsign.engine", ("smbsign.collect", "smbsign.remediate", "smbsign.cli")),
    ],
)
def test_imports_stay_inside_their_layer(modules: str, forbidden: tuple[str, ...]) -> None:
    code = (
        f"import sys, {modules};"
        f"bad = sorted(m for m in sys.modules if m.startswith({forbidden!r}));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr

"""Helpers shared by the lab tests and fixtures (imported as ``lab_helpers``)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from smbsign.lab.lab import Lab, lab_unavailable_reason

RAWPROBE = Path(__file__).with_name("rawprobe.py")


def require_lab() -> None:
    """Skip (or, under SMBSIGN_REQUIRE_LAB=1, fail) when no lab can be built here."""
    _require(lab_unavailable_reason(), "lab tests")


def _require(reason: str | None, what: str) -> None:
    if reason is None:
        return
    if os.environ.get("SMBSIGN_REQUIRE_LAB") == "1":
        pytest.fail(f"{what} are required here but cannot run: {reason}")
    pytest.skip(reason)


def rawprobe(
    lab: Lab, targets: Sequence[tuple[str, int]], timeout: float = 3.0, ns: str | None = None
) -> list[dict[str, Any]]:
    """Run the independent probe in the client namespace (or ``ns``) for each (host, port)."""
    argv = [sys.executable, str(RAWPROBE), str(timeout)]
    for host, port in targets:
        argv += [host, str(port)]
    proc = lab.run_in(ns or lab.client_ns, argv, timeout=30 + 3 * timeout * len(targets))
    assert proc.returncode == 0, proc.stderr
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def require_addc() -> None:
    """Skip (or, under SMBSIGN_REQUIRE_LAB=1, fail) when no lab AD DC can run here."""
    from smbsign.lab.addc import addc_unavailable_reason

    _require(addc_unavailable_reason(), "lab AD DC tests")

"""Fixtures for the lab integration tests: one lab of real Samba servers per session.

The tests skip (with the reason) only where the lab cannot run: not root, no network
namespaces, no smbd/nft. ``.ci/run`` sets ``SMBSIGN_REQUIRE_LAB=1``, which turns that skip
into a failure, so CI cannot pass without running them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab_helpers import require_lab

from smbsign.lab.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The catalog lab (tests share it: do not change its hosts; build your own Lab)."""
    require_lab()
    with Lab() as built:
        yield built

"""Fixtures for the lab integration tests: one lab of real Samba servers per session.

The tests skip (with the reason) only where the lab cannot run: not root, no network
namespaces, no smbd/nft. ``.ci/run`` sets ``SMBSIGN_REQUIRE_LAB=1``, which turns that skip
into a failure, so CI cannot pass without running them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_helpers import require_addc, require_lab

from smbsign.lab.addc import AdLab
from smbsign.lab.addomain import BuiltDomain, DomainSpec, build_domain, user_password_file
from smbsign.lab.adstandard import AUDITOR, MEMBERS, standard_domain
from smbsign.lab.lab import Lab


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The catalog lab (tests share it: do not change its hosts; build your own Lab)."""
    require_lab()
    with Lab() as built:
        yield built


@dataclass(frozen=True)
class AdTestDomain:
    """The running lab DC with the standard test domain (``smbsign.lab.adstandard``).

    ``ad``: the :class:`AdLab` (``ad.address``, ``ad.ldap_url``, ``ad.client_ns``,
    ``ad.run_client``, ``ad.samba_tool``, ``ad.lab`` for member servers); ``built``: GUIDs by
    GPO name, container DNs, gPLink as built; ``members``: member smbd name -> address;
    ``auditor``/``auditor_password_file``: the low-privilege account for ``ad audit``.
    """

    ad: AdLab
    spec: DomainSpec
    built: BuiltDomain
    members: dict[str, str]
    auditor: str
    auditor_password_file: Path


@pytest.fixture(scope="session")
def addc() -> Iterator[AdTestDomain]:
    """A real Samba AD DC with the standard test domain, shared by the session: read only."""
    require_lab()
    require_addc()
    with AdLab() as ad:
        members = {}
        for name, conf in MEMBERS.items():
            ad.lab.start_server(name, conf)
            members[name] = ad.lab.address(name)
        spec = standard_domain(members)
        built = build_domain(ad, spec)
        pw = user_password_file(ad, AUDITOR)
        yield AdTestDomain(ad, spec, built, members, AUDITOR, pw)

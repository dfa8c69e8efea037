"""Host facts from computer objects."""

from __future__ import annotations

import pytest

from smbsign.ad.facts import (
    EXCHANGE,
    SCCM,
    build_of,
    computer_facts,
    edition_of,
    exchange_names,
    extra_roles,
    roles_of,
)
from smbsign.model import OsFamily, Role


@pytest.mark.parametrize(
    ("name", "edition"),
    [
        ("Windows Server 2022 Datacenter", "ServerDatacenter"),
        ("Windows Server 2019 Standard", "ServerStandard"),
        ("Windows 11 Enterprise", "Enterprise"),
        ("Windows 10 Enterprise LTSC", "EnterpriseS"),
        ("Windows 11 Pro", "Professional"),
        ("Windows 11 Pro for Workstations", "ProfessionalWorkstation"),
        ("Windows 11 Home", "Core"),
        ("Windows 10 Education", "Education"),
        ("Windows Server 2025 Datacenter: Azure Edition", None),
        ("Windows Server 2016 Essentials", None),
        ("Samba", None),
        (None, None),
    ],
)
def test_edition(name: str | None, edition: str | None) -> None:
    assert edition_of(name) == edition


def test_build() -> None:
    assert build_of("10.0 (20348)") == 20348
    assert build_of("6.3 (9600)") == 9600
    assert (
        build_of("4.17.12-Debian") is None and build_of(None) is None and build_of("10.0") is None
    )


def test_dc_by_uac_or_primary_group_member_server_workstation_samba() -> None:
    dc = computer_facts("dc1", "Windows Server 2022 Standard", "10.0 (20348)", 0x82000, 516)
    assert (
        dc.role is Role.DOMAIN_CONTROLLER and dc.build == 20348 and dc.os_family is OsFamily.WINDOWS
    )
    assert (
        computer_facts("x", "Windows Server 2019 Standard", None, 0x1000, 521).role
        is Role.DOMAIN_CONTROLLER
    )
    ms = computer_facts("s", "Windows Server 2019 Standard", "10.0 (17763)", 0x1000, 515)
    assert ms.role is Role.MEMBER_SERVER and ms.edition == "ServerStandard"
    ws = computer_facts("w", "Windows 11 Enterprise", "10.0 (26100)", 0x1000, 515)
    assert (ws.role, ws.build, ws.edition) == (Role.WORKSTATION, 26100, "Enterprise")
    sa = computer_facts("f", "Samba", "4.17.12-Debian", 0x1000, 515)
    assert (sa.os_family, sa.samba_version, sa.role) == (
        OsFamily.SAMBA,
        "4.17.12",
        Role.MEMBER_SERVER,
    )
    unknown = computer_facts("u", None, None, 0x1000, 515)
    assert unknown.os_family is None and unknown.role is None


def test_exchange_and_sccm_roles() -> None:
    ex = exchange_names(["ncacn_ip_tcp:EX1.corp.test", "netbios:EX1", "ncalrpc:EX1", "bad"])
    assert ex == {"ex1.corp.test"}
    f = computer_facts("ex1.corp.test", "Windows Server 2019 Standard", "10.0 (17763)", 0x1000, 515)
    extra = extra_roles("EX1.corp.test.", ex, {"sccm.corp.test"})
    assert roles_of(f, extra) == ("member_server", EXCHANGE)
    assert extra_roles("sccm.corp.test", ex, {"sccm.corp.test"}) == (SCCM,)

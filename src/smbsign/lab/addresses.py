"""The lab's addresses (docs/lab.md): every host has an IPv4 and a ULA IPv6 address and a
link-local one, derived from its octet; extra IPv4 aliases for throughput runs; the silent
range the sink namespace drops.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = [
    "CLIENT_IFNAME",
    "CLIENT_OCTET",
    "FIRST_EXTRA_OCTET",
    "HOST_NET4",
    "HOST_NET6",
    "LINK_LOCAL_BASE",
    "MAX_ALIASES",
    "SILENT_NET4",
    "SINK_OCTET",
    "HostAddresses",
    "ipv4",
    "ipv6",
    "link_local",
]

HOST_NET4 = ipaddress.IPv4Network("10.213.0.0/16")
HOST_NET6 = ipaddress.IPv6Network("fd00:5a6d:213::/64")
LINK_LOCAL_BASE = ipaddress.IPv6Address("fe80::5a6d:0")
SILENT_NET4 = ipaddress.IPv4Network("10.224.0.0/12")
CLIENT_OCTET = 2
SINK_OCTET = 254
CLIENT_IFNAME = "eth0"
FIRST_EXTRA_OCTET = 100
MAX_ALIASES = 250


def ipv4(octet: int, alias: int = 0) -> str:
    """``10.213.<alias>.<octet>``: alias 0 is a host's main address."""
    return str(HOST_NET4.network_address + alias * 256 + octet)


def ipv6(octet: int) -> str:
    return str(HOST_NET6.network_address + octet)


def link_local(octet: int) -> str:
    return str(LINK_LOCAL_BASE + octet)


@dataclass(frozen=True, slots=True)
class HostAddresses:
    ipv4: str
    ipv6: str
    link_local: str  # without scope; from the client it is ``<link_local>%eth0``
    aliases: tuple[str, ...] = ()

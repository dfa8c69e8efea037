"""Relay lists: the hosts (or ntlmrelayx target URLs) where a relay path is open.

What makes a host relayable and how that is worded is :mod:`smbsign.verdict`; this module
only writes the lists (``scan --relay-list``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["RELAY_FORMATS", "SCHEMES", "relay_list_bytes", "relay_urls_bytes"]

RELAY_FORMATS = ("plain", "ntlmrelayx")
SCHEMES = ("smb", "ldap", "ldaps")


def relay_urls_bytes(targets: Iterable[tuple[str, str]]) -> bytes:
    """One ntlmrelayx target URL a line, ``smb://10.0.0.5``, ``ldap://[fd00::5]``, in the
    order given, each once.

    ntlmrelayx ``-tf`` reads a line with ``://`` as a URL (``urlparse``) and uses its scheme to
    pick the relay client and ``.hostname`` to connect (impacket
    ``examples/ntlmrelayx/utils/targetsutils.py`` ``processTarget``): IPv6 goes in brackets
    (RFC 3986 3.2.2). Used when LDAP was probed; the SMB-only list keeps
    :func:`relay_list_bytes`.
    """
    lines: dict[str, None] = {}
    for scheme, address in targets:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown relay scheme {scheme!r}")
        host = f"[{address}]" if ":" in address else address
        lines[f"{scheme}://{host}\n"] = None
    return "".join(lines).encode("ascii")


def relay_list_bytes(addresses: Iterable[str], *, fmt: str = "plain") -> bytes:
    """One address a line; ``plain``: IPv6 without brackets (docs/reference.md §7; nmap ``-iL``,
    NetExec target files), ``ntlmrelayx``: IPv6 in brackets, ``[fe80::1%eth0]``.

    ntlmrelayx ``-tf`` turns each line into ``urlparse("smb://" + line)`` and connects to its
    ``.hostname`` and ``.port`` (impacket ``examples/ntlmrelayx/utils/targetsutils.py``
    ``processTarget``, ``clients/__init__.py`` ``ProtocolClient``): an unbracketed IPv6
    address parses as host ``fe80`` with an invalid port, so that relay fails. IPv4 lines
    are the same in both formats.
    """
    if fmt not in RELAY_FORMATS:
        raise ValueError(f"unknown relay list format {fmt!r}")
    wrap = fmt == "ntlmrelayx"
    return "".join(f"[{a}]\n" if wrap and ":" in a else f"{a}\n" for a in addresses).encode("ascii")

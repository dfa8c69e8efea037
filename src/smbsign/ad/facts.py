"""Host facts from a computer object (pure): OS family, build, edition, role, extra roles.

- Build: ``operatingSystemVersion`` is ``<major>.<minor> (<build>)`` on Windows, e.g.
  ``10.0 (20348)`` (Microsoft Learn, "Operating-System-Version attribute"); Samba writes its
  own version (``4.17.12-Debian``).
- Edition: from ``operatingSystem`` ("Windows Server 2022 Datacenter", "Windows 11
  Enterprise"), mapped to the ``EditionID`` the defaults table uses through the same word
  table as ``--edition`` (:data:`smbsign.engine.facts.EDITION_ALIASES`); a name not in the
  table leaves the edition unknown (its defaults then say so), never a guess.
- Role: a domain controller has ``ADS_UF_SERVER_TRUST_ACCOUNT`` (0x2000) in
  ``userAccountControl`` ([MS-ADTS] 2.2.16 userAccountControl Bits) or the primary group
  Domain Controllers (RID 516) / Read-only Domain Controllers (RID 521) ([MS-DTYP] 2.4.2.4);
  otherwise "Server" in the OS name makes a member server, any other Windows a workstation.
- Extra roles: Exchange servers are the ``msExchExchangeServer`` objects under
  ``CN=Microsoft Exchange,CN=Services,<configuration NC>`` (their ``networkAddress`` holds
  ``ncacn_ip_tcp:<DNS name>``); SCCM site systems are the management points published under
  ``CN=System Management,CN=System,<domain NC>`` (``mSSMSManagementPoint``, attributes
  ``mSSMSMPName`` / ``dNSHostName``), as Misconfiguration Manager's recon describes
  (PREVENT-12 targets them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set

from smbsign.engine.facts import EDITION_ALIASES
from smbsign.model import HostFacts, OsFamily, Role

SERVER_TRUST_ACCOUNT = 0x2000
ACCOUNTDISABLE = 0x2
DC_PRIMARY_GROUPS = frozenset({516, 521})
EXCHANGE = "exchange_server"
SCCM = "sccm_site_system"
SOURCE = "directory (operatingSystem, operatingSystemVersion, userAccountControl)"

_BUILD = re.compile(r"^\s*\d+\.\d+\s*\((\d{3,6})\)\s*$")
_SAMBA_VERSION = re.compile(r"^\s*(\d+\.\d+(?:\.\d+)?)")

#: Server editions by the word in ``operatingSystem`` (Windows ``EditionID`` values).
_SERVER_EDITIONS: tuple[tuple[str, str], ...] = (
    ("datacenter", "ServerDatacenter"),
    ("standard", "ServerStandard"),
)
#: Client editions, most specific first; words not in the ``--edition`` table are spelled out.
_CLIENT_EDITIONS: tuple[tuple[str, str], ...] = (
    ("enterprise ltsc", "EnterpriseS"),
    ("enterprise ltsb", "EnterpriseS"),
    ("enterprise n", "EnterpriseN"),
    ("pro for workstations", "ProfessionalWorkstation"),
    ("pro education", "ProfessionalEducation"),
    ("pro n", "ProfessionalN"),
    ("education n", "EducationN"),
    ("enterprise", EDITION_ALIASES["enterprise"]),
    ("education", EDITION_ALIASES["education"]),
    ("professional", EDITION_ALIASES["professional"]),
    ("pro", EDITION_ALIASES["pro"]),
    ("home", EDITION_ALIASES["home"]),
)


def build_of(version: str | None) -> int | None:
    """``10.0 (20348)`` -> 20348; None for anything else."""
    m = _BUILD.match(version or "")
    return int(m.group(1)) if m else None


def edition_of(os_name: str | None) -> str | None:
    """The ``EditionID`` an ``operatingSystem`` value names, or None when not known."""
    low = " ".join((os_name or "").lower().split())
    if not low.startswith("windows"):
        return None
    table = _SERVER_EDITIONS if "server" in low else _CLIENT_EDITIONS
    words = f" {low} "
    for word, edition in table:
        if f" {word} " in words:
            return edition
    return None


def role_of(os_name: str | None, uac: int | None, primary_group: int | None) -> Role | None:
    if (uac or 0) & SERVER_TRUST_ACCOUNT or primary_group in DC_PRIMARY_GROUPS:
        return Role.DOMAIN_CONTROLLER
    low = (os_name or "").lower()
    if low.startswith("windows"):
        return Role.MEMBER_SERVER if "server" in low else Role.WORKSTATION
    if "samba" in low:
        return Role.MEMBER_SERVER
    return None


def computer_facts(
    host: str,
    os_name: str | None,
    os_version: str | None,
    uac: int | None,
    primary_group: int | None,
) -> HostFacts:
    """Facts of one computer object; unknown facts stay None."""
    low = (os_name or "").lower()
    family: OsFamily | None = None
    build = edition = samba_version = None
    if low.startswith("windows"):
        family, build, edition = OsFamily.WINDOWS, build_of(os_version), edition_of(os_name)
    elif "samba" in low:
        family = OsFamily.SAMBA
        m = _SAMBA_VERSION.match(os_version or "")
        samba_version = m.group(1) if m else None
    return HostFacts(
        host=host,
        os_family=family,
        build=build,
        edition=edition,
        role=role_of(os_name, uac, primary_group),
        product_name=os_name or None,
        samba_version=samba_version,
        sources=(SOURCE,),
    )


def exchange_names(network_addresses: Iterable[str]) -> set[str]:
    """Lower-case DNS names from ``networkAddress`` values (``ncacn_ip_tcp:ex1.corp.test``)."""
    names: set[str] = set()
    for addr in network_addresses:
        proto, sep, name = addr.partition(":")
        if sep and proto.strip().lower() == "ncacn_ip_tcp" and name.strip():
            names.add(name.strip().lower().rstrip("."))
    return names


def extra_roles(dns_name: str, exchange: Set[str], sccm: Set[str]) -> tuple[str, ...]:
    name = dns_name.lower().rstrip(".")
    return tuple(r for r, names in ((EXCHANGE, exchange), (SCCM, sccm)) if name in names)


def roles_of(facts: HostFacts, extra: tuple[str, ...]) -> tuple[str, ...]:
    """``roles`` of a finding: the base role (when known), then Exchange / SCCM."""
    base = (facts.role.value,) if facts.role is not None else ()
    return (*base, *extra)

"""What the domain view reads from the directory, over any :class:`~smbsign.ad.ldap.Searcher`.

- the rootDSE (``defaultNamingContext``, ``configurationNamingContext``) and the domain
  object (``objectSid``, ``gPLink``, ``gPOptions``);
- the scopes of management: OUs (``gPLink``, ``gPOptions``, [MS-GPOL] 2.2.2) and sites
  (``CN=Sites,<configuration NC>``, [MS-GPOL] 2.2.3);
- the GPO objects under ``CN=Policies,CN=System`` with the attributes of [MS-GPOL] 2.2.4
  (``displayName``, ``flags``, ``versionNumber``, ``gPCFileSysPath``,
  ``gPCMachineExtensionNames``, ``gPCFunctionalityVersion``, ``gPCWQLFilter``,
  ``nTSecurityDescriptor``);
- the groups (``objectSid``, ``memberOf``), to expand a computer's nested membership for
  security filtering;
- the enabled computer accounts, streamed (``userAccountControl`` bit 0x2 clear, [MS-ADTS]
  2.2.16);
- Exchange servers and SCCM management points (:mod:`smbsign.ad.facts`).

A value that does not parse becomes an error string naming the object; nothing raises but
:class:`~smbsign.ad.ldap.DirectoryError` from the transport.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from smbsign.ad.facts import exchange_names
from smbsign.ad.gplink import parse_gplink, parse_gpoptions
from smbsign.ad.ldap import BASE, ONELEVEL, SUBTREE, DirectoryError, Entry, Searcher
from smbsign.ad.resolve import Som, SomKind
from smbsign.errors import ParseError

#: Client-side extension GUIDs ([MS-GPREG] 1.9 Registry, [MS-GPSB] 1.9 Security).
REGISTRY_CSE = "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}"
SECURITY_CSE = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"

COMPUTER_ATTRS = (
    "dNSHostName",
    "name",
    "operatingSystem",
    "operatingSystemVersion",
    "userAccountControl",
    "primaryGroupID",
    "objectSid",
    "memberOf",
)
GPO_ATTRS = (
    "cn",
    "displayName",
    "flags",
    "versionNumber",
    "gPCFileSysPath",
    "gPCMachineExtensionNames",
    "gPCFunctionalityVersion",
    "gPCWQLFilter",
    "nTSecurityDescriptor",
)


def sid_text(raw: bytes | None) -> str:
    """A binary SID ([MS-DTYP] 2.4.2.2) as ``S-1-5-21-...``; "" when malformed."""
    if not raw or len(raw) < 8 or raw[0] != 1 or len(raw) != 8 + 4 * raw[1]:
        return ""
    auth = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{raw[1]}I", raw[8:])
    return "-".join(["S", "1", str(auth), *(str(s) for s in subs)])


@dataclass(frozen=True, slots=True)
class Domain:
    dn: str
    config_nc: str
    dns_name: str
    sid: str
    som: Som


@dataclass(frozen=True, slots=True)
class GpoObject:
    """A groupPolicyContainer ([MS-GPOL] 2.2.4)."""

    guid: str  # upper case, no braces
    dn: str
    name: str
    flags: int | None
    version: int | None
    path: str  # gPCFileSysPath
    machine_extensions: str
    functionality_version: int | None
    wql_filter: str
    security_descriptor: bytes | None

    @property
    def machine_version(self) -> int | None:
        """The machine half of ``versionNumber`` (low 16 bits, [MS-GPOL] 2.2.4)."""
        return None if self.version is None else self.version & 0xFFFF

    def has_extension(self, cse: str) -> bool:
        return cse.upper() in self.machine_extensions.upper()


@dataclass(frozen=True, slots=True)
class Computer:
    dn: str
    dns_name: str  # dNSHostName, else name
    os_name: str | None
    os_version: str | None
    uac: int | None
    primary_group: int | None
    sid: str
    member_of: tuple[str, ...]  # lower-case DNs


def dns_of(dn: str) -> str:
    """``DC=lab,DC=test`` -> ``lab.test``."""
    parts = [p.strip() for p in dn.split(",")]
    return ".".join(p[3:] for p in parts if p[:3].lower() == "dc=")


def read_domain(s: Searcher) -> Domain:
    roots = list(
        s.search(
            "", BASE, "(objectClass=*)", ["defaultNamingContext", "configurationNamingContext"]
        )
    )
    root = roots[0] if roots else None
    if root is None or not root.text("defaultNamingContext"):
        raise DirectoryError("the rootDSE did not name a defaultNamingContext")
    dn = str(root.text("defaultNamingContext"))
    config = root.text("configurationNamingContext") or f"CN=Configuration,{dn}"
    doms = list(s.search(dn, BASE, "(objectClass=*)", ["objectSid", "gPLink", "gPOptions"]))
    dom = doms[0] if doms else None
    if dom is None:
        raise DirectoryError(f"the domain object {dn} could not be read")
    som, _ = _som(dom, SomKind.DOMAIN)
    return Domain(dn, config, dns_of(dn), sid_text(dom.raw("objectSid")), som)


def _som(entry: Entry, kind: SomKind) -> tuple[Som, str]:
    try:
        links = parse_gplink(entry.raw("gPLink"), where=f"{entry.dn}: gPLink")
        options = parse_gpoptions(entry.raw("gPOptions"), where=f"{entry.dn}: gPOptions")
    except ParseError as exc:
        return Som(entry.dn, kind), str(exc)
    return Som(entry.dn, kind, links, options), ""


@dataclass(frozen=True, slots=True)
class Soms:
    """Every SOM by lower-case DN, and the ones whose link attributes did not parse."""

    by_dn: Mapping[str, Som]
    errors: Mapping[str, str]
    sites: tuple[Som, ...]


def read_soms(s: Searcher, domain: Domain) -> Soms:
    by_dn: dict[str, Som] = {domain.dn.lower(): domain.som}
    errors: dict[str, str] = {}
    for entry in s.search(
        domain.dn, SUBTREE, "(objectClass=organizationalUnit)", ["gPLink", "gPOptions"]
    ):
        som, err = _som(entry, SomKind.OU)
        by_dn[entry.dn.lower()] = som
        if err:
            errors[entry.dn.lower()] = err
    sites: list[Som] = []
    for entry in s.search(
        f"CN=Sites,{domain.config_nc}", ONELEVEL, "(objectClass=site)", ["gPLink", "gPOptions"]
    ):
        som, err = _som(entry, SomKind.SITE)
        sites.append(som)
        if err:
            errors[entry.dn.lower()] = err
    return Soms(by_dn, errors, tuple(sites))


def read_gpos(s: Searcher, domain: Domain) -> dict[str, GpoObject]:
    base = f"CN=Policies,CN=System,{domain.dn}"
    out: dict[str, GpoObject] = {}
    for e in s.search(
        base, ONELEVEL, "(objectClass=groupPolicyContainer)", GPO_ATTRS, security_descriptor=True
    ):
        guid = (e.text("cn") or "").strip().strip("{}").upper()
        if not guid:
            continue
        out[guid] = GpoObject(
            guid=guid,
            dn=e.dn,
            name=e.text("displayName") or guid,
            flags=e.integer("flags"),
            version=e.integer("versionNumber"),
            path=e.text("gPCFileSysPath") or "",
            machine_extensions=e.text("gPCMachineExtensionNames") or "",
            functionality_version=e.integer("gPCFunctionalityVersion"),
            wql_filter=(e.text("gPCWQLFilter") or "").strip(),
            security_descriptor=e.raw("nTSecurityDescriptor"),
        )
    return out


@dataclass(frozen=True, slots=True)
class Groups:
    """Group SIDs and parent groups by lower-case DN."""

    sid: Mapping[str, str]
    parents: Mapping[str, tuple[str, ...]]
    by_sid: Mapping[str, str]

    def dn_of(self, sid: str) -> tuple[str, ...]:
        dn = self.by_sid.get(sid)
        return (dn,) if dn else ()

    def closure(self, member_of: tuple[str, ...]) -> frozenset[str]:
        """SIDs of the groups in ``member_of`` and of every group they are nested in."""
        seen: set[str] = set()
        todo = list(member_of)
        while todo:
            dn = todo.pop()
            if dn in seen:
                continue
            seen.add(dn)
            todo.extend(self.parents.get(dn, ()))
        return frozenset(self.sid[d] for d in seen if d in self.sid)


def read_groups(s: Searcher, domain: Domain) -> Groups:
    sids: dict[str, str] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for e in s.search(domain.dn, SUBTREE, "(objectClass=group)", ["objectSid", "memberOf"]):
        dn = e.dn.lower()
        sid = sid_text(e.raw("objectSid"))
        if sid:
            sids[dn] = sid
        up = tuple(m.lower() for m in e.texts("memberOf"))
        if up:
            parents[dn] = up
    return Groups(sids, parents, {v: k for k, v in sids.items()})


ENABLED_COMPUTERS = "(&(objectCategory=computer)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"


def iter_computers(s: Searcher, domain: Domain) -> Iterator[Computer]:
    """Enabled computer accounts, one page at a time."""
    for e in s.search(domain.dn, SUBTREE, ENABLED_COMPUTERS, COMPUTER_ATTRS):
        name = (e.text("dNSHostName") or e.text("name") or e.dn).strip()
        yield Computer(
            dn=e.dn,
            dns_name=name,
            os_name=e.text("operatingSystem"),
            os_version=e.text("operatingSystemVersion"),
            uac=e.integer("userAccountControl"),
            primary_group=e.integer("primaryGroupID"),
            sid=sid_text(e.raw("objectSid")),
            member_of=tuple(m.lower() for m in e.texts("memberOf")),
        )


def read_role_hosts(s: Searcher, domain: Domain) -> tuple[set[str], set[str], list[str]]:
    """(Exchange server names, SCCM management point names, notes)."""
    notes: list[str] = []
    exchange: set[str] = set()
    sccm: set[str] = set()
    try:
        base = f"CN=Microsoft Exchange,CN=Services,{domain.config_nc}"
        for e in s.search(base, SUBTREE, "(objectClass=msExchExchangeServer)", ["networkAddress"]):
            exchange |= exchange_names(e.texts("networkAddress"))
    except DirectoryError as exc:
        notes.append(f"Exchange servers not read: {exc}")
    try:
        base = f"CN=System Management,CN=System,{domain.dn}"
        for e in s.search(
            base, SUBTREE, "(objectClass=mSSMSManagementPoint)", ["mSSMSMPName", "dNSHostName"]
        ):
            sccm |= {
                n.strip().lower().rstrip(".")
                for n in (*e.texts("mSSMSMPName"), *e.texts("dNSHostName"))
                if n.strip()
            }
    except DirectoryError as exc:
        notes.append(f"SCCM site systems not read: {exc}")
    return exchange, sccm, notes


def parent_dn(dn: str) -> str:
    """The parent of ``dn`` (escaped commas kept), "" at the top."""
    i = 0
    while True:
        j = dn.find(",", i)
        if j < 0:
            return ""
        if j > 0 and dn[j - 1] == "\\":
            i = j + 1
            continue
        return dn[j + 1 :].strip()


def som_chain(computer_dn: str, soms: Soms) -> tuple[list[Som], list[str]]:
    """SOMs of a computer: its OUs (closest first) then the domain ([MS-GPOL] 3.2.5.1.3),
    and errors of SOMs whose link attributes did not parse."""
    chain: list[Som] = []
    errors: list[str] = []
    dn = parent_dn(computer_dn)
    while dn:
        low = dn.lower()
        head = low[:3]
        if head in ("ou=", "dc=") and low in soms.by_dn:
            chain.append(soms.by_dn[low])
            if low in soms.errors:
                errors.append(soms.errors[low])
        if head == "dc=":
            break
        dn = parent_dn(dn)
    return chain, errors

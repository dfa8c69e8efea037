"""A fake directory and SYSVOL for the domain-view unit tests (no sockets)."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from smbsign.ad.ldap import BASE, Entry
from smbsign.ad.security import APPLY_GROUP_POLICY
from smbsign.ad.sysvol import SysvolError

DOMAIN = "DC=lab,DC=test"
CONFIG = f"CN=Configuration,{DOMAIN}"
DOM_SID = "S-1-5-21-100-200-300"
AU = "S-1-5-11"
SERVER_KEY = (
    "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters"
    "\\RequireSecuritySignature"
)
SEC_EXT = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"


def sid_bytes(sid: str) -> bytes:
    parts = sid.split("-")
    auth, subs = int(parts[2]), [int(x) for x in parts[3:]]
    return (
        bytes([1, len(subs)])
        + auth.to_bytes(6, "big")
        + b"".join(struct.pack("<I", s) for s in subs)
    )


def ace(kind: int, mask: int, sid: str, obj: str | None = None) -> bytes:
    body = struct.pack("<I", mask)
    if kind in (5, 6):
        body += struct.pack("<I", 1 if obj else 0) + (uuid.UUID(obj).bytes_le if obj else b"")
    body += sid_bytes(sid)
    return struct.pack("<BBH", kind, 2, 4 + len(body)) + body


def sd(*aces: bytes) -> bytes:
    data = b"".join(aces)
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(data), len(aces), 0) + data
    return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl


DEFAULT_SD = sd(ace(5, 0x100, AU, APPLY_GROUP_POLICY), ace(0, 0x20094, AU))


def template(value: int) -> bytes:
    text = (
        '[Unicode]\r\nUnicode=yes\r\n[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n'
        f"[Registry Values]\r\n{SERVER_KEY}=4,{value}\r\n"
    )
    return b"\xff\xfe" + text.encode("utf-16-le")


def gpo_dn(guid: str) -> str:
    return f"CN={{{guid}}},CN=Policies,CN=System,{DOMAIN}"


def link(guid: str, opts: int = 0) -> str:
    return f"[LDAP://{gpo_dn(guid)};{opts}]"


@dataclass
class FakeDirectory:
    """Entries by DN; searches filter by objectClass words in the filter text."""

    entries: dict[str, tuple[str, dict[str, tuple[bytes, ...]]]] = field(default_factory=dict)
    referrals: list[str] = field(default_factory=list)

    def add(self, dn: str, cls: str, **attrs: str | bytes | Sequence[str | bytes]) -> None:
        out: dict[str, tuple[bytes, ...]] = {}
        for k, v in attrs.items():
            vals = v if isinstance(v, (list, tuple)) else [v]
            out[k.lower()] = tuple(x if isinstance(x, bytes) else str(x).encode() for x in vals)
        self.entries[dn] = (cls, out)

    def search(
        self,
        base: str,
        scope: int,
        search_filter: str,
        attributes: Sequence[str],
        *,
        security_descriptor: bool = False,
    ) -> Iterator[Entry]:
        if base == "" and scope == BASE:
            yield Entry(
                "",
                {
                    "defaultnamingcontext": (DOMAIN.encode(),),
                    "configurationnamingcontext": (CONFIG.encode(),),
                },
            )
            return
        for dn, (cls, attrs) in self.entries.items():
            if scope == BASE:
                if dn.lower() == base.lower():
                    yield Entry(dn, attrs)
                continue
            if not dn.lower().endswith(base.lower()) or dn.lower() == base.lower():
                continue
            if cls.lower() in search_filter.lower():
                yield Entry(dn, attrs)


@dataclass
class FakeSysvol:
    files: dict[str, bytes] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)

    def read(self, unc: str, limit: int) -> bytes:
        key = unc.lower()
        if key in self.denied:
            raise SysvolError("access denied")
        if key not in self.files:
            raise SysvolError("not found", missing=True)
        return self.files[key]


class Lab:
    """A small domain: OUs, GPOs with a server-signing value each, computers."""

    def __init__(self) -> None:
        self.d = FakeDirectory()
        self.fs = FakeSysvol()
        self.d.add(DOMAIN, "domain", objectSid=sid_bytes(DOM_SID))
        self.d.add(f"CN=Default-First-Site-Name,CN=Sites,{CONFIG}", "site")
        self.rid = 1100

    def ou(self, dn: str, *links: str, block: bool = False) -> None:
        attrs: dict[str, str] = {}
        if links:
            attrs["gPLink"] = "".join(links)
        if block:
            attrs["gPOptions"] = "1"
        if dn == DOMAIN:
            _cls, old = self.d.entries[dn]
            old.update({k.lower(): (v.encode(),) for k, v in attrs.items()})
            return
        self.d.add(dn, "organizationalUnit", **attrs)

    def gpo(
        self,
        guid: str,
        name: str,
        value: int | None,
        *,
        flags: int = 0,
        sd_: bytes = DEFAULT_SD,
        wmi: str = "",
        ext: str = SEC_EXT,
        version: int = 1,
    ) -> None:
        path = f"\\\\lab.test\\SysVol\\lab.test\\Policies\\{{{guid}}}"
        attrs: dict[str, str | bytes] = {
            "cn": f"{{{guid}}}",
            "displayName": name,
            "flags": str(flags),
            "versionNumber": str(version),
            "gPCFileSysPath": path,
            "gPCMachineExtensionNames": ext,
            "gPCFunctionalityVersion": "2",
            "nTSecurityDescriptor": sd_,
        }
        if wmi:
            attrs["gPCWQLFilter"] = wmi
        self.d.add(gpo_dn(guid), "groupPolicyContainer", **attrs)
        self.fs.files[(path + "\\GPT.INI").lower()] = f"[General]\r\nVersion={version}\r\n".encode()
        if value is not None:
            unc = path + "\\Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf"
            self.fs.files[unc.lower()] = template(value)

    def computer(
        self,
        name: str,
        ou: str,
        os: str = "Windows Server 2022 Standard",
        *,
        groups: Sequence[str] = (),
        uac: int = 0x1000,
        pg: int = 515,
    ) -> str:
        self.rid += 1
        dn = f"CN={name},{ou}"
        self.d.add(
            dn,
            "computer",
            dNSHostName=f"{name}.lab.test",
            operatingSystem=os,
            operatingSystemVersion="10.0 (20348)",
            userAccountControl=str(uac),
            primaryGroupID=str(pg),
            objectSid=sid_bytes(f"{DOM_SID}-{self.rid}"),
            memberOf=list(groups),
        )
        return dn

    def group(self, dn: str, rid: int, member_of: Sequence[str] = ()) -> str:
        self.d.add(dn, "group", objectSid=sid_bytes(f"{DOM_SID}-{rid}"), memberOf=list(member_of))
        return f"{DOM_SID}-{rid}"

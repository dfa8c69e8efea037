"""Fuzz targets of the domain view (``smbsign ad``): what a directory server or SYSVOL returns.

One harness per parser of that untrusted data (issue #11 item 26; docs/fuzzing.md, "The domain
view"), yielded by :func:`targets` into the table of :mod:`fuzz.targets`:

- ``ad_ber``: :mod:`smbsign.ad.ber`, the hand-written BER reader of LDAP messages
  (``message_size``, ``op_tag``, ``search_entry``) and the value accessors of
  :class:`~smbsign.ad.ldap.Entry`; typed error :class:`~smbsign.errors.ParseError`;
- ``ad_search``: :meth:`LdapDirectory.search <smbsign.ad.ldap.LdapDirectory.search>` over the
  socket stream of a session whose cipher is the identity: SASL buffers (RFC 4422 3.7),
  framing, the BER reader, pyasn1 for SearchResultDone / references, the paging cookie;
  typed error :class:`~smbsign.ad.ldap.DirectoryError` (one line);
- ``ad_gplink``: :func:`~smbsign.ad.gplink.parse_gplink`, ``parse_gpoptions``; ``ParseError``;
- ``ad_security``: ``nTSecurityDescriptor`` bytes -> :func:`parse_security_descriptor
  <smbsign.ad.security.parse_security_descriptor>` (impacket's structures behind it) ->
  the Apply-Group-Policy decision; ``ParseError`` from the parser, ``security_status`` never
  raises;
- ``ad_sysvol``: :func:`~smbsign.ad.sysvol.load_gpo`, one GPO's GPT.INI (its own parsing),
  GptTmpl.inf and Registry.pol; never raises;
- ``ad_directory``: the whole pipeline, :func:`smbsign.ad.view.audit_domain`, over a directory
  whose entries (rootDSE, domain, OUs, sites, GPOs, groups, computers, Exchange/SCCM objects)
  and SYSVOL files all come from the input, a stream of SearchResultEntry messages: value
  decoding (``objectSid``, ``userAccountControl``, ``versionNumber``, ``operatingSystem``...),
  SOM chains, resolution, security filtering and the engine; typed error ``DirectoryError``
  (a rootDSE without a naming context), anything else a crash.

Seeds are built from the domain-view test builders (``tests/unit/ad/ad_fakes.py``: the fake
domain, its security descriptors and gPLink values; ``tests/unit/ad/test_ad_ldap.py``: LDAP
messages through impacket's encoder and the SASL framing) plus ``fuzz/seeds/<target>/``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Generator, Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from smbsign.ad import ber, gplink, security, sysvol
from smbsign.ad.directory import REGISTRY_CSE, SECURITY_CSE, GpoObject, sid_text
from smbsign.ad.ldap import BASE, SUBTREE, DirectoryError, Entry
from smbsign.ad.resolve import Applies
from smbsign.errors import ParseError

ROOT = Path(__file__).resolve().parents[1]
AD_TESTS = ROOT / "tests" / "unit" / "ad"
SEEDS = ROOT / "fuzz" / "seeds"
MAX_VALUES = 8  # values kept per attribute by the ad_ber harness (the bound is exercised)
DOMAIN_MAX = 16384  # a whole fake domain in one input

# ----------------------------------------------------------------------------- builders


@cache
def _ad_builders() -> tuple[ModuleType, ModuleType]:
    """``ad_fakes`` (the fake domain) and ``test_ad_ldap`` (LDAP messages, SASL framing)."""
    if str(AD_TESTS) not in sys.path:
        sys.path.insert(0, str(AD_TESTS))
    import ad_fakes
    import test_ad_ldap

    return ad_fakes, test_ad_ldap


def _encode(message: Any) -> bytes:
    from impacket.ldap.ldap import encoder

    return bytes(encoder.encode(message))


def _hand_written(target: str) -> list[bytes]:
    base = SEEDS / target
    return [p.read_bytes() for p in sorted(base.glob("*")) if p.is_file()] if base.is_dir() else []


def _lab() -> Any:
    """A small domain as the view tests build it: nested OUs, a blocked and an enforced link,
    a disabled link, a deny ACE, a WMI filter, groups, computers of each role."""
    fakes, _ = _ad_builders()
    a, b, c, d = (f"{n * 8}-0000-0000-0000-{n * 12}" for n in "ABCD")
    ou_p, dom = f"OU=Servers,{fakes.DOMAIN}", fakes.DOMAIN
    ou_c = f"OU=Tier1,{ou_p}"
    lab = fakes.Lab()
    grp = lab.group(f"CN=Pilot,{dom}", 3000)
    lab.group(f"CN=Inner,{dom}", 3001, member_of=[f"CN=Pilot,{dom}"])
    deny = fakes.sd(
        fakes.ace(6, 0x100, grp, security.APPLY_GROUP_POLICY),
        fakes.ace(5, 0x100, fakes.AU, security.APPLY_GROUP_POLICY),
        fakes.ace(0, 0x20094, fakes.AU),
    )
    lab.gpo(a, "dom-on", 1)
    lab.gpo(b, "parent-off", 0, sd_=deny, version=3)
    lab.gpo(c, "child-wmi", 1, wmi="[lab.test;{X};0]")
    lab.gpo(d, "disabled-settings", None, flags=2)
    lab.ou(dom, fakes.link(a, 2))
    lab.ou(ou_p, fakes.link(b), fakes.link(d, 1), block=True)
    lab.ou(ou_c, fakes.link(c))
    lab.computer("s1", ou_c, groups=[f"CN=Inner,{dom}"])
    lab.computer("w1", ou_p, "Windows 11 Enterprise")
    lab.computer("dc1", f"OU=Domain Controllers,{dom}", uac=0x82000, pg=516)
    lab.computer("smb1", ou_p, "Samba", pg=515)
    lab.d.add(
        f"CN=EX1,CN=Servers,CN=Microsoft Exchange,CN=Services,{fakes.CONFIG}",
        "msExchExchangeServer",
        networkAddress=["ncacn_ip_tcp:s1.lab.test", "netbios:S1"],
    )
    lab.d.add(
        f"CN=MP,CN=System Management,CN=System,{dom}",
        "mSSMSManagementPoint",
        mSSMSMPName="w1.lab.test",
    )
    return lab


# ----------------------------------------------------------------- the domain as a stream

FILE_ATTR = "data"  # a SYSVOL file travels as an entry: DN = its UNC path, this = its bytes


def _lab_stream(lab: Any) -> bytes:
    """Every entry of ``lab`` (rootDSE first, objectClass added) and every SYSVOL file, as a
    stream of SearchResultEntry messages: the ``ad_directory`` input format."""
    fakes, ldap_msgs = _ad_builders()
    root = {
        "defaultNamingContext": [fakes.DOMAIN.encode()],
        "configurationNamingContext": [fakes.CONFIG.encode()],
    }
    out = [_encode(ldap_msgs.entry_msg("", **root))]
    for dn, (cls, attrs) in lab.d.entries.items():
        values = {"objectClass": [b"top", cls.encode()], **{k: list(v) for k, v in attrs.items()}}
        out.append(_encode(ldap_msgs.entry_msg(dn, **values)))
    for unc, data in lab.fs.files.items():
        out.append(_encode(ldap_msgs.entry_msg(unc, **{FILE_ATTR: [data]})))
    return b"".join(out)


def _split_messages(data: bytes) -> Iterator[bytes]:
    """The framed LDAP messages at the start of ``data`` (stops at the first bad one)."""
    with contextlib.suppress(ParseError):
        while data:
            size = ber.message_size(data)
            if size is None:
                return
            yield data[:size]
            data = data[size:]


def _entries(data: bytes) -> list[Entry]:
    out = []
    for raw in _split_messages(data):
        with contextlib.suppress(ParseError):
            if ber.op_tag(raw) == ber.SEARCH_RESULT_ENTRY:
                out.append(Entry(*ber.search_entry(raw, 100)))
    return out


def _ber_seeds() -> list[bytes]:
    _, ldap_msgs = _ad_builders()
    msgs = list(_split_messages(_lab_stream(_lab())))
    msgs += [
        _encode(ldap_msgs.done_msg(cookie=b"\x01\x02")),
        _encode(ldap_msgs.done_msg(10, referral="ldap://dc2.other/DC=other")),
        _encode(ldap_msgs.ref_msg("ldap://other/DC=y")),
        _encode(ldap_msgs.entry_msg("CN=a", memberOf=[b"g%d" % i for i in range(12)])),
    ]
    return msgs + _hand_written("ad_ber")


def _search_seeds() -> list[bytes]:
    """Answers of a paged search as the socket carries them (identity cipher)."""
    _, m = _ad_builders()
    entries = [m.entry_msg(f"CN=c{i},DC=lab,DC=test", cn=[b"c%d" % i]) for i in range(3)]
    return [
        m.sasl(*entries[:2], m.done_msg(cookie=b"c1"), split=30) + m.sasl(entries[2], m.done_msg()),
        m.sasl(entries[0], m.ref_msg("ldap://other/DC=y"), m.done_msg(cookie=b"")),
        m.sasl(m.done_msg(10, referral="ldap://dc.other/DC=other")),
        m.sasl(m.done_msg(32)),
        m.sasl(m.done_msg(50, diag="00002098: insufficient access")),
        m.sasl(entries[0], m.entry_msg("CN=b", nTSecurityDescriptor=[_ad_builders()[0].DEFAULT_SD]))
        + m.sasl(m.done_msg()),
        *_hand_written("ad_search"),
    ]


def _gplink_seeds() -> list[bytes]:
    fakes, _ = _ad_builders()
    guid = "31B2F340-016D-11D2-945F-00C04FB984F9"
    return [
        fakes.link(guid).encode(),
        (fakes.link(guid, 2) + fakes.link(guid.lower(), 1) + fakes.link(guid, 3)).encode(),
        f"  [ldap://CN={{{guid.lower()}}},CN=Policies,CN=System,DC=lab,DC=test ; 2 ]  ".encode(),
        b"[LDAP://cn=odd,cn=policies,DC=x;0]",
        b" ",
        *_hand_written("ad_gplink"),
    ]


def _security_seeds() -> list[bytes]:
    import struct

    fakes, _ = _ad_builders()
    apply = security.APPLY_GROUP_POLICY
    dom = fakes.DOM_SID
    return [
        fakes.DEFAULT_SD,
        fakes.sd(fakes.ace(6, 0x100, f"{dom}-3000", apply), fakes.ace(5, 0x100, fakes.AU, apply)),
        fakes.sd(fakes.ace(0, 0x10000000, f"{dom}-1101"), fakes.ace(1, 0x10, "S-1-5-32-544")),
        fakes.sd(fakes.ace(5, 0x100, "S-1-5-21-9-9-9-513", "00000000-0000-0000-0000-000000000001")),
        fakes.sd(),  # an empty DACL
        struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 0),  # a null DACL
        *_hand_written("ad_security"),
    ]


def _sysvol_seeds() -> list[bytes]:
    fakes, _ = _ad_builders()
    return [
        b"[General]\r\nVersion=65537\r\ndisplayName=New Group Policy Object\r\n",
        "[General]\r\nVersion=3\r\n".encode("utf-16"),
        fakes.template(1),
        fakes.template(0),
        *_hand_written("ad_sysvol"),
    ]


# ------------------------------------------------------------------------------ harnesses


def _check_entry(entry: Entry, max_values: int) -> None:
    assert isinstance(entry.dn, str)
    for name, values in entry.attrs.items():
        assert isinstance(name, str) and name == name.lower(), name
        assert isinstance(values, tuple) and len(values) <= max_values
        assert all(isinstance(v, bytes) for v in values)
        entry.texts(name)
        number = entry.integer(name)
        assert number is None or abs(number) < 10**21
        sid = sid_text(entry.raw(name))
        assert sid == "" or sid.startswith("S-1-"), sid


def _ad_ber(data: bytes) -> None:
    """Framing, then the operation, then the entry; as :meth:`LdapDirectory.search` reads."""
    size = ber.message_size(data)
    assert size is None or 2 <= size <= len(data), size
    msg = data[:size] if size is not None else data
    tag = ber.op_tag(msg)
    assert 0 <= tag <= 0xFF
    if tag == ber.SEARCH_RESULT_ENTRY:
        dn, attrs = ber.search_entry(msg, MAX_VALUES)
        _check_entry(Entry(dn, attrs), MAX_VALUES)


class _Socket:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, n: int) -> bytes:
        out, self.data = self.data[:n], self.data[n:]
        return out


@cache
def _conn_class() -> type:
    from impacket.ldap.ldap import LDAPConnection

    class ClearConn(LDAPConnection):  # type: ignore[misc]
        """impacket's connection without a socket of its own: its filter parser, the
        identity cipher (a SASL buffer is its length and the clear text)."""

        def __init__(self, data: bytes) -> None:
            self._socket = _Socket(data)

        def send(self, req: Any, controls: Any) -> None:
            pass

        def decrypt(self, data: bytes) -> bytes:
            return data[4:]

    return ClearConn


def directory_over(stream: bytes) -> Any:
    """An :class:`~smbsign.ad.ldap.LdapDirectory` (``DC fuzz``) whose socket carries
    ``stream``: SASL buffers of clear text, as the DC's answers look once unsealed."""
    from smbsign.ad.ldap import LdapDirectory, _SealedLink

    d = LdapDirectory.__new__(LdapDirectory)
    d.where, d.referrals, d._timeout = "DC fuzz", [], 5.0
    d._conn = _conn_class()(stream)
    d._link = _SealedLink(d._conn, d.where)
    return d


def search(d: Any, *, security_descriptor: bool = False) -> Generator[Entry, None, None]:
    return d.search(  # type: ignore[no-any-return]
        "DC=lab,DC=test",
        SUBTREE,
        "(objectClass=computer)",
        ["cn"],
        security_descriptor=security_descriptor,
    )


def _ad_search(data: bytes) -> None:
    """Two searches on one session: the first abandoned after ``len(data) % 3`` entries (its
    rest is drained by the second, as a caller that stops early leaves it)."""
    from smbsign.ad.ldap import MAX_VALUES as KEPT

    d = directory_over(data)
    for first, keep in ((True, len(data) % 3), (False, None)):
        answers = search(d, security_descriptor=first)
        try:
            for n, entry in enumerate(answers):
                _check_entry(entry, KEPT)
                if keep is not None and n + 1 >= keep:
                    break
        except DirectoryError as exc:
            text = str(exc)
            assert text.startswith("DC fuzz: ") and "\n" not in text and "\r" not in text, text
            return
        finally:
            answers.close()
    assert all(isinstance(u, str) for u in d.referrals)


def _ad_gplink(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        options = gplink.parse_gpoptions(data)
        assert isinstance(options, int)
    links = gplink.parse_gplink(data)
    assert [lk.index for lk in links] == list(range(len(links)))
    for lk in links:
        assert lk.gpo_dn and lk.gpo_dn == lk.gpo_dn.strip(), lk
        assert lk.guid == "" or (len(lk.guid) == 36 and lk.guid == lk.guid.upper()), lk
        assert 0 <= lk.options < 10**10
        assert not (lk.disabled and lk.enforced)
        assert lk.guid == gplink.guid_of_dn(lk.gpo_dn)


_DOM = "S-1-5-21-100-200-300"
_TOKENS = (
    security.Token(frozenset({*security.COMPUTER_WELL_KNOWN, f"{_DOM}-1101"}), _DOM, "pc"),
    security.Token(
        frozenset({*security.COMPUTER_WELL_KNOWN, f"{_DOM}-1102", f"{_DOM}-3000"}), _DOM, "pc2"
    ),
    security.Token(frozenset(), "", "nobody"),
)


def _ad_security(data: bytes) -> None:
    """The parser (uncached: every input runs it), the decision for three tokens, and the
    wrapper the view calls, which must never raise nor say "applies" when it cannot parse."""
    parse = security.parse_security_descriptor.__wrapped__
    try:
        dacl = parse(data)
    except ParseError as exc:
        assert "\n" not in str(exc)
        for token in _TOKENS:
            assert security.security_status(data, token).applies is not Applies.YES
        raise
    assert dacl.aces is None or all(
        a.sid.startswith("S-1-") and (a.object_type is None or len(a.object_type) == 36)
        for a in dacl.aces
    )
    for token in _TOKENS:
        status = security.apply_group_policy(dacl, token)
        assert status.applies is Applies.YES or status.reason, status
        if status.applies is Applies.YES and dacl.aces is not None:
            assert any(a.allow and security.member(token, a.sid) for a in dacl.aces)
        assert security.security_status(data, token) == status


_GPO_PATH = "\\\\lab.test\\SysVol\\lab.test\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}"


class _Files:
    """GPT.INI, GptTmpl.inf and Registry.pol of one GPO, all the fuzzed bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, unc: str, limit: int) -> bytes:
        if len(self.data) > limit:
            raise sysvol.SysvolError(f"{unc}: larger than {limit} bytes")
        return self.data


def _gpo(version: int | None, extensions: str) -> GpoObject:
    guid = "31B2F340-016D-11D2-945F-00C04FB984F9"
    return GpoObject(guid, f"CN={{{guid}}}", "fuzz", 0, version, _GPO_PATH, extensions, 2, "", None)


_GPOS = (_gpo(3, f"[{SECURITY_CSE}][{REGISTRY_CSE}]"), _gpo(None, ""))


def _ad_sysvol(data: bytes) -> None:
    """One GPO's files as ``ad audit`` reads them, with and without the extensions listed."""
    from smbsign.model import CollectError, SettingValue

    for gpo in _GPOS:
        files = sysvol.load_gpo(gpo, _Files(data))
        assert files.guid == gpo.guid
        assert files.gpt_version is None or 0 <= files.gpt_version < 10**10
        assert all(isinstance(v, SettingValue) for v in files.values)
        assert all(isinstance(e, CollectError) and e.message for e in files.errors)
        assert all(isinstance(n, str) and n for n in files.notes)
        if not gpo.machine_extensions:
            assert not files.values


#: The control the seed GPOs set. The engine judges only it: every control costs an engine
#: evaluation per computer shape, which is not what this target fuzzes (the directory data
#: before it is), and all 13 made the target too slow to reach 1,000,000 inputs.
AD_CONTROL = "smb-server-signing-required"


@cache
def _catalog() -> Any:
    from smbsign.catalog import load_catalog

    return load_catalog().only([AD_CONTROL])


@cache
def _directory_class() -> type:
    fakes, _ = _ad_builders()

    class Directory(fakes.FakeDirectory):  # type: ignore[misc, name-defined]
        """The view tests' fake directory, with the rootDSE taken from the entries too."""

        def search(self, base: str, scope: int, *args: Any, **kwargs: Any) -> Iterator[Entry]:
            if base == "" and scope == BASE:
                if "" in self.entries:
                    yield Entry("", self.entries[""][1])
                return
            yield from super().search(base, scope, *args, **kwargs)

    return Directory


def _ad_directory(data: bytes) -> None:
    """``ad audit`` over a directory and a SYSVOL whose every byte is the input's."""
    fakes, _ = _ad_builders()
    from smbsign.ad.view import audit_domain
    from smbsign.model import Finding

    directory = _directory_class()()
    files = fakes.FakeSysvol()
    for entry in _entries(data):
        if entry.dn.startswith("\\\\"):
            files.files[entry.dn.lower()] = entry.raw(FILE_ATTR) or b""
            continue
        classes = entry.texts("objectClass")
        directory.entries[entry.dn] = (classes[-1] if classes else "", dict(entry.attrs))
    snap, results = audit_domain(directory, files, _catalog())
    assert all(isinstance(n, str) for n in snap.notes)
    for result in results:
        assert result.facts.host == result.computer.dns_name
        for finding in result.findings:
            assert isinstance(finding, Finding) and finding.host == result.computer.dns_name
            assert finding.reason


# --------------------------------------------------------------------------------- table


def targets(target: Callable[..., Any]) -> Iterator[Any]:
    """The domain-view targets, built with :class:`fuzz.targets.Target` (passed in, so that
    this module does not import the table it is part of)."""
    yield target(
        "ad_ber",
        _ad_ber,
        (ParseError,),
        _ber_seeds,
        "every entry of the view tests' fake domain (tests/unit/ad/ad_fakes.py) and "
        "SearchResultDone/reference messages (tests/unit/ad/test_ad_ldap.py), one per seed",
    )
    yield target(
        "ad_search",
        _ad_search,
        (DirectoryError,),
        _search_seeds,
        "paged answers in SASL buffers (tests/unit/ad/test_ad_ldap.py builders)",
    )
    yield target(
        "ad_gplink",
        _ad_gplink,
        (ParseError,),
        _gplink_seeds,
        "gPLink values of tests/unit/ad (ad_fakes.link, test_ad_gplink)",
    )
    yield target(
        "ad_security",
        _ad_security,
        (ParseError,),
        _security_seeds,
        "security descriptors built by tests/unit/ad/ad_fakes.py (allow, deny, object ACEs, "
        "empty and null DACLs)",
    )
    yield target(
        "ad_sysvol",
        _ad_sysvol,
        (),
        _sysvol_seeds,
        "GPT.INI as Windows and the AD lab write it, GptTmpl.inf of tests/unit/ad/ad_fakes.py",
        max_len=DOMAIN_MAX,
    )
    yield target(
        "ad_directory",
        _ad_directory,
        (DirectoryError,),
        lambda: [_lab_stream(_lab())],
        "the view tests' fake domain (tests/unit/ad/ad_fakes.py) with its SYSVOL, encoded as "
        "SearchResultEntry messages",
        max_len=DOMAIN_MAX,
    )

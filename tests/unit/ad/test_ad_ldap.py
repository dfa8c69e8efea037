"""The LDAP reader's paging, entries, referrals and errors, over impacket's own message types
(no socket: a stand-in connection answers with real SearchResult* / LDAPMessage objects)."""

from __future__ import annotations

from typing import Any

import pytest
from impacket.ldap import ldapasn1
from impacket.ldap.ldap import LDAPConnection

from smbsign.ad.ldap import SUBTREE, DirectoryError, LdapDirectory


def entry_msg(dn: str, **attrs: list[bytes]) -> Any:
    e = ldapasn1.SearchResultEntry()
    e["objectName"] = dn
    for i, (name, vals) in enumerate(attrs.items()):
        e["attributes"][i]["type"] = name
        for j, v in enumerate(vals):
            e["attributes"][i]["vals"][j] = v
    return _msg(e)


def _msg(op: Any, cookie: bytes | None = None) -> Any:
    m = ldapasn1.LDAPMessage()
    m["messageID"] = 1
    m["protocolOp"].setComponentByType(op.getTagSet(), op)
    if cookie is not None:
        ctrl = ldapasn1.SimplePagedResultsControl(size=2, cookie=cookie)
        m["controls"].setComponents(ctrl)
    return m


def done_msg(code: int = 0, cookie: bytes | None = b"", diag: str = "", referral: str = "") -> Any:
    d = ldapasn1.SearchResultDone()
    d["resultCode"] = code
    d["matchedDN"] = ""
    d["diagnosticMessage"] = diag
    if referral:
        d["referral"][0] = referral
    return _msg(d, cookie)


def ref_msg(url: str) -> Any:
    r = ldapasn1.SearchResultReference()
    r[0] = url
    return _msg(r)


class FakeConn(LDAPConnection):  # type: ignore[misc]
    """impacket's connection without a socket: its filter parser, canned answers."""

    def __init__(self, pages: list[list[Any]]) -> None:
        self.pages = pages
        self.cookies: list[bytes] = []

    def send_receive(self, req: Any, controls: Any) -> list[bytes]:
        from impacket.ldap.ldap import encoder

        self.cookies.append(bytes(controls[0].getCookie()))
        return [encoder.encode(m) for m in self.pages.pop(0)]

    def close(self) -> None:
        pass


def directory(pages: list[list[Any]]) -> tuple[LdapDirectory, FakeConn]:
    d = LdapDirectory.__new__(LdapDirectory)
    d.where, d.referrals, d._timeout = "DC x", [], 5.0
    conn = FakeConn(pages)
    d._conn = conn
    d._link = conn
    return d, conn


def test_pages_are_followed_with_the_cookie_and_entries_stream() -> None:
    d, conn = directory(
        [
            [entry_msg("CN=a,DC=x", dNSHostName=[b"a.x"]), done_msg(cookie=b"c1")],
            [
                entry_msg("CN=b,DC=x", memberOf=[b"CN=g1", b"CN=g2"]),
                ref_msg("ldap://other/DC=y"),
                done_msg(cookie=b""),
            ],
        ]
    )
    got = list(d.search("DC=x", SUBTREE, "(objectClass=computer)", ["dNSHostName"]))
    assert [e.dn for e in got] == ["CN=a,DC=x", "CN=b,DC=x"]
    assert got[0].text("dnshostname") == "a.x" and got[1].texts("memberOf") == ("CN=g1", "CN=g2")
    assert conn.cookies == [b"", b"c1"]
    assert d.referrals == ["ldap://other/DC=y"]


def test_referral_result_and_errors_are_one_line() -> None:
    d, _ = directory([[done_msg(10, referral="ldap://dc.other/DC=other")]])
    with pytest.raises(DirectoryError) as exc:
        list(d.search("DC=other", SUBTREE, "(objectClass=*)", []))
    assert "referral" in str(exc.value) and "not followed" in str(exc.value)
    d, _ = directory([[done_msg(32)]])
    assert list(d.search("CN=Missing,DC=x", SUBTREE, "(objectClass=*)", [])) == []
    d, _ = directory([[done_msg(50, diag="00002098: insufficient\naccess")]])
    with pytest.raises(DirectoryError) as exc:
        list(d.search("DC=x", SUBTREE, "(objectClass=*)", []))
    assert "\n" not in str(exc.value) and "insufficientAccessRights" in str(exc.value)


class FakeSock:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, n: int) -> bytes:
        n = min(n, 7)  # tiny reads: buffers never arrive whole
        out, self.data = self.data[:n], self.data[n:]
        return out


class ClearConn:
    """A 'sealed' session whose cipher is the identity: buffers are length + clear text."""

    def __init__(self, stream: bytes) -> None:
        self._socket = FakeSock(stream)
        self.sent = 0

    def send(self, req: Any, controls: Any) -> None:
        self.sent += 1

    def decrypt(self, data: bytes) -> bytes:
        return data[4:]


def _op(raw: bytes) -> Any:
    from impacket.ldap.ldap import decoder

    return decoder.decode(raw, asn1Spec=ldapasn1.LDAPMessage())[0]["protocolOp"].getComponent()


def sasl(*messages: Any, split: int = 0) -> bytes:
    from impacket.ldap.ldap import encoder

    clear = b"".join(encoder.encode(m) for m in messages)
    parts = [clear[:split], clear[split:]] if split else [clear]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts if p)


def test_sealed_link_reads_several_buffers_and_messages_split_across_them() -> None:
    from smbsign.ad.ldap import _SealedLink

    first = sasl(
        entry_msg("CN=a,DC=x", cn=[b"a" * 40]), entry_msg("CN=b,DC=x"), done_msg(), split=30
    )
    second = sasl(entry_msg("CN=c,DC=x"), done_msg())
    link = _SealedLink(ClearConn(first + second), "DC x")
    got = [_op(raw) for raw in link.send_receive(None, [])]
    assert [str(op["objectName"]) for op in got[:2]] == ["CN=a,DC=x", "CN=b,DC=x"] and len(got) == 3
    gen = link.send_receive(None, [])
    assert str(_op(next(gen))["objectName"]) == "CN=c,DC=x"


def test_an_abandoned_answer_is_drained_before_the_next_request() -> None:
    from smbsign.ad.ldap import _SealedLink

    stream = sasl(entry_msg("CN=a,DC=x"), entry_msg("CN=b,DC=x"), done_msg())
    stream += sasl(entry_msg("CN=z,DC=x"), done_msg())
    link = _SealedLink(ClearConn(stream), "DC x")
    next(iter(link.send_receive(None, [])))  # stop after the first entry
    ops = [_op(raw) for raw in link.send_receive(None, [])]
    assert str(ops[0]["objectName"]) == "CN=z,DC=x" and len(ops) == 2


def test_a_closed_connection_or_absurd_buffer_is_a_directory_error() -> None:
    from smbsign.ad.ldap import _SealedLink

    with pytest.raises(DirectoryError, match="closed the connection"):
        list(_SealedLink(ClearConn(b"\x00\x00"), "DC x").send_receive(None, []))
    with pytest.raises(DirectoryError, match="bad SASL buffer length"):
        list(_SealedLink(ClearConn(b"\x7f\xff\xff\xff"), "DC x").send_receive(None, []))

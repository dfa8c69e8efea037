"""The fast BER reader agrees with pyasn1 on search entries and fails cleanly on garbage."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st
from impacket.ldap import ldapasn1
from impacket.ldap.ldap import decoder, encoder
from test_ad_ldap import done_msg, entry_msg

from smbsign.ad.ber import (
    SEARCH_RESULT_DONE,
    SEARCH_RESULT_ENTRY,
    message_size,
    op_tag,
    search_entry,
)
from smbsign.errors import ParseError

_names = st.sampled_from(["dNSHostName", "memberOf", "objectSid", "cn", "nTSecurityDescriptor"])
_vals = st.lists(st.binary(max_size=300), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80), st.dictionaries(_names, _vals, max_size=5))
def test_search_entry_matches_pyasn1(dn: str, attrs: dict[str, list[bytes]]) -> None:
    raw = encoder.encode(entry_msg(dn, **attrs))
    assert message_size(raw) == len(raw) and op_tag(raw) == SEARCH_RESULT_ENTRY
    got_dn, got = search_entry(raw, 100)
    ref = decoder.decode(raw, asn1Spec=ldapasn1.LDAPMessage())[0]["protocolOp"].getComponent()
    assert got_dn == str(ref["objectName"])
    assert got == {k.lower(): tuple(v) for k, v in attrs.items()}


def test_framing_waits_for_the_whole_message_and_bounds_values() -> None:
    raw = encoder.encode(entry_msg("CN=a", memberOf=[b"g1", b"g2", b"g3"]))
    assert message_size(raw[:1]) is None and message_size(raw[:-1]) is None
    assert message_size(raw + b"\x30") == len(raw)
    assert search_entry(raw, 2)[1]["memberof"] == (b"g1", b"g2")
    assert op_tag(encoder.encode(done_msg())) == SEARCH_RESULT_DONE


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_raises_only_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        size = message_size(b"\x30" + data)
        if size is not None:
            msg = (b"\x30" + data)[:size]
            if op_tag(msg) == SEARCH_RESULT_ENTRY:
                search_entry(msg, 10)

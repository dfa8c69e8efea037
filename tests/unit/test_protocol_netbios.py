"""NetBIOS session service codec: RFC1001 14.1 name encoding, SESSION REQUEST (reference.md §5.2),
session responses [RFC1002 4.3.3-4.3.7]."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.errors import ProtocolError
from smbsign.protocol import netbios
from smbsign.protocol.netbios import SessionResponseKind


def test_smbserver_encoding_from_domain_5_2() -> None:
    assert netbios.encode_name("*SMBSERVER") == b"CKFDENECFDEFFCFGEFFCCACACACACACA"


def test_encoding_rfc1001_example_and_case() -> None:
    # RFC1001 14.1 worked example: "FRED" padded with spaces (suffix 0x20 = space).
    assert netbios.encode_name("FRED") == b"EGFCEFEECACACACACACACACACACACACA"
    assert netbios.encode_name("fred") == netbios.encode_name("FRED")
    assert netbios.encode_name("SMBSIGN", 0x00)[-2:] == b"AA"


@pytest.mark.parametrize("name", ["", "A" * 16, "BAD NAME", "caf\u00e9", "X\x00"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ValueError):
        netbios.encode_name(name)


def test_session_request_bytes() -> None:
    pkt = netbios.build_session_request()
    assert len(pkt) == 72
    assert pkt[:4] == bytes.fromhex("81000044")
    assert pkt[4:38] == b"\x20" + b"CKFDENECFDEFFCFGEFFCCACACACACACA" + b"\x00"
    # calling name "SMBSIGN" with suffix 0x00
    assert pkt[38:72] == b"\x20" + netbios.encode_name("SMBSIGN", 0) + b"\x00"
    assert netbios.build_session_request("host1")[5:37] == netbios.encode_name("HOST1")


@pytest.mark.parametrize(
    ("packet", "kind", "code", "retarget"),
    [
        (bytes.fromhex("82000000"), SessionResponseKind.POSITIVE, None, None),
        (bytes.fromhex("8300000182"), SessionResponseKind.NEGATIVE, 0x82, None),
        (bytes.fromhex("8300000180"), SessionResponseKind.NEGATIVE, 0x80, None),
        (bytes.fromhex("85000000"), SessionResponseKind.KEEPALIVE, None, None),
        (
            bytes.fromhex("840000060a00000201bd"),
            SessionResponseKind.RETARGET,
            None,
            ("10.0.0.2", 445),
        ),
    ],
)
def test_session_responses(
    packet: bytes,
    kind: SessionResponseKind,
    code: int | None,
    retarget: tuple[str, int] | None,
) -> None:
    resp = netbios.parse_session_response(packet)
    assert resp.kind is kind
    assert resp.error_code == code
    assert resp.retarget == retarget


def test_positive_response_with_a_payload_is_positive() -> None:
    """#11 item 7: a declared trailer after the fixed fields is skipped [RFC1002 4.3.3]."""
    echoed = b"\x82\x00\x00\x44" + netbios.build_session_request()[4:]
    assert netbios.parse_session_response(echoed).kind is SessionResponseKind.POSITIVE
    negative = bytes.fromhex("830000028200")
    assert netbios.parse_session_response(negative).error_code == 0x82


def test_negative_error_text() -> None:
    resp = netbios.parse_session_response(bytes.fromhex("8300000182"))
    assert resp.error_text == "called name not present"
    assert netbios.parse_session_response(bytes.fromhex("8300000177")).error_text == (
        "unknown error"
    )


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (bytes.fromhex("00000000"), "not a session response"),
        (bytes.fromhex("81000044"), "not a session response"),
        (bytes.fromhex("83000000"), "length 0, expected at least 1"),
        (bytes.fromhex("820000"), "4 bytes"),
        (bytes.fromhex("82020000"), "reserved flag"),
        (bytes.fromhex("8300000182ff"), "of 2 bytes, declared 1"),
        (bytes.fromhex("82000044"), "of 0 bytes, declared 68"),
    ],
)
def test_malformed(packet: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        netbios.parse_session_response(packet)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=16))
def test_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        netbios.parse_session_response(data)

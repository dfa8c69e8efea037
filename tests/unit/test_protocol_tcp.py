"""SYN building and reply parsing for the SYN sweep (smbsign.protocol.tcp; RFC 9293/791/8200)."""

from __future__ import annotations

import contextlib
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.errors import ProtocolError
from smbsign.protocol import tcp

SRC4, DST4 = socket.inet_aton("192.0.2.1"), socket.inet_aton("198.51.100.2")
SRC6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
DST6 = socket.inet_pton(socket.AF_INET6, "2001:db8::2")


def reference_checksum(data: bytes) -> int:
    """RFC 1071 4.1 as written: 16-bit words, end-around carry, complement."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_syn_golden_bytes_ipv4() -> None:
    seg = tcp.syn_segment(SRC4, DST4, 40000, 445, 0x01020304)
    # sport 40000, dport 445, seq, ack 0, offset 6 words, SYN, window 1024, checksum, urgent 0,
    # MSS option (kind 2, length 4, 1460) [RFC 9293 3.1, 3.2]
    assert seg.hex() == "9c4001bd01020304000000006002040005ec0000020405b4"


def test_syn_checksum_verifies_over_the_pseudo_header() -> None:
    for src, dst in ((SRC4, DST4), (SRC6, DST6)):
        seg = tcp.syn_segment(src, dst, 40000, 445, 7)
        assert reference_checksum(tcp.pseudo_header(src, dst, len(seg)) + seg) == 0
    seg6 = tcp.syn_segment(SRC6, DST6, 40000, 445, 0x01020304)
    assert seg6[16:18] == (0x96AE).to_bytes(2, "big")  # RFC 8200 8.1 pseudo-header


def test_pseudo_header_shapes() -> None:
    assert tcp.pseudo_header(SRC4, DST4, 24) == SRC4 + DST4 + b"\x00\x06\x00\x18"
    assert tcp.pseudo_header(SRC6, DST6, 24) == SRC6 + DST6 + b"\x00\x00\x00\x18\x00\x00\x00\x06"
    with pytest.raises(ValueError):
        tcp.pseudo_header(SRC4, DST6, 24)


def test_checksum_examples() -> None:
    assert tcp.checksum(b"") == 0xFFFF
    assert tcp.checksum(b"\xff\xff") == 0  # negative zero folds to 0xFFFF, complement 0
    assert tcp.checksum(b"\x00\x01\xf2") == reference_checksum(b"\x00\x01\xf2")


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_checksum_matches_rfc1071(data: bytes) -> None:
    assert tcp.checksum(data) == reference_checksum(data)


@settings(max_examples=300)
@given(
    st.sampled_from([4, 16]).flatmap(
        lambda n: st.tuples(st.binary(min_size=n, max_size=n), st.binary(min_size=n, max_size=n))
    ),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
)
def test_template_builds_the_same_bytes(
    addrs: tuple[bytes, bytes], sport: int, dport: int, seq: int
) -> None:
    src, dst = addrs
    template = tcp.SynTemplate(sport, dport, address_length=len(src))
    assert template.build(src, dst, seq) == tcp.syn_segment(src, dst, sport, dport, seq)


def ipv4_packet(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    return (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, src, dst)
        + payload
    )


def reply(flags: int, ack: int) -> bytes:
    return struct.pack("!HHIIBBHHH", 445, 40000, 99, ack, 0x50, flags, 0, 0, 0)


def test_parse_syn_ack_and_rst() -> None:
    pkt = tcp.parse_ipv4(ipv4_packet(DST4, SRC4, 6, reply(tcp.SYN | tcp.ACK, 0x01020305)))
    assert (pkt.src, pkt.dst, pkt.protocol) == (DST4, SRC4, 6)
    hdr = tcp.parse_tcp(pkt.payload)
    assert (hdr.sport, hdr.dport, hdr.ack, hdr.is_syn_ack, hdr.is_rst) == (
        445,
        40000,
        0x01020305,
        True,
        False,
    )
    rst = tcp.parse_tcp(reply(tcp.RST | tcp.ACK, 5))
    assert rst.is_rst and not rst.is_syn_ack


def test_parse_icmp_unreachable_quoting_our_syn() -> None:
    syn = tcp.syn_segment(SRC4, DST4, 40000, 445, 0xDEADBEEF)
    quoted = ipv4_packet(SRC4, DST4, 6, syn[:8])  # RFC 792: IP header + 64 bits of data
    msg = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + quoted
    got = tcp.parse_icmp_unreachable(msg)
    assert got == tcp.IcmpUnreachable(1, DST4, 40000, 445, 0xDEADBEEF)
    assert (
        tcp.parse_icmp_unreachable(bytes([0, 0, 0, 0, 0, 0, 0, 0]) + quoted) is None
    )  # echo reply
    udp = ipv4_packet(SRC4, DST4, 17, bytes(8))
    assert tcp.parse_icmp_unreachable(bytes([3, 3, 0, 0, 0, 0, 0, 0]) + udp) is None


def test_parse_icmp6_unreachable_quoting_our_syn() -> None:
    syn = tcp.syn_segment(SRC6, DST6, 40000, 445, 0x0A0B0C0D)
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(syn), 6, 64, SRC6, DST6)
    msg = bytes([1, 3, 0, 0, 0, 0, 0, 0]) + ip6 + syn
    assert tcp.parse_icmp6_unreachable(msg) == tcp.IcmpUnreachable(3, DST6, 40000, 445, 0x0A0B0C0D)
    assert tcp.parse_icmp6_unreachable(bytes([128, 0, 0, 0, 0, 0, 0, 0])) is None  # echo request


@pytest.mark.parametrize(
    ("parser", "data"),
    [
        (tcp.parse_ipv4, b"\x45" + bytes(10)),  # truncated
        (tcp.parse_ipv4, b"\x65" + bytes(19)),  # version 6
        (tcp.parse_ipv4, b"\x4f" + bytes(30)),  # IHL 15 past the end
        (tcp.parse_ipv4, b"\x45\x00\x00\x10" + bytes(16)),  # total length below header
        (tcp.parse_tcp, bytes(19)),
        (tcp.parse_tcp, bytes(12) + b"\x40" + bytes(7)),  # data offset 4
        (tcp.parse_tcp, bytes(12) + b"\xf0" + bytes(7)),  # data offset 15 past the end
        (tcp.parse_icmp_unreachable, b"\x03\x00"),
        (
            tcp.parse_icmp_unreachable,
            bytes([3, 0, 0, 0, 0, 0, 0, 0]) + ipv4_packet(SRC4, DST4, 6, b"\x01"),
        ),
        (tcp.parse_icmp6_unreachable, bytes([1, 0, 0, 0, 0, 0, 0, 0]) + bytes(39)),
    ],
)
def test_malformed_is_protocol_error(parser: object, data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parser(data)  # type: ignore[operator]


@settings(max_examples=500)
@given(st.binary(max_size=120))
def test_parsers_raise_only_protocol_error(data: bytes) -> None:
    for parser in (
        tcp.parse_ipv4,
        tcp.parse_tcp,
        tcp.parse_icmp_unreachable,
        tcp.parse_icmp6_unreachable,
    ):
        with contextlib.suppress(ProtocolError):  # anything else fails the test
            parser(data)  # type: ignore[operator]


@settings(max_examples=300)
@given(st.binary(min_size=20, max_size=60), st.integers(0, 255))
def test_ipv4_parser_on_headers_with_a_valid_start(rest: bytes, proto: int) -> None:
    data = (
        b"\x45"
        + rest[:1]
        + (len(rest) + 1).to_bytes(2, "big")
        + rest[3:8]
        + bytes([proto])
        + rest[9:]
    )
    try:
        pkt = tcp.parse_ipv4(data)
    except ProtocolError:
        return
    assert pkt.protocol == proto and len(pkt.src) == 4 and len(pkt.dst) == 4

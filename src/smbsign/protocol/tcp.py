"""TCP SYN segments and the replies a SYN sweep reads: bytes in, bytes out (docs/scan.md "Sweep").

Pure: no sockets, no clock. What is built and parsed:

* a TCP SYN segment with one MSS option [RFC 9293 3.1 header format, 3.2 options], its
  checksum over the IPv4 [RFC 9293 3.1 "Checksum", pseudo-header] or IPv6 [RFC 8200 8.1]
  pseudo-header, in one's complement arithmetic [RFC 1071];
* an IPv4 header [RFC 791 3.1] as a raw ``IPPROTO_TCP`` / ``IPPROTO_ICMP`` socket returns it
  (an IPv6 raw socket returns no IPv6 header [RFC 3542 3]);
* the TCP header of a reply [RFC 9293 3.1]: ports, sequence and acknowledgment numbers, flags;
* an ICMP destination unreachable [RFC 792 p.4] or ICMPv6 destination unreachable
  [RFC 4443 3.1] quoting our SYN: the quoted IP header and the first 8 bytes of the TCP header
  (ports and sequence number), which every router returns [RFC 792 p.4; RFC 1812 4.3.2.3].

Every parser raises only :class:`~smbsign.errors.ProtocolError` on bytes it cannot read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from smbsign.errors import ProtocolError

__all__ = [
    "ACK",
    "FIN",
    "ICMP6_DEST_UNREACH",
    "ICMP_DEST_UNREACH",
    "RST",
    "SYN",
    "IcmpUnreachable",
    "Ipv4Packet",
    "SynTemplate",
    "TcpHeader",
    "checksum",
    "parse_icmp6_unreachable",
    "parse_icmp_unreachable",
    "parse_ipv4",
    "parse_tcp",
    "pseudo_header",
    "syn_segment",
]

# TCP control bits [RFC 9293 3.1]
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
PROTO_TCP = 6  # [RFC 790; IANA protocol numbers]
PROTO_ICMP = 1
ICMP_DEST_UNREACH = 3  # [RFC 792 p.4]
ICMP6_DEST_UNREACH = 1  # [RFC 4443 3.1]
TCP_HEADER = 20  # without options [RFC 9293 3.1]
IPV6_HEADER = 40  # fixed header [RFC 8200 3]
MSS_KIND = 2  # [RFC 9293 3.2, "Maximum Segment Size"]
SYN_WINDOW = 1024
_SYN_LEN = TCP_HEADER + 4  # one MSS option
_HDR = struct.Struct("!HHIIBBHHH")  # ports, seq, ack, offset, flags, window, checksum, urgent


def checksum(data: bytes) -> int:
    """Internet checksum: one's complement of the one's complement sum of 16-bit words.

    [RFC 1071 4.1]; an odd length is padded with a zero byte [RFC 9293 3.1 "Checksum"]. The sum
    is taken as one big integer modulo 0xFFFF (2**16 = 1 mod 0xFFFF, so the 16-bit words add up
    with end-around carry), which is what RFC 1071 2(B) describes, done in C.
    """
    if len(data) % 2:
        data += b"\0"
    total = int.from_bytes(data, "big")
    folded = total % 0xFFFF
    if folded == 0 and total:
        folded = 0xFFFF  # a non-zero sum that folds to "negative zero"
    return 0xFFFF - folded


def pseudo_header(src: bytes, dst: bytes, length: int) -> bytes:
    """The pseudo-header the TCP checksum covers.

    IPv4 (4-byte addresses): source, destination, zero, protocol 6, TCP length
    [RFC 9293 3.1 "Checksum"]. IPv6 (16-byte addresses): source, destination, 32-bit
    upper-layer length, three zero bytes, next header 6 [RFC 8200 8.1].
    """
    if len(src) == 4 and len(dst) == 4:
        return src + dst + struct.pack("!BBH", 0, PROTO_TCP, length)
    if len(src) == 16 and len(dst) == 16:
        return src + dst + struct.pack("!I3xB", length, PROTO_TCP)
    raise ValueError("addresses must both be 4 (IPv4) or 16 (IPv6) bytes")


def syn_segment(
    src: bytes, dst: bytes, sport: int, dport: int, seq: int, *, mss: int = 1460
) -> bytes:
    """A SYN with one MSS option, checksummed for ``src`` -> ``dst`` [RFC 9293 3.1, 3.2].

    Data offset 6 (24 bytes), acknowledgment number 0 (the ACK bit is off), window
    :data:`SYN_WINDOW`, urgent pointer 0.
    """
    head = _HDR.pack(sport, dport, seq, 0, (_SYN_LEN // 4) << 4, SYN, SYN_WINDOW, 0, 0)
    option = struct.pack("!BBH", MSS_KIND, 4, mss)
    segment = head + option
    csum = checksum(pseudo_header(src, dst, _SYN_LEN) + segment)
    return segment[:16] + csum.to_bytes(2, "big") + segment[18:]


class SynTemplate:
    """:func:`syn_segment` for one source and destination port, built in a few operations.

    Only the addresses and the sequence number change between the SYNs of a sweep, and the
    one's complement sum is a sum of 16-bit words [RFC 1071 2(A), commutative and
    associative], so the words that never change are summed once here. ``build`` gives the
    same bytes as :func:`syn_segment` (property-tested).
    """

    __slots__ = ("_constant", "_head", "_middle", "_tail")

    def __init__(self, sport: int, dport: int, *, address_length: int = 4, mss: int = 1460) -> None:
        zero = bytes(address_length)
        self._head = struct.pack("!HH", sport, dport)
        self._middle = struct.pack("!IBBH", 0, (_SYN_LEN // 4) << 4, SYN, SYN_WINDOW)
        self._tail = struct.pack("!HBBH", 0, MSS_KIND, 4, mss)
        fixed = pseudo_header(zero, zero, _SYN_LEN) + self._head + bytes(4) + self._middle
        self._constant = int.from_bytes(fixed + bytes(2) + self._tail, "big") % 0xFFFF

    def build(self, src: bytes, dst: bytes, seq: int) -> bytes:
        total = self._constant + int.from_bytes(src, "big") + int.from_bytes(dst, "big") + seq
        folded = total % 0xFFFF or 0xFFFF  # total > 0: the constant words hold SYN and the MSS
        return b"".join(
            (
                self._head,
                seq.to_bytes(4, "big"),
                self._middle,
                (0xFFFF - folded).to_bytes(2, "big"),
                self._tail,
            )
        )


@dataclass(frozen=True, slots=True)
class TcpHeader:
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int

    @property
    def is_syn_ack(self) -> bool:
        return self.flags & (SYN | ACK | RST) == SYN | ACK

    @property
    def is_rst(self) -> bool:
        return bool(self.flags & RST)


def parse_tcp(segment: bytes) -> TcpHeader:
    """The fixed TCP header [RFC 9293 3.1]; a data offset below 5 or past the end is an error."""
    if len(segment) < TCP_HEADER:
        raise ProtocolError(f"TCP header truncated ({len(segment)} bytes)")
    sport, dport, seq, ack, offset, flags, _, _, _ = _HDR.unpack_from(segment)
    words = offset >> 4
    if words < 5 or words * 4 > len(segment):
        raise ProtocolError(f"TCP data offset {words} invalid for {len(segment)} bytes")
    return TcpHeader(sport, dport, seq, ack, flags)


@dataclass(frozen=True, slots=True)
class Ipv4Packet:
    src: bytes
    dst: bytes
    protocol: int
    payload: bytes


def parse_ipv4(packet: bytes) -> Ipv4Packet:
    """An IPv4 header and its payload [RFC 791 3.1] (version 4, IHL 5-15, total length kept).

    The payload ends at the total length when the buffer holds that much, else at the
    buffer's end (an ICMP error quotes a truncated datagram whose total length is larger).
    """
    if len(packet) < 20:
        raise ProtocolError(f"IPv4 header truncated ({len(packet)} bytes)")
    version, ihl = packet[0] >> 4, packet[0] & 0x0F
    if version != 4 or ihl < 5 or ihl * 4 > len(packet):
        raise ProtocolError(f"not an IPv4 header (version {version}, IHL {ihl})")
    total = int.from_bytes(packet[2:4], "big")
    if total < ihl * 4:
        raise ProtocolError(f"IPv4 total length {total} below the header length {ihl * 4}")
    end = min(total, len(packet))
    return Ipv4Packet(bytes(packet[12:16]), bytes(packet[16:20]), packet[9], packet[ihl * 4 : end])


@dataclass(frozen=True, slots=True)
class IcmpUnreachable:
    """A destination unreachable that quotes a TCP segment we sent."""

    code: int
    dst: bytes  # the quoted datagram's destination: the address we probed
    sport: int
    dport: int
    seq: int


def _quoted_tcp(code: int, dst: bytes, tcp: bytes) -> IcmpUnreachable:
    if len(tcp) < 8:
        raise ProtocolError(f"ICMP quote holds {len(tcp)} bytes of TCP, need 8")
    sport, dport, seq = struct.unpack_from("!HHI", tcp)
    return IcmpUnreachable(code, dst, sport, dport, seq)


def parse_icmp_unreachable(message: bytes) -> IcmpUnreachable | None:
    """An ICMP message (no IP header): None unless it is a destination unreachable quoting TCP.

    Type 3, code, checksum, 4 unused bytes, then the original IP header and at least 8 bytes
    of its payload [RFC 792 p.4].
    """
    if len(message) < 8:
        raise ProtocolError(f"ICMP message truncated ({len(message)} bytes)")
    if message[0] != ICMP_DEST_UNREACH:
        return None
    inner = parse_ipv4(message[8:])
    if inner.protocol != PROTO_TCP:
        return None
    return _quoted_tcp(message[1], inner.dst, inner.payload)


def parse_icmp6_unreachable(message: bytes) -> IcmpUnreachable | None:
    """An ICMPv6 message: None unless it is a destination unreachable quoting TCP.

    Type 1, code, checksum, 4 unused bytes, then as much of the invoking packet as fits
    [RFC 4443 3.1]: its fixed IPv6 header [RFC 8200 3] (next header at byte 6, destination
    at 24-40) and, when no extension header comes between, the TCP header.
    """
    if len(message) < 8:
        raise ProtocolError(f"ICMPv6 message truncated ({len(message)} bytes)")
    if message[0] != ICMP6_DEST_UNREACH:
        return None
    inner = message[8:]
    if len(inner) < IPV6_HEADER or inner[0] >> 4 != 6:
        raise ProtocolError("ICMPv6 quote is not an IPv6 header")
    if inner[6] != PROTO_TCP:
        return None
    return _quoted_tcp(message[1], bytes(inner[24:40]), inner[IPV6_HEADER:])

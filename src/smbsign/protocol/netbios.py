"""NetBIOS session service for port 139 (docs/reference.md §5.2).

Only what an SMB client needs before its first NEGOTIATE: first-level name encoding
[RFC1001 14.1, RFC1002 4.1], the SESSION REQUEST [RFC1002 4.3.2] and the four session
responses [RFC1002 4.3.3-4.3.7]. No name service (UDP 137) at all: nmap's NBSTAT lookup is a
known cost (reference.md §8). A retarget response is parsed but never followed (we only talk to the
address we were given).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import StrEnum

from smbsign.errors import ProtocolError

__all__ = [
    "SESSION_ERRORS",
    "SMBSERVER",
    "SessionResponse",
    "SessionResponseKind",
    "build_session_request",
    "encode_name",
    "parse_session_header",
    "parse_session_response",
]

SMBSERVER = "*SMBSERVER"  # conventional wildcard called name (docs/reference.md §5.2)
FILE_SERVER_SUFFIX = 0x20  # 16th byte for the file server service [RFC1001 14.1 usage]
WORKSTATION_SUFFIX = 0x00

SESSION_MESSAGE = 0x00
SESSION_REQUEST = 0x81
POSITIVE_RESPONSE = 0x82
NEGATIVE_RESPONSE = 0x83
RETARGET_RESPONSE = 0x84
KEEP_ALIVE = 0x85

# RFC1002 4.3.4 NEGATIVE SESSION RESPONSE error codes.
SESSION_ERRORS: dict[int, str] = {
    0x80: "not listening on called name",
    0x81: "not listening for calling name",
    0x82: "called name not present",
    0x83: "called name present, but insufficient resources",
    0x8F: "unspecified error",
}

# Fixed fields of each response type [RFC1002 4.3.3-4.3.7]. A trailer that declares more is
# read past: some servers echo the called and calling names after a POSITIVE response (68
# bytes); the length field says where the packet ends, so the extra bytes are unambiguous.
_RESPONSE_LENGTHS = {
    POSITIVE_RESPONSE: 0,
    NEGATIVE_RESPONSE: 1,
    RETARGET_RESPONSE: 6,
    KEEP_ALIVE: 0,
}


class SessionResponseKind(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    RETARGET = "retarget"
    KEEPALIVE = "keepalive"


@dataclass(frozen=True, slots=True)
class SessionResponse:
    """A parsed NetBIOS session response; ``error_code`` only for NEGATIVE, ``retarget`` only
    for RETARGET (address, port)."""

    kind: SessionResponseKind
    error_code: int | None = None
    retarget: tuple[str, int] | None = None

    @property
    def error_text(self) -> str:
        if self.error_code is None:
            return ""
        return SESSION_ERRORS.get(self.error_code, "unknown error")


def encode_name(name: str, suffix: int = FILE_SERVER_SUFFIX) -> bytes:
    """First-level encode a NetBIOS name [RFC1001 14.1]: 32 ASCII letters.

    The name is upper-cased, padded with spaces to 15 bytes and followed by the 1-byte
    *suffix*; each of the 16 bytes becomes two letters (nibble + 0x41).
    ``encode_name("*SMBSERVER")`` is ``b"CKFDENECFDEFFCFGEFFCCACACACACACA"``.
    Raises ``ValueError`` for names that are empty, longer than 15 bytes or not printable ASCII.
    """
    if not 0 <= suffix <= 0xFF:
        raise ValueError(f"NetBIOS suffix out of range: {suffix}")
    if not name or len(name) > 15 or not all(0x20 < ord(c) < 0x7F for c in name):
        raise ValueError(f"invalid NetBIOS name: {name!r}")
    raw = name.upper().encode("ascii").ljust(15, b" ") + bytes((suffix,))
    out = bytearray()
    for byte in raw:
        out.append(0x41 + (byte >> 4))
        out.append(0x41 + (byte & 0x0F))
    return bytes(out)


def _name_field(name: str, suffix: int) -> bytes:
    # Length byte 0x20 (32), the encoded label, then the empty root label: no scope [RFC1002 4.1].
    return b"\x20" + encode_name(name, suffix) + b"\x00"


def build_session_request(
    called: str = SMBSERVER,
    calling: str = "SMBSIGN",
    *,
    called_suffix: int = FILE_SERVER_SUFFIX,
    calling_suffix: int = WORKSTATION_SUFFIX,
) -> bytes:
    """SESSION REQUEST packet [RFC1002 4.3.2]: 72 bytes, header ``81 00 00 44``."""
    body = _name_field(called, called_suffix) + _name_field(calling, calling_suffix)
    return struct.pack(">BBH", SESSION_REQUEST, 0, len(body)) + body


def parse_session_header(header: bytes) -> tuple[int, int]:
    """Return (type, trailer length) of a session-service packet header [RFC1002 4.3.1]."""
    if len(header) != 4:
        raise ProtocolError(f"session header must be 4 bytes, got {len(header)}", where="netbios")
    ptype, flags, length = struct.unpack(">BBH", header)
    if flags & 0xFE:
        raise ProtocolError(f"reserved flag bits set (0x{flags:02X})", where="netbios")
    return ptype, ((flags & 0x01) << 16) | length


def parse_session_response(packet: bytes) -> SessionResponse:
    """Parse a complete response to a SESSION REQUEST (4-byte header + declared trailer).

    The fixed fields are read from the start of the trailer and any declared bytes after
    them are ignored. Raises :class:`~smbsign.errors.ProtocolError` for any other type, a
    trailer shorter than the fixed fields, or a packet whose size is not the declared one.
    """
    ptype, length = parse_session_header(packet[:4])
    expected = _RESPONSE_LENGTHS.get(ptype)
    if expected is None:
        raise ProtocolError(f"not a session response (type 0x{ptype:02X})", where="netbios")
    if length < expected:
        raise ProtocolError(
            f"session response type 0x{ptype:02X} with length {length}, "
            f"expected at least {expected}",
            where="netbios",
        )
    if len(packet) != 4 + length:
        raise ProtocolError(
            f"session response type 0x{ptype:02X} of {len(packet) - 4} bytes, declared {length}",
            where="netbios",
        )
    if ptype == POSITIVE_RESPONSE:
        return SessionResponse(SessionResponseKind.POSITIVE)
    if ptype == KEEP_ALIVE:
        return SessionResponse(SessionResponseKind.KEEPALIVE)
    if ptype == NEGATIVE_RESPONSE:
        return SessionResponse(SessionResponseKind.NEGATIVE, error_code=packet[4])
    address = str(ipaddress.IPv4Address(packet[4:8]))
    (port,) = struct.unpack(">H", packet[8:10])
    return SessionResponse(SessionResponseKind.RETARGET, retarget=(address, port))

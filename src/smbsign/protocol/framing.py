"""Transport framing for SMB over TCP (docs/reference.md §5.1).

Direct TCP (port 445) prefixes every SMB message with ``00`` and a 24-bit big-endian length
[MS-SMB2 2.1]. The NetBIOS session service (port 139) wraps it in a SESSION MESSAGE: type
``00``, a flags byte whose bit 0 extends the 16-bit length to 17 bits [RFC1002 4.3.1, 4.3.6].
For messages below 64 KiB both framings are byte-identical.

Written by hand because it is four bytes; the value is in the cap: a reader must know the
length is sane *before* it allocates or waits for that many bytes.
"""

from __future__ import annotations

from smbsign.errors import ProtocolError

__all__ = [
    "DEFAULT_MAX_RESPONSE",
    "DIRECT_TCP_MAX",
    "NETBIOS_MAX",
    "NotSmbError",
    "frame",
    "frame_length",
]

DIRECT_TCP_MAX = 0xFFFFFF  # 24-bit length [MS-SMB2 2.1]
NETBIOS_MAX = 0x1FFFF  # 17-bit length with the E flag [RFC1002 4.3.1]
DEFAULT_MAX_RESPONSE = 65536  # cap for a NEGOTIATE response (docs/reference.md §5.8 step 2)


class NotSmbError(ProtocolError):
    """The peer's bytes are not SMB at all (wrong magic, not a session message, absurd length).

    A subclass of :class:`~smbsign.errors.ProtocolError` so callers that only care about
    "malformed" can catch the base class; the prober uses it to report ``not_smb`` rather than
    ``protocol_error`` (docs/reference.md §5.9).
    """


def frame(message: bytes, *, netbios: bool = False) -> bytes:
    """Prefix *message* with its 4-byte Direct-TCP or NetBIOS SESSION MESSAGE header.

    Raises ``ValueError`` (a programming error, not bad input) if the message cannot be framed.
    """
    size = len(message)
    limit = NETBIOS_MAX if netbios else DIRECT_TCP_MAX
    if size > limit:
        raise ValueError(f"message of {size} bytes exceeds the framing limit {limit}")
    # For NetBIOS byte 1 is the flags byte whose bit 0 is the 17th length bit: the same bits
    # as the 24-bit Direct-TCP length for any size <= NETBIOS_MAX.
    return bytes((0, (size >> 16) & 0xFF, (size >> 8) & 0xFF, size & 0xFF)) + message


def frame_length(
    header: bytes, *, max_length: int = DEFAULT_MAX_RESPONSE, netbios: bool = False
) -> int:
    """Return the length announced by a 4-byte frame header, refusing anything above the cap.

    Raises :class:`NotSmbError` when the header is not a session message (type byte != 0,
    reserved NetBIOS flag bits set) or announces more than *max_length* bytes.
    """
    if len(header) != 4:
        raise ProtocolError(f"frame header must be 4 bytes, got {len(header)}", where="framing")
    if header[0] != 0x00:
        raise NotSmbError(f"not a session message (type byte 0x{header[0]:02X})", where="framing")
    if netbios and header[1] & 0xFE:
        # RFC1002 4.3.1: only bit 0 (E, length extension) of the flags byte is defined.
        raise NotSmbError(f"reserved NetBIOS flag bits set (0x{header[1]:02X})", where="framing")
    length = int.from_bytes(header[1:4], "big")
    if length > max_length:
        raise NotSmbError(f"announced length {length} exceeds cap {max_length}", where="framing")
    return length

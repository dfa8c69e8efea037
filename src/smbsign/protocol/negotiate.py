"""Dispatch a NEGOTIATE response by ProtocolId (docs/reference.md §5.5, §5.6, §5.10).

A server may answer any of our requests with either dialect family (an SMB1 multi-protocol
negotiate gets an SMB2 reply from modern servers [MS-SMB2 3.3.5.3.1]), so the caller cannot
know in advance which parser applies.
"""

from __future__ import annotations

from smbsign.errors import ProtocolError
from smbsign.protocol import smb1, smb2
from smbsign.protocol.framing import NotSmbError

__all__ = ["NegotiateResponse", "parse_negotiate_response"]

NegotiateResponse = smb1.Smb1NegotiateResponse | smb2.Smb2NegotiateResponse


def parse_negotiate_response(msg: bytes) -> NegotiateResponse:
    """Parse one unframed message: FE 'SMB' -> SMB2, FF 'SMB' -> SMB1, else ``NotSmbError``.

    Raises only :class:`~smbsign.errors.ProtocolError` (``NotSmbError`` is a subclass).
    """
    try:
        data = bytes(msg)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"not a byte string: {type(msg).__name__}") from exc
    magic = data[:4]
    if magic == smb2.SMB2_MAGIC:
        return smb2.parse_negotiate_response(data)
    if magic == smb1.SMB1_MAGIC:
        return smb1.parse_negotiate_response(data)
    raise NotSmbError(f"not SMB (first bytes {data[:4].hex() or 'none'})", where="negotiate")

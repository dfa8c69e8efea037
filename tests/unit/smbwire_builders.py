"""Hand-built server responses for the protocol and prober tests.

Each builder lays out the bytes field by field from the reference.md §5.5 / §5.6 tables (not from
the code under test), so a parser bug cannot hide behind a matching builder bug. Defaults
reproduce what Samba 4.17.12 sends (docs/reference.md §4.6): SMB2 capabilities 0x0F for 3.1.1,
AES-128-GCM and AES-GMAC selected.
"""

from __future__ import annotations

import struct

from smbsign.errors import ProtocolError
from smbsign.protocol.negotiate import NegotiateResponse, parse_negotiate_response

SERVER_GUID = bytes.fromhex("00112233445566778899aabbccddeeff")
SECURITY_BLOB = bytes.fromhex("604806062b0601050502a03e303ca00e300c060a2b06010401823702020a")


def _align8(n: int) -> int:
    return (n + 7) & ~7


def smb2_header(*, status: int = 0, command: int = 0, structure_size: int = 64) -> bytes:
    """SMB2 sync header [MS-SMB2 2.2.1.2] as a server sends it (Flags 0x01 SERVER_TO_REDIR)."""
    return (
        b"\xfeSMB"
        + struct.pack("<HH", structure_size, 0)  # StructureSize, CreditCharge
        + struct.pack("<I", status)
        + struct.pack("<HH", command, 1)  # Command, CreditResponse
        + struct.pack("<II", 0x00000001, 0)  # Flags, NextCommand
        + struct.pack("<Q", 0)  # MessageId
        + struct.pack("<II", 0, 0)  # Reserved, TreeId
        + struct.pack("<Q", 0)  # SessionId
        + b"\x00" * 16
    )


def smb2_context(ctype: int, data: bytes) -> bytes:
    return struct.pack("<HHI", ctype, len(data), 0) + data


def smb2_negotiate_response(
    *,
    security_mode: int = 0x01,
    dialect: int = 0x0311,
    capabilities: int | None = None,
    contexts: list[bytes] | None = None,
    blob: bytes = SECURITY_BLOB,
    body_structure_size: int = 65,
) -> bytes:
    """SMB2 NEGOTIATE response [MS-SMB2 2.2.4], unframed.

    For 3.1.1 the default contexts are PREAUTH (SHA-512, 32-byte salt), ENCRYPTION
    (AES-128-GCM) and SIGNING (AES-GMAC).
    """
    if capabilities is None:
        capabilities = {0x0311: 0x0F, 0x02FF: 0x07}.get(dialect, 0x01)
    if contexts is None:
        contexts = (
            [
                smb2_context(0x0001, struct.pack("<HHH", 1, 32, 0x0001) + b"\x5a" * 32),
                smb2_context(0x0002, struct.pack("<HH", 1, 0x0002)),
                smb2_context(0x0008, struct.pack("<HH", 1, 0x0002)),
            ]
            if dialect == 0x0311
            else []
        )
    blob_offset = 128
    ctx_offset = _align8(blob_offset + len(blob)) if contexts else 0
    body = struct.pack(
        "<HHHH16sIIIIQQHHI",
        body_structure_size,
        security_mode,
        dialect,
        len(contexts),  # NegotiateContextCount (reserved unless 3.1.1)
        SERVER_GUID,
        capabilities,
        8 * 1024 * 1024,  # MaxTransactSize
        8 * 1024 * 1024,  # MaxReadSize
        8 * 1024 * 1024,  # MaxWriteSize
        0x01DA000000000000,  # SystemTime
        0,  # ServerStartTime
        blob_offset,
        len(blob),
        ctx_offset,
    )
    msg = bytearray(smb2_header() + body + blob)
    for ctx in contexts:
        msg += b"\x00" * (_align8(len(msg)) - len(msg))
        msg += ctx
    return bytes(msg)


def smb2_error_response(status: int) -> bytes:
    """SMB2 ERROR response to NEGOTIATE [MS-SMB2 2.2.2]: StructureSize 9, no data."""
    return smb2_header(status=status) + struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"


def smb1_header(*, status: int = 0, command: int = 0x72) -> bytes:
    """SMB1 header [MS-CIFS 2.2.3.1] of a reply (Flags 0x98, Flags2 0xC853)."""
    return (
        b"\xffSMB"
        + struct.pack("<BIBH", command, status, 0x98, 0xC853)
        + struct.pack("<H8sH", 0, b"\x00" * 8, 0)  # PIDHigh, SecurityFeatures, Reserved
        + struct.pack("<HHHH", 0xFFFF, 0xFEFF, 0, 0)  # TID, PIDLow, UID, MID
    )


def smb1_negotiate_response(
    *, security_mode: int = 0x03, capabilities: int = 0x8080F3FD, dialect_index: int = 0
) -> bytes:
    """SMB_COM_NEGOTIATE response, NT LM 0.12 with extended security [MS-CIFS 2.2.4.52.2,
    MS-SMB 2.2.4.5.2]: WordCount 17, ServerGUID + SecurityBlob in the data."""
    words = struct.pack(
        "<HBHHIIIIQhB",
        dialect_index,
        security_mode,
        50,  # MaxMpxCount
        1,  # MaxNumberVcs
        16644,  # MaxBufferSize
        65536,  # MaxRawSize
        0,  # SessionKey
        capabilities,
        0x01DA000000000000,  # SystemTime
        0,  # ServerTimeZone
        0,  # ChallengeLength
    )
    assert len(words) == 34
    data = SERVER_GUID + SECURITY_BLOB
    return smb1_header() + b"\x11" + words + struct.pack("<H", len(data)) + data


def smb1_no_dialect_response() -> bytes:
    """WordCount 1, DialectIndex 0xFFFF, ByteCount 0 (Samba without SMB1, reference.md §4.6)."""
    return smb1_header() + b"\x01" + struct.pack("<HH", 0xFFFF, 0)


def smb1_error_response(status: int) -> bytes:
    return smb1_header(status=status) + b"\x00" + struct.pack("<H", 0)


def framed(msg: bytes) -> bytes:
    """Direct-TCP framing [MS-SMB2 2.1], written independently of the code under test."""
    return struct.pack(">I", len(msg)) + msg


# ---------------------------------------------------------------- property-test helpers
def parse_or_none(data: bytes) -> NegotiateResponse | None:
    """Parse, turning ProtocolError into None; any other exception fails the test."""
    try:
        return parse_negotiate_response(data)
    except ProtocolError:
        return None


def mutated(sample: bytes, edits: list[tuple[int, int]]) -> bytes:
    buf = bytearray(sample)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf)


def parsed_truncations(sample: bytes) -> list[NegotiateResponse]:
    """Parse every proper prefix of *sample*; return the ones that still parsed."""
    return [r for cut in range(len(sample)) if (r := parse_or_none(sample[:cut])) is not None]

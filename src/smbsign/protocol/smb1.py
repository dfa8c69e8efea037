"""SMB1 (CIFS) NEGOTIATE request builder and response parser (docs/reference.md §5.6, §5.9).

Two requests: ``NT LM 0.12`` alone (47 bytes framed) to learn whether SMB1 is offered and its
signing state, and the multi-protocol form ``NT LM 0.12``, ``SMB 2.002``, ``SMB 2.???``
(69 bytes framed) that every stack answers in one round trip [MS-SMB2 3.3.5.3].
Written by hand: smbprotocol has no SMB1 and impacket only records SMB1 signing on its
extended-security path (reference.md §8). Signing state follows [MS-CIFS 3.2.4.2.2] exactly, with
bit tests on the byte (RunFinger's string comparison bug, docs/reference.md §8).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from smbsign.errors import ProtocolError
from smbsign.model import Smb1Signing
from smbsign.protocol.framing import NotSmbError

__all__ = [
    "MULTI_PROTOCOL_DIALECTS",
    "NO_COMMON_DIALECT",
    "NT_LM_012",
    "SMB1_MAGIC",
    "Smb1NegotiateResponse",
    "build_negotiate_request",
    "parse_negotiate_response",
    "signing_state",
]

SMB1_MAGIC = b"\xffSMB"  # Protocol [MS-CIFS 2.2.3.1]
COM_NEGOTIATE = 0x72  # [MS-CIFS 2.2.4.52]
HEADER_SIZE = 32
NT_LM_012 = "NT LM 0.12"
MULTI_PROTOCOL_DIALECTS: tuple[str, ...] = (NT_LM_012, "SMB 2.002", "SMB 2.???")
NO_COMMON_DIALECT = 0xFFFF  # DialectIndex when no dialect was accepted [MS-CIFS 2.2.4.52.2]

FLAGS = 0x18  # CASE_INSENSITIVE | CANONICALIZED_PATHS (docs/reference.md §5.6)
# UNICODE | NT_STATUS | EXTENDED_SECURITY | IS_LONG_NAME | EAS | LONG_NAMES; the signature
# bits 0x0004/0x0010 stay clear [MS-CIFS 2.2.3.1].
FLAGS2 = 0xC843
TID = 0xFFFF
PID_LOW = 0xFEFF

# SecurityMode bits [MS-CIFS 2.2.4.52.2]
NEGOTIATE_USER_SECURITY = 0x01
NEGOTIATE_ENCRYPT_PASSWORDS = 0x02
NEGOTIATE_SECURITY_SIGNATURES_ENABLED = 0x04
NEGOTIATE_SECURITY_SIGNATURES_REQUIRED = 0x08

_NT_LM_WORDS = 17  # WordCount of the NT LM 0.12 response [MS-CIFS 2.2.4.52.2]


def build_negotiate_request(dialects: Sequence[str] = (NT_LM_012,)) -> bytes:
    """Build an SMB_COM_NEGOTIATE request (unframed) [MS-CIFS 2.2.4.52.1].

    Header values as Windows sends them (docs/reference.md §5.6; MS-SMB2 4.2): Flags 0x18,
    Flags2 0xC843, TID 0xFFFF, PID 0xFEFF, no signature. Each dialect is ``02`` + ASCII + ``00``.
    Raises ``ValueError`` for an empty list or a dialect that is not printable ASCII.
    """
    if not dialects:
        raise ValueError("at least one dialect is required")
    parts = []
    for dialect in dialects:
        if not dialect or not all(0x20 <= ord(c) < 0x7F for c in dialect):
            raise ValueError(f"invalid SMB1 dialect string: {dialect!r}")
        parts.append(b"\x02" + dialect.encode("ascii") + b"\x00")
    data = b"".join(parts)
    if len(data) > 0xFFFF:
        raise ValueError("dialect list too long")
    header = struct.pack(
        "<4sBIBHH8sHHHHH",
        SMB1_MAGIC,
        COM_NEGOTIATE,
        0,  # Status
        FLAGS,
        FLAGS2,
        0,  # PIDHigh
        b"\x00" * 8,  # SecurityFeatures
        0,  # Reserved
        TID,
        PID_LOW,
        0,  # UID
        0,  # MID
    )
    return header + struct.pack("<BH", 0, len(data)) + data


def signing_state(security_mode: int) -> Smb1Signing:
    """Server signing state from SecurityMode, exactly as [MS-CIFS 3.2.4.2.2]:

    enabled only if ENCRYPT_PASSWORDS (0x02) *and* SIGNATURES_ENABLED (0x04) are set;
    required only if enabled *and* SIGNATURES_REQUIRED (0x08) is set. Bit tests, never equality.
    """
    challenge_response = bool(security_mode & NEGOTIATE_ENCRYPT_PASSWORDS)
    if not (challenge_response and security_mode & NEGOTIATE_SECURITY_SIGNATURES_ENABLED):
        return Smb1Signing.DISABLED
    if security_mode & NEGOTIATE_SECURITY_SIGNATURES_REQUIRED:
        return Smb1Signing.REQUIRED
    return Smb1Signing.ENABLED


@dataclass(frozen=True, slots=True)
class Smb1NegotiateResponse:
    """A parsed SMB_COM_NEGOTIATE response [MS-CIFS 2.2.4.52.2].

    ``dialect_index`` indexes the request's dialect list; 0xFFFF (WordCount 1) means no common
    dialect. ``security_mode``/``capabilities`` are present only for the WordCount-17 form.
    ``status`` is the header Status (non-zero: an error response, every other field None).
    """

    status: int
    word_count: int
    dialect_index: int | None = None
    security_mode: int | None = None
    capabilities: int | None = None
    max_buffer_size: int | None = None

    @property
    def accepted(self) -> bool:
        """True when the server selected a dialect and described itself (WordCount 17)."""
        return (
            self.status == 0
            and self.security_mode is not None
            and self.dialect_index not in (None, NO_COMMON_DIALECT)
        )

    @property
    def no_common_dialect(self) -> bool:
        return self.status == 0 and self.dialect_index == NO_COMMON_DIALECT

    @property
    def signing(self) -> Smb1Signing | None:
        return None if self.security_mode is None else signing_state(self.security_mode)


def _fail(message: str) -> ProtocolError:
    return ProtocolError(message, where="smb1 negotiate response")


def parse_negotiate_response(msg: bytes) -> Smb1NegotiateResponse:
    """Parse one unframed SMB1 message that must be an SMB_COM_NEGOTIATE response.

    Accepts WordCount 17 (NT LM 0.12 selected), WordCount 1 with DialectIndex 0xFFFF, and an
    error response (Status != 0). Anything else, or any count that does not fit the received
    bytes, raises :class:`~smbsign.errors.ProtocolError`.
    """
    if len(msg) < 4 or msg[:4] != SMB1_MAGIC:
        raise NotSmbError("Protocol is not FF 'SMB'", where="smb1 negotiate response")
    if len(msg) < HEADER_SIZE + 1:
        raise _fail(f"truncated header ({len(msg)} of {HEADER_SIZE + 1} bytes)")
    if msg[4] != COM_NEGOTIATE:
        raise _fail(f"command 0x{msg[4]:02X} is not NEGOTIATE")
    (status,) = struct.unpack_from("<I", msg, 5)
    word_count = msg[32]
    params_end = HEADER_SIZE + 1 + 2 * word_count
    if status != 0:
        # Error response: the status is the information; parameters are not interpreted.
        return Smb1NegotiateResponse(status=status, word_count=word_count)
    if params_end + 2 > len(msg):
        raise _fail(f"WordCount {word_count} does not fit {len(msg)} bytes")
    (byte_count,) = struct.unpack_from("<H", msg, params_end)
    if params_end + 2 + byte_count > len(msg):
        raise _fail(f"ByteCount {byte_count} exceeds the message")
    if word_count == 1:
        (index,) = struct.unpack_from("<H", msg, 33)
        if index != NO_COMMON_DIALECT:
            # WordCount 1 with a real index is the core-protocol form; we never offer it.
            raise _fail(f"WordCount 1 with DialectIndex {index}")
        return Smb1NegotiateResponse(status=0, word_count=1, dialect_index=index)
    if word_count != _NT_LM_WORDS:
        raise _fail(f"WordCount {word_count}, expected 17 or 1")
    index, security_mode = struct.unpack_from("<HB", msg, 33)
    (max_buffer,) = struct.unpack_from("<I", msg, 40)
    (capabilities,) = struct.unpack_from("<I", msg, 52)
    return Smb1NegotiateResponse(
        status=0,
        word_count=word_count,
        dialect_index=index,
        security_mode=security_mode,
        capabilities=capabilities,
        max_buffer_size=max_buffer,
    )

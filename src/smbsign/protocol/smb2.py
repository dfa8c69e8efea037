"""SMB2/3 NEGOTIATE request builder and response parser (docs/reference.md §5.3-5.5).

Written by hand, bytes only: the probe needs the server's raw SecurityMode and nothing else,
and the libraries that could build/parse it get the signing answer wrong or cannot be told
not to ask for signing (impacket forces "required" on every 3.1.1 server; smbprotocol defaults
to ``require_signing=True``; neither exposes the raw bits without a session; docs/reference.md §8).
Every offset and count read from a response is checked against the bytes received first
(docs/reference.md §5.10) and the parser raises only :class:`~smbsign.errors.ProtocolError`.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from smbsign.errors import ProtocolError
from smbsign.protocol.framing import NotSmbError

__all__ = [
    "DEFAULT_DIALECTS",
    "DIALECT_NAMES",
    "NETBIOS_DIALECTS",
    "SMB2_MAGIC",
    "Smb2NegotiateResponse",
    "build_negotiate_request",
    "parse_negotiate_response",
    "status_name",
]

SMB2_MAGIC = b"\xfeSMB"  # ProtocolId [MS-SMB2 2.2.1.2]
HEADER_SIZE = 64  # StructureSize of the sync header [MS-SMB2 2.2.1.2]
NEGOTIATE = 0x0000  # Command [MS-SMB2 2.2.1.2]
REQUEST_STRUCTURE_SIZE = 36  # regardless of dialect/context count [MS-SMB2 2.2.3]
RESPONSE_STRUCTURE_SIZE = 65  # [MS-SMB2 2.2.4]
RESPONSE_FIXED = HEADER_SIZE + 64  # header + fixed part of the NEGOTIATE response body

SECURITY_MODE_SIGNING_ENABLED = 0x0001  # [MS-SMB2 2.2.3 / 2.2.4]
SECURITY_MODE_SIGNING_REQUIRED = 0x0002

DIALECT_WILDCARD = 0x02FF  # answer to an SMB1 "SMB 2.???" negotiate [MS-SMB2 3.3.5.3.1]
DIALECT_NAMES: dict[int, str] = {
    0x0202: "2.0.2",
    0x0210: "2.1",
    0x0300: "3.0",
    0x0302: "3.0.2",
    0x0311: "3.1.1",
    DIALECT_WILDCARD: "2.???",
}
DEFAULT_DIALECTS: tuple[int, ...] = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)  # reference.md §5.4
# Port 139: NetBIOS transport is defined for 2.0.2-3.0.2 only [MS-SMB2 2.1] (reference.md §5.1).
NETBIOS_DIALECTS: tuple[int, ...] = (0x0202, 0x0210, 0x0300, 0x0302)
DEFAULT_CAPABILITIES = 0x7F  # SMB2_GLOBAL_CAP_* 0x01-0x40; no effect on SecurityMode (5.4)

# Negotiate context types [MS-SMB2 2.2.3.1].
PREAUTH_INTEGRITY_CAPABILITIES = 0x0001
ENCRYPTION_CAPABILITIES = 0x0002
SIGNING_CAPABILITIES = 0x0008

HASH_NAMES = {0x0001: "SHA-512"}  # [MS-SMB2 2.2.3.1.1]
CIPHER_NAMES = {  # [MS-SMB2 2.2.3.1.2]
    0x0001: "AES-128-CCM",
    0x0002: "AES-128-GCM",
    0x0003: "AES-256-CCM",
    0x0004: "AES-256-GCM",
}
SIGNING_NAMES = {0x0000: "HMAC-SHA256", 0x0001: "AES-CMAC", 0x0002: "AES-GMAC"}  # 2.2.3.1.7

OFFERED_CIPHERS = (0x0002, 0x0001)  # AES-128-GCM, AES-128-CCM (docs/reference.md §5.4)
OFFERED_SIGNING = (0x0002, 0x0001, 0x0000)  # AES-GMAC, AES-CMAC, HMAC-SHA256

# NTSTATUS values worth naming in a reason [MS-ERREF 2.3.1]; docs/reference.md §5.5.
_STATUS_NAMES = {
    0x00000000: "STATUS_SUCCESS",
    0xC000000D: "STATUS_INVALID_PARAMETER",
    0xC00000BB: "STATUS_NOT_SUPPORTED",
    0xC0000022: "STATUS_ACCESS_DENIED",
    0xC0000002: "STATUS_NOT_IMPLEMENTED",
    0xC0000016: "STATUS_MORE_PROCESSING_REQUIRED",
    0xC00000CC: "STATUS_BAD_NETWORK_NAME",
    0xC000009A: "STATUS_INSUFFICIENT_RESOURCES",
    0xC0000205: "STATUS_INSUFF_SERVER_RESOURCES",
}


def status_name(status: int) -> str:
    """Symbolic name of an NTSTATUS, or its hex form."""
    return _STATUS_NAMES.get(status, f"0x{status:08X}")


def _align8(value: int) -> int:
    return (value + 7) & ~7


def _context(ctype: int, data: bytes) -> bytes:
    # ContextType(2) DataLength(2) Reserved(4) Data [MS-SMB2 2.2.3.1]
    return struct.pack("<HHI", ctype, len(data), 0) + data


def _negotiate_contexts(salt: bytes) -> list[bytes]:
    preauth = struct.pack("<HHH", 1, len(salt), 0x0001) + salt  # [MS-SMB2 2.2.3.1.1]
    ciphers = struct.pack("<H", len(OFFERED_CIPHERS)) + b"".join(
        struct.pack("<H", c) for c in OFFERED_CIPHERS
    )  # [MS-SMB2 2.2.3.1.2]
    signing = struct.pack("<H", len(OFFERED_SIGNING)) + b"".join(
        struct.pack("<H", s) for s in OFFERED_SIGNING
    )  # [MS-SMB2 2.2.3.1.7]
    return [
        _context(PREAUTH_INTEGRITY_CAPABILITIES, preauth),
        _context(ENCRYPTION_CAPABILITIES, ciphers),
        _context(SIGNING_CAPABILITIES, signing),
    ]


def build_negotiate_request(
    *,
    client_guid: bytes,
    salt: bytes | None = None,
    dialects: Sequence[int] = DEFAULT_DIALECTS,
    contexts: bool = True,
    message_id: int = 0,
    capabilities: int = DEFAULT_CAPABILITIES,
) -> bytes:
    """Build an SMB2 NEGOTIATE request (unframed) [MS-SMB2 2.2.1.2, 2.2.3].

    SecurityMode is always 0x0001 (signing enabled, never required: a passive probe) and the
    header never has SMB2_FLAGS_SIGNED [MS-SMB2 3.3.5.2.4]. With 3.1.1 among *dialects* and
    *contexts* true, PREAUTH_INTEGRITY (SHA-512, *salt*), ENCRYPTION and SIGNING contexts are
    appended, each 8-byte aligned (docs/reference.md §5.4: 192 bytes for the default request).
    Raises ``ValueError`` for inconsistent arguments (3.1.1 requires the PREAUTH context
    [MS-SMB2 3.3.5.4]).
    """
    if len(client_guid) != 16:
        raise ValueError("client_guid must be 16 bytes")
    if not dialects or len(dialects) > 0xFFFF:
        raise ValueError("at least one dialect is required")
    wants_311 = 0x0311 in dialects
    if wants_311 and not contexts:
        raise ValueError("offering 3.1.1 requires negotiate contexts (PREAUTH_INTEGRITY)")
    if wants_311 and (salt is None or len(salt) != 32):
        raise ValueError("a 32-byte preauth salt is required when offering 3.1.1")

    header = struct.pack(
        "<4sHHIHHIIQIIQ16s",
        SMB2_MAGIC,
        HEADER_SIZE,
        0,  # CreditCharge
        0,  # ChannelSequence/Reserved (request)
        NEGOTIATE,
        1,  # CreditRequest
        0,  # Flags: never SIGNED on NEGOTIATE
        0,  # NextCommand
        message_id,
        0,  # Reserved (ProcessId)
        0,  # TreeId
        0,  # SessionId
        b"\x00" * 16,  # Signature
    )
    dialect_bytes = b"".join(struct.pack("<H", d) for d in dialects)
    ctx_list = _negotiate_contexts(salt or b"") if wants_311 else []
    ctx_offset = _align8(HEADER_SIZE + REQUEST_STRUCTURE_SIZE + len(dialect_bytes))
    body = struct.pack(
        "<HHHHI16sIHH",
        REQUEST_STRUCTURE_SIZE,
        len(dialects),
        SECURITY_MODE_SIGNING_ENABLED,
        0,  # Reserved
        capabilities,
        client_guid,
        ctx_offset if ctx_list else 0,  # NegotiateContextOffset (or ClientStartTime = 0)
        len(ctx_list),
        0,  # Reserved2
    )
    message = bytearray(header + body + dialect_bytes)
    for ctx in ctx_list:  # each context starts 8-byte aligned; no padding after the last
        message += b"\x00" * (_align8(len(message)) - len(message))
        message += ctx
    return bytes(message)


@dataclass(frozen=True, slots=True)
class Smb2NegotiateResponse:
    """A parsed SMB2 NEGOTIATE response [MS-SMB2 2.2.4].

    ``status`` is the header Status. When it is not 0 the body is an error response and every
    other field is None: the server did not say anything about signing.
    """

    status: int
    security_mode: int | None = None
    dialect_revision: int | None = None
    dialect: str | None = None
    capabilities: int | None = None
    server_guid: str | None = None
    cipher: str | None = None
    signing_algorithm: str | None = None
    preauth_hash: str | None = None
    context_types: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == 0 and self.security_mode is not None

    @property
    def signing_required(self) -> bool | None:
        """Bit 0x0002 is the only one that carries information [MS-SMB2 3.3.5.4]."""
        if self.security_mode is None:
            return None
        return bool(self.security_mode & SECURITY_MODE_SIGNING_REQUIRED)


def _u16(msg: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", msg, off)[0])


def _u32(msg: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", msg, off)[0])


def _fail(message: str) -> ProtocolError:
    return ProtocolError(message, where="smb2 negotiate response")


def _first_id(data: bytes, what: str) -> int:
    """First 16-bit id of a ``Count(2) [Reserved/len...] ids`` context payload."""
    if len(data) < 4:
        raise _fail(f"{what} context too short ({len(data)} bytes)")
    count = _u16(data, 0)
    if count < 1 or 2 + 2 * count > len(data):
        raise _fail(f"{what} context count {count} does not fit {len(data)} bytes")
    return _u16(data, 2)


def _parse_contexts(
    msg: bytes, offset: int, count: int
) -> tuple[tuple[int, ...], str | None, str | None, str | None]:
    """Walk the negotiate context list [MS-SMB2 2.2.4, 2.2.3.1]; return types, hash, cipher,
    signing algorithm (first of each kind)."""
    if offset < RESPONSE_FIXED or offset % 8:
        raise _fail(f"NegotiateContextOffset {offset} invalid")
    types: list[int] = []
    hash_name = cipher = signing = None
    pos = offset
    for index in range(count):
        if index:
            pos = _align8(pos)
        if pos + 8 > len(msg):
            raise _fail(f"negotiate context {index} at {pos} beyond {len(msg)} bytes")
        ctype, dlen = struct.unpack_from("<HH", msg, pos)
        data_start = pos + 8
        if data_start + dlen > len(msg):
            raise _fail(f"negotiate context {index} data ({dlen} bytes) beyond message end")
        data = msg[data_start : data_start + dlen]
        types.append(ctype)
        if ctype == PREAUTH_INTEGRITY_CAPABILITIES and hash_name is None:
            # HashAlgorithmCount(2) SaltLength(2) HashAlgorithms[] Salt [2.2.3.1.1]
            if len(data) < 6:
                raise _fail("PREAUTH_INTEGRITY context too short")
            hcount, salt_len = struct.unpack_from("<HH", data, 0)
            if hcount < 1 or 4 + 2 * hcount + salt_len > len(data):
                raise _fail("PREAUTH_INTEGRITY counts exceed the context data")
            hid = _u16(data, 4)
            hash_name = HASH_NAMES.get(hid, f"0x{hid:04X}")
        elif ctype == ENCRYPTION_CAPABILITIES and cipher is None:
            cid = _first_id(data, "ENCRYPTION")
            # Cipher 0 = no common cipher [MS-SMB2 3.3.5.4]
            cipher = CIPHER_NAMES.get(cid, f"0x{cid:04X}") if cid else "none"
        elif ctype == SIGNING_CAPABILITIES and signing is None:
            sid = _first_id(data, "SIGNING")
            signing = SIGNING_NAMES.get(sid, f"0x{sid:04X}")
        pos = data_start + dlen
    return tuple(types), hash_name, cipher, signing


def parse_negotiate_response(msg: bytes) -> Smb2NegotiateResponse:
    """Parse one unframed SMB2 message that must be a NEGOTIATE response [MS-SMB2 2.2.4].

    Validation order follows docs/reference.md §5.10: header length, ProtocolId, StructureSize 64,
    Command, Status, body StructureSize 65, then every offset/count against ``len(msg)``.
    """
    if len(msg) < 4 or msg[:4] != SMB2_MAGIC:
        raise NotSmbError("ProtocolId is not FE 'SMB'", where="smb2 negotiate response")
    if len(msg) < HEADER_SIZE:
        raise _fail(f"truncated header ({len(msg)} of {HEADER_SIZE} bytes)")
    if _u16(msg, 4) != HEADER_SIZE:
        raise _fail(f"header StructureSize {_u16(msg, 4)}, expected 64")
    command = _u16(msg, 12)
    if command != NEGOTIATE:
        raise _fail(f"command 0x{command:04X} is not NEGOTIATE")
    status = _u32(msg, 8)
    if status != 0:
        return Smb2NegotiateResponse(status=status)
    if len(msg) < RESPONSE_FIXED:
        raise _fail(f"truncated body ({len(msg)} of {RESPONSE_FIXED} bytes)")
    structure_size, security_mode, revision, ctx_count = struct.unpack_from("<HHHH", msg, 64)
    if structure_size != RESPONSE_STRUCTURE_SIZE:
        raise _fail(f"body StructureSize {structure_size}, expected 65")
    dialect = DIALECT_NAMES.get(revision)
    if dialect is None:
        raise _fail(f"unknown DialectRevision 0x{revision:04X}")
    guid = str(uuid.UUID(bytes_le=msg[72:88]))
    capabilities = _u32(msg, 88)
    sec_off, sec_len = struct.unpack_from("<HH", msg, 120)
    if sec_len and (sec_off < RESPONSE_FIXED or sec_off + sec_len > len(msg)):
        raise _fail(f"security buffer {sec_off}+{sec_len} outside {len(msg)} bytes")
    types: tuple[int, ...] = ()
    hash_name = cipher = signing = None
    if revision == 0x0311 and ctx_count:
        types, hash_name, cipher, signing = _parse_contexts(msg, _u32(msg, 124), ctx_count)
    return Smb2NegotiateResponse(
        status=0,
        security_mode=security_mode,
        dialect_revision=revision,
        dialect=dialect,
        capabilities=capabilities,
        server_guid=guid,
        cipher=cipher,
        signing_algorithm=signing,
        preauth_hash=hash_name,
        context_types=types,
    )

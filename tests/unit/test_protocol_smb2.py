"""SMB2 NEGOTIATE codec: golden request bytes (reference.md §5.3/§5.4), response parsing for every
SecurityMode of reference.md §4.6, and robustness (reference.md §5.10: only ProtocolError, ever)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smbwire_builders import (
    framed,
    mutated,
    parse_or_none,
    parsed_truncations,
    smb2_context,
    smb2_error_response,
    smb2_negotiate_response,
)

from smbsign.errors import ProtocolError
from smbsign.protocol import smb2
from smbsign.protocol.framing import NotSmbError, frame, frame_length
from smbsign.protocol.negotiate import parse_negotiate_response

GUID = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
SALT = bytes(range(0x20, 0x40))

# docs/reference.md §5.3 (header) + 5.4 (body, contexts), written out field by field.
GOLDEN_REQUEST = bytes.fromhex(
    "000000c0"  # Direct-TCP prefix: 192 bytes [MS-SMB2 2.1]
    # --- SMB2 header [MS-SMB2 2.2.1.2]
    "fe534d42"  # ProtocolId
    "4000"  # StructureSize 64
    "0000"  # CreditCharge
    "00000000"  # ChannelSequence/Reserved
    "0000"  # Command NEGOTIATE
    "0100"  # CreditRequest 1
    "00000000"  # Flags (never SIGNED)
    "00000000"  # NextCommand
    "0000000000000000"  # MessageId 0
    "00000000"  # Reserved
    "00000000"  # TreeId
    "0000000000000000"  # SessionId
    "00000000000000000000000000000000"  # Signature
    # --- NEGOTIATE request [MS-SMB2 2.2.3], offset 64
    "2400"  # StructureSize 36
    "0500"  # DialectCount 5
    "0100"  # SecurityMode ENABLED only
    "0000"  # Reserved
    "7f000000"  # Capabilities
    "0102030405060708090a0b0c0d0e0f10"  # ClientGuid
    "70000000"  # NegotiateContextOffset 112
    "0300"  # NegotiateContextCount 3
    "0000"  # Reserved2
    "0202 1002 0003 0203 1103"  # Dialects at 100
    "0000"  # pad to 112
    # PREAUTH_INTEGRITY at 112 [2.2.3.1.1]: type 1, len 38
    "0100 2600 00000000 0100 2000 0100"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "0000"  # pad to 160
    # ENCRYPTION at 160 [2.2.3.1.2]: type 2, len 6, AES-128-GCM, AES-128-CCM
    "0200 0600 00000000 0200 0200 0100"
    "0000"  # pad to 176
    # SIGNING at 176 [2.2.3.1.7]: type 8, len 8, AES-GMAC, AES-CMAC, HMAC-SHA256
    "0800 0800 00000000 0300 0200 0100 0000"
)


def test_golden_negotiate_request_matches_domain_5_4() -> None:
    msg = smb2.build_negotiate_request(client_guid=GUID, salt=SALT)
    assert len(msg) == 192
    assert frame(msg) == GOLDEN_REQUEST
    # Context offsets 112 / 160 / 176 (docs/reference.md §5.4 worked sizes).
    assert struct.unpack_from("<HH", msg, 112) == (0x0001, 38)
    assert struct.unpack_from("<HH", msg, 160) == (0x0002, 6)
    assert struct.unpack_from("<HH", msg, 176) == (0x0008, 8)


def test_netbios_form_without_contexts() -> None:
    """Port 139: 2.0.2-3.0.2 without contexts (reference.md §5.1); bytes 92-99 =
    ClientStartTime 0."""
    msg = smb2.build_negotiate_request(
        client_guid=GUID, dialects=smb2.NETBIOS_DIALECTS, contexts=False
    )
    assert len(msg) == 64 + 36 + 8
    assert msg[64:68] == bytes.fromhex("2400 0400".replace(" ", ""))
    assert msg[92:100] == b"\x00" * 8
    assert msg[100:] == bytes.fromhex("0202100200030203")


def test_message_id_and_dialect_subset() -> None:
    msg = smb2.build_negotiate_request(client_guid=GUID, dialects=(0x0202,), message_id=1)
    assert struct.unpack_from("<Q", msg, 24) == (1,)
    assert msg[100:102] == b"\x02\x02"
    assert len(msg) == 102


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_guid": b"short", "salt": SALT},
        {"client_guid": GUID, "salt": None},  # 3.1.1 without a salt
        {"client_guid": GUID, "salt": SALT, "contexts": False},  # 3.1.1 without PREAUTH
        {"client_guid": GUID, "dialects": ()},
    ],
)
def test_builder_rejects_inconsistent_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        smb2.build_negotiate_request(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ response parsing
@pytest.mark.parametrize(
    ("security_mode", "dialect", "name", "required"),
    [
        (0x01, 0x0311, "3.1.1", False),  # Samba default / disabled / auto (docs/reference.md §4.6)
        (0x03, 0x0311, "3.1.1", True),  # mandatory / AD DC default
        (0x01, 0x0202, "2.0.2", False),  # `SMB 2.002` without `SMB 2.???`
        (0x03, 0x0202, "2.0.2", True),
        (0x01, 0x02FF, "2.???", False),  # multi-protocol answer
        (0x03, 0x02FF, "2.???", True),
        (0x00, 0x0300, "3.0", False),  # non-conformant: signing not offered (5.9)
        (0x02, 0x0302, "3.0.2", True),  # non-conformant: REQUIRED without ENABLED
        (0x01, 0x0210, "2.1", False),
    ],
)
def test_parse_security_mode_rows(
    security_mode: int, dialect: int, name: str, required: bool
) -> None:
    resp = smb2.parse_negotiate_response(
        smb2_negotiate_response(security_mode=security_mode, dialect=dialect)
    )
    assert resp.ok
    assert resp.status == 0
    assert resp.security_mode == security_mode
    assert resp.dialect_revision == dialect
    assert resp.dialect == name
    assert resp.signing_required is required
    assert resp.server_guid == "33221100-5544-7766-8899-aabbccddeeff"


def test_parse_311_contexts_telemetry() -> None:
    resp = smb2.parse_negotiate_response(smb2_negotiate_response(security_mode=0x03))
    assert resp.capabilities == 0x0F
    assert resp.preauth_hash == "SHA-512"
    assert resp.cipher == "AES-128-GCM"
    assert resp.signing_algorithm == "AES-GMAC"
    assert resp.context_types == (1, 2, 8)


def test_contexts_ignored_below_311_and_absent_when_not_sent() -> None:
    resp = smb2.parse_negotiate_response(smb2_negotiate_response(dialect=0x0302))
    assert (resp.cipher, resp.signing_algorithm, resp.preauth_hash) == (None, None, None)
    only_preauth = [smb2_context(1, struct.pack("<HHH", 1, 32, 1) + b"\x00" * 32)]
    resp = smb2.parse_negotiate_response(smb2_negotiate_response(contexts=only_preauth))
    assert (resp.cipher, resp.signing_algorithm, resp.preauth_hash) == (None, None, "SHA-512")


def test_no_common_cipher_and_unknown_ids() -> None:
    contexts = [
        smb2_context(1, struct.pack("<HHH", 1, 0, 0x0009)),
        smb2_context(2, struct.pack("<HH", 1, 0)),
        smb2_context(8, struct.pack("<HH", 1, 0x0007)),
        smb2_context(0x0099, b"xyz"),
    ]
    resp = smb2.parse_negotiate_response(smb2_negotiate_response(contexts=contexts))
    assert (resp.preauth_hash, resp.cipher, resp.signing_algorithm) == ("0x0009", "none", "0x0007")
    assert resp.context_types == (1, 2, 8, 0x99)


@pytest.mark.parametrize(
    "status", [0xC00000BB, 0xC000000D]
)  # NOT_SUPPORTED, INVALID_PARAMETER (docs/reference.md §4.6/§5.5)
def test_error_status_is_a_value(status: int) -> None:
    resp = parse_negotiate_response(smb2_error_response(status))
    assert isinstance(resp, smb2.Smb2NegotiateResponse)
    assert resp.status == status
    assert not resp.ok
    assert resp.security_mode is None
    assert resp.signing_required is None


def test_status_names() -> None:
    assert smb2.status_name(0xC00000BB) == "STATUS_NOT_SUPPORTED"
    assert smb2.status_name(0xC000000D) == "STATUS_INVALID_PARAMETER"
    assert smb2.status_name(0xC0DEC0DE) == "0xC0DEC0DE"


def _patched(msg: bytes, offset: int, fmt: str, value: int) -> bytes:
    buf = bytearray(msg)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


VALID = smb2_negotiate_response(security_mode=0x03)


@pytest.mark.parametrize(
    ("msg", "message"),
    [
        (_patched(VALID, 4, "<H", 65), "header StructureSize"),
        (_patched(VALID, 12, "<H", 1), "not NEGOTIATE"),
        (_patched(VALID, 64, "<H", 36), "body StructureSize"),
        (_patched(VALID, 68, "<H", 0x0312), "DialectRevision"),
        (_patched(VALID, 122, "<H", 0xFFFF), "security buffer"),
        (_patched(VALID, 120, "<H", 10), "security buffer"),
        (_patched(VALID, 124, "<I", 0xFFFFFFF8), "negotiate context"),
        (_patched(VALID, 124, "<I", 129), "NegotiateContextOffset"),
        (_patched(VALID, 70, "<H", 60000), "negotiate context"),
        (VALID[:63], "truncated header"),
        (VALID[:127], "truncated body"),
    ],
)
def test_malformed_responses_raise_protocol_error(msg: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        smb2.parse_negotiate_response(msg)


def test_dispatcher_rejects_non_smb() -> None:
    for data in (b"", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x00SMB" + VALID[4:]):
        with pytest.raises(NotSmbError, match="not SMB"):
            parse_negotiate_response(data)


def test_framing_cap_and_netbios_flags() -> None:
    assert frame_length(framed(VALID)[:4]) == len(VALID)
    with pytest.raises(NotSmbError, match="exceeds cap"):
        frame_length(b"\x00\xff\xff\xff")
    with pytest.raises(NotSmbError, match="exceeds cap"):
        frame_length(b"\x00\x00\x10\x01", max_length=4096)
    with pytest.raises(NotSmbError, match="type byte"):
        frame_length(b"HTTP")
    with pytest.raises(NotSmbError, match="reserved NetBIOS flag"):
        frame_length(b"\x00\x02\x00\x10", netbios=True)
    assert frame_length(b"\x00\x01\x00\x00", netbios=True, max_length=0x1FFFF) == 0x10000
    with pytest.raises(ProtocolError):
        frame_length(b"\x00\x00")


# ------------------------------------------------------------------ properties
VALID_SAMPLES = [
    smb2_negotiate_response(security_mode=0x03),
    smb2_negotiate_response(dialect=0x02FF),
    smb2_negotiate_response(dialect=0x0202, blob=b""),
    smb2_error_response(0xC00000BB),
]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_protocol_error(data: bytes) -> None:
    parse_or_none(data)
    parse_or_none(b"\xfeSMB" + data)


@pytest.mark.parametrize("sample", VALID_SAMPLES)
def test_every_truncation_only_protocol_error(sample: bytes) -> None:
    full = parse_negotiate_response(sample)
    for partial in parsed_truncations(sample):
        # A truncation may still parse only when nothing the parser reads was cut off
        # (the uninterpreted body of an error response).
        assert isinstance(partial, smb2.Smb2NegotiateResponse)
        assert partial.status == full.status != 0


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(VALID_SAMPLES),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_random_mutations_only_protocol_error(sample: bytes, edits: list[tuple[int, int]]) -> None:
    data = mutated(sample, edits)
    resp = parse_or_none(data)
    if isinstance(resp, smb2.Smb2NegotiateResponse) and resp.ok:
        assert resp.security_mode == struct.unpack_from("<H", data, 66)[0]
        assert resp.dialect in smb2.DIALECT_NAMES.values()

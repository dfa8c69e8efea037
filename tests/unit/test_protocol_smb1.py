"""SMB1 NEGOTIATE codec: golden requests (reference.md §5.6), SecurityMode mapping with the exact
MS-CIFS 3.2.4.2.2 rules (reference.md §2.1, §5.9), the rows of reference.md §4.6, and robustness."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smbwire_builders import (
    mutated,
    parse_or_none,
    parsed_truncations,
    smb1_error_response,
    smb1_negotiate_response,
    smb1_no_dialect_response,
)

from smbsign.errors import ProtocolError
from smbsign.model import Smb1Signing
from smbsign.protocol import smb1
from smbsign.protocol.framing import frame
from smbsign.protocol.negotiate import parse_negotiate_response

# docs/reference.md §5.6 header table, then WordCount/ByteCount/dialects.
_HEADER = (
    "ff534d42"  # Protocol
    "72"  # Command NEGOTIATE
    "00000000"  # Status
    "18"  # Flags
    "43c8"  # Flags2 0xC843
    "0000"  # PIDHigh
    "0000000000000000"  # SecurityFeatures
    "0000"  # Reserved
    "ffff"  # TID
    "fffe"  # PIDLow 0xFEFF
    "0000"  # UID
    "0000"  # MID
)
GOLDEN_MULTI = bytes.fromhex(
    "00000045"  # 69 bytes
    + _HEADER
    + "00"  # WordCount 0
    + "2200"  # ByteCount 34
    + (b"\x02NT LM 0.12\x00" + b"\x02SMB 2.002\x00" + b"\x02SMB 2.???\x00").hex()
)
GOLDEN_NTLM_ONLY = bytes.fromhex(
    "0000002f"  # 47 bytes
    + _HEADER
    + "00"
    + "0c00"  # ByteCount 12
    + b"\x02NT LM 0.12\x00".hex()
)


def test_golden_multi_protocol_request() -> None:
    msg = smb1.build_negotiate_request(smb1.MULTI_PROTOCOL_DIALECTS)
    assert len(msg) == 69
    assert frame(msg) == GOLDEN_MULTI


def test_golden_nt_lm_only_request() -> None:
    msg = smb1.build_negotiate_request()
    assert len(msg) == 47
    assert frame(msg) == GOLDEN_NTLM_ONLY


def test_builder_rejects_bad_dialects() -> None:
    with pytest.raises(ValueError):
        smb1.build_negotiate_request(())
    with pytest.raises(ValueError):
        smb1.build_negotiate_request(("NT LM\x000.12",))


@pytest.mark.parametrize(
    ("mode", "state"),
    [
        (0x03, Smb1Signing.DISABLED),  # Samba NT1 default: no signing bits (docs/reference.md §4.6)
        (0x07, Smb1Signing.ENABLED),  # NT1 + auto/desired
        (0x0F, Smb1Signing.REQUIRED),  # NT1 + mandatory, AD DC + NT1
        (0x0B, Smb1Signing.DISABLED),  # 0x08 without 0x04 is not "required" [MS-CIFS 3.2.4.2.2]
        (0x0D, Smb1Signing.DISABLED),  # 0x04 without 0x02 (no challenge/response) is not enabled
        (0x05, Smb1Signing.DISABLED),
        (0x0C, Smb1Signing.DISABLED),
        (0x06, Smb1Signing.ENABLED),  # share-level security does not matter for signing
        (0x0E, Smb1Signing.REQUIRED),
        (0xFF, Smb1Signing.REQUIRED),  # bit tests: reserved high bits do not hide the answer
        (0xF7, Smb1Signing.ENABLED),
        (0x00, Smb1Signing.DISABLED),
    ],
)
def test_signing_state_bit_rules(mode: int, state: Smb1Signing) -> None:
    assert smb1.signing_state(mode) is state


@pytest.mark.parametrize(
    ("mode", "caps", "state"),
    [
        (0x03, 0x8080F3FD, Smb1Signing.DISABLED),
        (0x07, 0x8080F3FC, Smb1Signing.ENABLED),
        (0x0F, 0x8080F3FC, Smb1Signing.REQUIRED),
    ],
)
def test_parse_word_count_17(mode: int, caps: int, state: Smb1Signing) -> None:
    resp = parse_negotiate_response(smb1_negotiate_response(security_mode=mode, capabilities=caps))
    assert isinstance(resp, smb1.Smb1NegotiateResponse)
    assert resp.accepted
    assert not resp.no_common_dialect
    assert (resp.status, resp.word_count, resp.dialect_index) == (0, 17, 0)
    assert resp.security_mode == mode
    assert resp.capabilities == caps
    assert resp.signing is state
    assert resp.max_buffer_size == 16644


def test_parse_no_common_dialect() -> None:
    """Samba >= 4.11 default answers `NT LM 0.12` alone with DialectIndex 0xFFFF (4.6)."""
    resp = parse_negotiate_response(smb1_no_dialect_response())
    assert isinstance(resp, smb1.Smb1NegotiateResponse)
    assert resp.no_common_dialect
    assert not resp.accepted
    assert resp.dialect_index == 0xFFFF
    assert resp.signing is None


def test_parse_error_status() -> None:
    resp = parse_negotiate_response(smb1_error_response(0xC0000002))
    assert isinstance(resp, smb1.Smb1NegotiateResponse)
    assert resp.status == 0xC0000002
    assert not resp.accepted
    assert resp.signing is None


def _with(msg: bytes, offset: int, fmt: str, value: int) -> bytes:
    buf = bytearray(msg)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


VALID = smb1_negotiate_response(security_mode=0x0F)


@pytest.mark.parametrize(
    ("msg", "message"),
    [
        (_with(VALID, 4, "<B", 0x73), "not NEGOTIATE"),
        (_with(VALID, 32, "<B", 13), "WordCount 13"),  # LANMAN form: never offered
        (_with(VALID, 32, "<B", 0), "WordCount 0"),
        (_with(VALID, 32, "<B", 255), "does not fit"),
        (_with(VALID, 67, "<H", 0xFFFF), "ByteCount"),
        (_with(smb1_no_dialect_response(), 33, "<H", 3), "DialectIndex 3"),
        (VALID[:32], "truncated header"),
        (VALID[:60], "does not fit"),
    ],
)
def test_malformed(msg: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        smb1.parse_negotiate_response(msg)


SAMPLES = [VALID, smb1_no_dialect_response(), smb1_error_response(0xC0000022)]


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_truncation(sample: bytes) -> None:
    full = parse_negotiate_response(sample)
    for partial in parsed_truncations(sample):
        # Only an error response may lose its (uninterpreted) tail and still parse.
        assert isinstance(partial, smb1.Smb1NegotiateResponse)
        assert partial.status == full.status != 0


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    for candidate in (data, b"\xffSMB" + data, b"\xffSMBr" + data):
        parse_or_none(candidate)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_random_mutations(sample: bytes, edits: list[tuple[int, int]]) -> None:
    data = mutated(sample, edits)
    resp = parse_or_none(data)
    if isinstance(resp, smb1.Smb1NegotiateResponse) and resp.accepted:
        assert resp.security_mode == data[35]
        assert resp.signing is smb1.signing_state(data[35])

"""Parse real Samba 4.17.12 replies to smbsign's own requests (recorded, docs/reference.md §4.6).

The data in ``tests/fixtures/protocol/samba-negotiate.json`` was recorded from Debian's
smbd 4.17.12 on 127.0.0.1 by ``tests/fixtures/protocol/record_samba.py`` (re-run it to refresh).
That Samba answered our 192-byte request at all (no STATUS_INVALID_PARAMETER) is the
cross-check of the request builder; the table below is docs/reference.md §4.6 row by row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smbsign.model import Smb1Signing
from smbsign.protocol import smb1, smb2
from smbsign.protocol.framing import frame_length
from smbsign.protocol.negotiate import parse_negotiate_response

DATA = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "protocol" / "samba-negotiate.json").read_text()
)

# config: (native SMB2 SecurityMode, NT LM 0.12-only answer, multi-protocol answer)
# answers: int = SMB1 SecurityMode (DialectIndex 0), "FFFF", "eof", ("smb2", dialect, mode)
EXPECTED = {
    "standalone_default": (0x01, "FFFF", ("2.???", 0x01)),
    "mandatory": (0x03, "FFFF", ("2.???", 0x03)),
    "nt1_default": (0x01, 0x03, ("2.???", 0x01)),
    "nt1_auto": (0x01, 0x07, ("2.???", 0x01)),
    "nt1_mandatory": (0x03, 0x0F, ("2.???", 0x03)),
    "nt1_only": ("eof", 0x03, 0x03),
    "nt1_only_auto": ("eof", 0x07, 0x07),
    "smb3_11_only": (0x01, "FFFF", ("2.???", 0x01)),
}


def _reply(config: str, request: str) -> smb1.Smb1NegotiateResponse | smb2.Smb2NegotiateResponse:
    rec = DATA[config][request]
    assert rec["outcome"] == "reply", rec
    raw = bytes.fromhex(rec["hex"])
    assert frame_length(raw[:4]) == len(raw) - 4
    return parse_negotiate_response(raw[4:])


def test_recorded_version() -> None:
    assert all("4.17.12" in rec["config"]["samba"] for rec in DATA.values())
    assert set(DATA) == set(EXPECTED)


@pytest.mark.parametrize("config", sorted(EXPECTED))
def test_native_smb2(config: str) -> None:
    expected = EXPECTED[config][0]
    if expected == "eof":
        assert DATA[config]["smb2_native"] == {"outcome": "eof", "hex": ""}
        return
    resp = _reply(config, "smb2_native")
    assert isinstance(resp, smb2.Smb2NegotiateResponse)
    assert (resp.status, resp.dialect, resp.security_mode) == (0, "3.1.1", expected)
    assert (resp.capabilities, resp.preauth_hash) == (0x0F, "SHA-512")
    assert (resp.cipher, resp.signing_algorithm) == ("AES-128-GCM", "AES-GMAC")


@pytest.mark.parametrize("config", sorted(EXPECTED))
def test_nt_lm_only(config: str) -> None:
    expected = EXPECTED[config][1]
    resp = _reply(config, "smb1_ntlm_only")
    assert isinstance(resp, smb1.Smb1NegotiateResponse)
    if expected == "FFFF":
        assert resp.no_common_dialect
        return
    assert resp.accepted
    assert resp.security_mode == expected
    states = {0x03: Smb1Signing.DISABLED, 0x07: Smb1Signing.ENABLED, 0x0F: Smb1Signing.REQUIRED}
    assert resp.signing is states[int(expected)]


@pytest.mark.parametrize("config", sorted(EXPECTED))
def test_multi_protocol(config: str) -> None:
    expected = EXPECTED[config][2]
    resp = _reply(config, "smb1_multi")
    if isinstance(expected, tuple):
        assert isinstance(resp, smb2.Smb2NegotiateResponse)
        assert (resp.dialect_revision, resp.dialect, resp.security_mode) == (
            0x02FF,
            *expected,
        )
        assert resp.capabilities == 0x07
    else:
        assert isinstance(resp, smb1.Smb1NegotiateResponse)
        assert (resp.dialect_index, resp.security_mode) == (0, expected)


def test_upto_302_and_not_supported() -> None:
    """Port-139 form (no 3.1.1, no contexts): 3.0.2 selected; an SMB3_11-only server answers
    STATUS_NOT_SUPPORTED (docs/reference.md §4.6, §5.4)."""
    resp = _reply("mandatory", "smb2_upto_302")
    assert isinstance(resp, smb2.Smb2NegotiateResponse)
    assert (resp.dialect, resp.security_mode) == ("3.0.2", 0x03)
    err = _reply("smb3_11_only", "smb2_upto_302")
    assert isinstance(err, smb2.Smb2NegotiateResponse)
    assert err.status == 0xC00000BB
    assert err.security_mode is None

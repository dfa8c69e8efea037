"""The pure verdict mapping of docs/reference.md §5.9, including outcomes loopback cannot produce
(no route, anomalous SecurityMode values, contradictory answers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smbwire_builders import (
    smb1_error_response,
    smb1_negotiate_response,
    smb1_no_dialect_response,
    smb2_error_response,
    smb2_negotiate_response,
)

from smbsign.model import ScanStatus, Smb1Signing
from smbsign.protocol.negotiate import parse_negotiate_response
from smbsign.scan.verdict import Kind, Outcome, decide


def smb2(mode: int, dialect: int = 0x0311) -> Outcome:
    resp = parse_negotiate_response(smb2_negotiate_response(security_mode=mode, dialect=dialect))
    return Outcome(Kind.REPLY, resp)


def smb1(mode: int) -> Outcome:
    return Outcome(
        Kind.REPLY, parse_negotiate_response(smb1_negotiate_response(security_mode=mode))
    )


SMB1_OFF = Outcome(Kind.REPLY, parse_negotiate_response(smb1_no_dialect_response()))
EOF = Outcome(Kind.EOF, detail="closed by server before any reply")
TIMEOUT = Outcome(Kind.READ_TIMEOUT)


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        (Kind.CLOSED, ScanStatus.CLOSED, "closed: connection refused"),
        (Kind.FILTERED, ScanStatus.FILTERED, "filtered: no answer within 2 s"),
        (Kind.UNREACHABLE, ScanStatus.ERROR, "unreachable: No route to host"),
        (Kind.CONNECT_ERROR, ScanStatus.ERROR, "connect_error: Too many open files"),
        (Kind.NETBIOS_REFUSED, ScanStatus.ERROR, "netbios_refused: x"),
    ],
)
def test_connect_failures(kind: Kind, status: ScanStatus, reason: str) -> None:
    detail = reason.split(": ", 1)[1]
    verdict = decide(Outcome(kind, detail=detail), None, None)
    assert (verdict.status, verdict.signing_required, verdict.reason) == (status, None, reason)
    assert verdict.smb1.offered is None
    assert verdict.smb2 is None


@pytest.mark.parametrize(
    ("mode", "required", "reason"),
    [
        (0x03, True, "SMB2 3.1.1 signing required; SMB1 not offered"),
        (0x01, False, "SMB2 3.1.1 signing not required; SMB1 not offered"),
        (
            0x00,
            False,
            "SMB2 3.1.1 signing not required (anomaly: SecurityMode 0x0000 without "
            "SIGNING_ENABLED); SMB1 not offered",
        ),
        (
            0x02,
            True,
            "SMB2 3.1.1 signing required (anomaly: SecurityMode 0x0002 without "
            "SIGNING_ENABLED); SMB1 not offered",
        ),
        (0xFFFF, True, "SMB2 3.1.1 signing required; SMB1 not offered"),  # bit test
        (0xFFFD, False, "SMB2 3.1.1 signing not required; SMB1 not offered"),
    ],
)
def test_smb2_security_modes(mode: int, required: bool, reason: str) -> None:
    verdict = decide(smb2(mode), SMB1_OFF, None)
    assert verdict.status is ScanStatus.OK
    assert verdict.signing_required is required
    assert verdict.reason == reason


@pytest.mark.parametrize(
    ("smb2_mode", "smb1_mode", "required"),
    [
        (0x03, 0x0F, True),
        (0x03, 0x07, False),  # docs/reference.md §2.1: dual-stack split, SMB1 relayable
        (0x03, 0x03, False),  # SMB1 signing disabled
        (0x03, 0x0B, False),  # 0x08 without 0x04 is not "required" [MS-CIFS 3.2.4.2.2]
        (0x01, 0x0F, False),
    ],
)
def test_dual_stack(smb2_mode: int, smb1_mode: int, required: bool) -> None:
    verdict = decide(smb2(smb2_mode), smb1(smb1_mode), None)
    assert verdict.status is ScanStatus.OK
    assert verdict.signing_required is required
    assert verdict.smb1.offered is True
    assert verdict.smb1.security_mode == smb1_mode


def test_smb1_unknown_keeps_required_unknown_but_not_required_is_proven() -> None:
    for smb1_outcome, note in ((TIMEOUT, "read_timeout"), (None, "not checked")):
        required = decide(smb2(0x03), smb1_outcome, None)
        assert required.status is ScanStatus.OK
        assert required.signing_required is None
        assert required.reason == f"SMB2 3.1.1 signing required; SMB1 unknown ({note})"
        assert decide(smb2(0x01), smb1_outcome, None).signing_required is False


def test_smb1_only_host() -> None:
    verdict = decide(EOF, smb1(0x0F), smb1(0x0F))
    assert (verdict.status, verdict.signing_required) == (ScanStatus.OK, True)
    assert verdict.smb2 is None
    assert verdict.reason == "no SMB2 (SMB1 only); SMB1 offered with signing required"
    # without the SMB1 check, the multi-protocol reply alone gives SMB1's state
    alone = decide(EOF, None, smb1(0x07))
    assert (alone.signing_required, alone.smb1.signing) == (False, Smb1Signing.ENABLED)


def test_smb2_unknown_but_smb1_weak_is_proven_relayable() -> None:
    """SMB2 status error, but SMB1 offered without required signing: not required, ok."""
    err = Outcome(Kind.REPLY, parse_negotiate_response(smb2_error_response(0xC000000D)))
    verdict = decide(err, smb1(0x07), None)
    assert (verdict.status, verdict.signing_required) == (ScanStatus.OK, False)
    assert verdict.reason == (
        "SMB2 unknown (smb2_status:0xC000000D (STATUS_INVALID_PARAMETER)); "
        "SMB1 offered with signing enabled but not required"
    )
    strong = decide(err, smb1(0x0F), None)
    assert (strong.status, strong.signing_required) == (ScanStatus.ERROR, None)
    assert strong.reason.startswith("smb2_status:0xC000000D")


def test_smb1_probe_answers() -> None:
    smb2_to_smb1 = Outcome(Kind.REPLY, parse_negotiate_response(smb2_negotiate_response()))
    assert decide(smb2(0x03), smb2_to_smb1, None).smb1.offered is False
    assert decide(smb2(0x03), EOF, None).smb1.offered is False
    err = Outcome(Kind.REPLY, parse_negotiate_response(smb1_error_response(0xC0000022)))
    verdict = decide(smb2(0x03), err, None)
    assert verdict.smb1.offered is None
    assert verdict.smb1.reason == "smb1_status:0xC0000022 (STATUS_ACCESS_DENIED)"
    assert verdict.signing_required is None


def test_eof_everywhere_proves_nothing() -> None:
    verdict = decide(EOF, EOF, EOF)
    assert (verdict.status, verdict.signing_required) == (ScanStatus.ERROR, None)
    assert verdict.smb1.offered is None
    assert verdict.reason == "eof: closed by server before any reply"


def test_multi_protocol_no_common_dialect() -> None:
    verdict = decide(EOF, SMB1_OFF, SMB1_OFF)
    assert (verdict.status, verdict.signing_required) == (ScanStatus.ERROR, None)
    assert verdict.reason == ("smb1: no common dialect (DialectIndex 0xFFFF); SMB1 not offered")


def test_not_smb_only_when_nothing_spoke_smb() -> None:
    garbage = Outcome(Kind.NOT_SMB, detail="not SMB (first bytes 48545450)")
    assert decide(garbage, None, None).status is ScanStatus.NOT_SMB
    assert decide(garbage, smb1(0x0F), None).status is ScanStatus.ERROR


_OUTCOMES = st.sampled_from(
    [
        smb2(0x01),
        smb2(0x03),
        smb2(0x03, 0x02FF),
        smb1(0x03),
        smb1(0x07),
        smb1(0x0F),
        SMB1_OFF,
        EOF,
        TIMEOUT,
        Outcome(Kind.READ_TIMEOUT, received=40),
        Outcome(Kind.NOT_SMB, detail="x"),
        Outcome(Kind.PROTOCOL_ERROR, detail="y"),
        Outcome(Kind.IO_ERROR, detail="z"),
        Outcome(Kind.REPLY, parse_negotiate_response(smb2_error_response(0xC00000BB))),
    ]
)


@given(_OUTCOMES, st.none() | _OUTCOMES, st.none() | _OUTCOMES)
def test_invariants(native: Outcome, smb1_only: Outcome | None, multi: Outcome | None) -> None:
    """Whatever the combination: False needs a weak offered protocol, True needs every
    known protocol strong, and an OK status always has a reason."""
    verdict = decide(native, smb1_only, multi)
    weak_smb2 = verdict.smb2 is not None and not verdict.smb2.signing_required
    weak_smb1 = verdict.smb1.offered is True and verdict.smb1.signing is not Smb1Signing.REQUIRED
    if verdict.signing_required is False:
        assert weak_smb2 or weak_smb1
    if verdict.signing_required is True:
        assert not weak_smb2 and not weak_smb1
        assert verdict.smb1.offered is False or verdict.smb1.signing is Smb1Signing.REQUIRED
    if verdict.status is not ScanStatus.OK:
        assert verdict.signing_required is None
    assert verdict.reason

"""Turn the outcomes of one host's probe connections into a verdict (docs/reference.md §5.7-5.9).

Pure: no I/O, no clock. The prober runs up to three connections per host and hands their
:class:`Outcome` values to :func:`decide`:

* ``native`` - our SMB2 NEGOTIATE (always);
* ``smb1_only`` - SMB1 NEGOTIATE with ``NT LM 0.12`` alone (when the SMB1 check is on);
* ``multi`` - the SMB1 multi-protocol fallback (only when ``native`` got no SMB2 answer).

Rules (reference.md §5.9): signing is required only if *every* protocol the host offers requires
it; it is provably not required if *any* offered protocol does not; anything else is None with
a reason. An error or a timeout is never "not required".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from smbsign.model import (
    ScanStatus,
    Smb1Observation,
    Smb1Signing,
    Smb2Observation,
)
from smbsign.protocol.negotiate import NegotiateResponse
from smbsign.protocol.smb1 import Smb1NegotiateResponse
from smbsign.protocol.smb2 import Smb2NegotiateResponse, status_name

__all__ = ["Kind", "Outcome", "Verdict", "decide"]


class Kind(StrEnum):
    """What one probe connection ended with."""

    REPLY = "reply"  # a NEGOTIATE response that parsed (may carry an error status)
    CLOSED = "closed"  # connection refused / reset while connecting
    FILTERED = "filtered"  # no answer to the SYN within the connect timeout
    UNREACHABLE = "unreachable"  # EHOSTUNREACH / ENETUNREACH
    CONNECT_ERROR = "connect_error"  # any other failure to connect (bad address, EMFILE, ...)
    NETBIOS_REFUSED = "netbios_refused"  # negative / retarget session response (port 139)
    EOF = "eof"  # FIN or RST after connecting, before any reply byte
    READ_TIMEOUT = "read_timeout"  # no complete reply within the read timeout
    NOT_SMB = "not_smb"  # bytes that are not SMB (or an absurd frame length)
    PROTOCOL_ERROR = "protocol_error"  # SMB magic, but malformed or truncated
    IO_ERROR = "io_error"  # other socket error after connecting


_CONNECT_FAILURES = {
    Kind.CLOSED: ScanStatus.CLOSED,
    Kind.FILTERED: ScanStatus.FILTERED,
    Kind.UNREACHABLE: ScanStatus.ERROR,
    Kind.CONNECT_ERROR: ScanStatus.ERROR,
    Kind.NETBIOS_REFUSED: ScanStatus.ERROR,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    response: NegotiateResponse | None = None
    detail: str = ""
    received: int = 0  # bytes received on this connection (read timeouts, truncations)

    def describe(self) -> str:
        """Machine token first, then detail: ``read_timeout``, ``protocol_error: ...``."""
        if self.kind is Kind.REPLY and self.response is not None:
            return _status_text(self.response)
        if self.kind is Kind.READ_TIMEOUT and self.received:
            return f"read_timeout: reply incomplete after {self.received} bytes"
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value


@dataclass(frozen=True, slots=True)
class Verdict:
    status: ScanStatus
    signing_required: bool | None
    smb1: Smb1Observation
    smb2: Smb2Observation | None
    reason: str


def _status_text(resp: NegotiateResponse) -> str:
    family = "smb2" if isinstance(resp, Smb2NegotiateResponse) else "smb1"
    if resp.status:
        return f"{family}_status:0x{resp.status:08X} ({status_name(resp.status)})"
    if isinstance(resp, Smb1NegotiateResponse) and resp.no_common_dialect:
        return "smb1: no common dialect (DialectIndex 0xFFFF)"
    return f"{family}: unexpected reply"


def _smb2_observation(resp: Smb2NegotiateResponse) -> Smb2Observation | None:
    if not resp.ok or resp.security_mode is None or resp.dialect_revision is None:
        return None
    return Smb2Observation(
        dialect=resp.dialect or "",
        dialect_revision=resp.dialect_revision,
        security_mode=resp.security_mode,
        capabilities=resp.capabilities or 0,
        server_guid=resp.server_guid or "",
        cipher=resp.cipher,
        signing_algorithm=resp.signing_algorithm,
        preauth_hash=resp.preauth_hash,
    )


def _smb1_accepted(outcome: Outcome | None) -> Smb1NegotiateResponse | None:
    """The SMB1 reply if *outcome* is one that selected NT LM 0.12 (index 0 in both requests)."""
    if outcome is None or outcome.kind is not Kind.REPLY:
        return None
    resp = outcome.response
    if isinstance(resp, Smb1NegotiateResponse) and resp.accepted and resp.dialect_index == 0:
        return resp
    return None


def _is_smb(outcome: Outcome | None) -> bool:
    return outcome is not None and outcome.kind is Kind.REPLY


def _smb1_observation(
    smb1_only: Outcome | None, multi: Outcome | None, host_is_smb: bool
) -> Smb1Observation:
    accepted = _smb1_accepted(smb1_only) or _smb1_accepted(multi)
    if accepted is not None and accepted.security_mode is not None:
        return Smb1Observation(
            offered=True,
            signing=accepted.signing,
            security_mode=accepted.security_mode,
            capabilities=accepted.capabilities,
            reason=f"SMB1 NT LM 0.12 accepted, SecurityMode 0x{accepted.security_mode:02X}",
        )
    if smb1_only is None:
        return Smb1Observation(offered=None, reason="not checked")
    resp = smb1_only.response
    if smb1_only.kind is Kind.REPLY and resp is not None:
        if isinstance(resp, Smb2NegotiateResponse):
            return Smb1Observation(offered=False, reason="SMB2 reply to NT LM 0.12 negotiate")
        if resp.no_common_dialect:
            return Smb1Observation(offered=False, reason="NT LM 0.12 refused (DialectIndex 0xFFFF)")
        return Smb1Observation(offered=None, reason=smb1_only.describe())
    if smb1_only.kind is Kind.EOF and host_is_smb:
        # A server without SMB1 "MUST disconnect ... without sending a response"
        # [MS-SMB2 3.3.5.3.2]; only meaningful once the host has proven to speak SMB.
        return Smb1Observation(offered=False, reason="disconnected without reply to NT LM 0.12")
    return Smb1Observation(offered=None, reason=smb1_only.describe())


_SMB1_TEXT = {
    Smb1Signing.REQUIRED: "SMB1 offered with signing required",
    Smb1Signing.ENABLED: "SMB1 offered with signing enabled but not required",
    Smb1Signing.DISABLED: "SMB1 offered with signing disabled",
}


def _smb2_text(obs: Smb2Observation) -> str:
    mode = obs.security_mode
    text = f"SMB2 {obs.dialect} signing {'required' if mode & 0x02 else 'not required'}"
    if not mode & 0x01:
        # Non-conformant: ENABLED MUST always be set [MS-SMB2 3.3.5.4] (docs/reference.md §5.9).
        text += f" (anomaly: SecurityMode 0x{mode:04X} without SIGNING_ENABLED)"
    return text


def _smb1_text(obs: Smb1Observation) -> str:
    if obs.offered is True and obs.signing is not None:
        return _SMB1_TEXT[obs.signing]
    if obs.offered is False:
        return "SMB1 not offered"
    return f"SMB1 unknown ({obs.reason})"


def decide(native: Outcome, smb1_only: Outcome | None, multi: Outcome | None) -> Verdict:
    """Combine the connection outcomes of one host into status, verdict and reason."""
    if native.kind in _CONNECT_FAILURES:
        return Verdict(
            _CONNECT_FAILURES[native.kind],
            None,
            Smb1Observation(offered=None),
            None,
            native.describe(),
        )
    smb2_obs: Smb2Observation | None = None
    smb2_absent = False  # proven: the host answered the multi-protocol negotiate with SMB1
    smb2_problem = native.describe()
    for outcome in (native, multi):
        if outcome is None or outcome.kind is not Kind.REPLY:
            continue
        resp = outcome.response
        if isinstance(resp, Smb2NegotiateResponse):
            smb2_obs = _smb2_observation(resp)
            smb2_problem = outcome.describe()
            break
        if outcome is multi and _smb1_accepted(multi) is not None:
            smb2_absent = True
            break
    if smb2_obs is None and not smb2_absent and multi is not None and not _is_smb(native):
        smb2_problem = multi.describe() if multi.kind is not Kind.EOF else smb2_problem

    host_is_smb = _is_smb(native) or _is_smb(multi)
    smb1 = _smb1_observation(smb1_only, multi, host_is_smb)

    smb2_text = (
        _smb2_text(smb2_obs)
        if smb2_obs
        else ("no SMB2 (SMB1 only)" if smb2_absent else f"SMB2 unknown ({smb2_problem})")
    )
    smb1_text = _smb1_text(smb1)

    smb2_weak = smb2_obs is not None and not smb2_obs.signing_required
    smb1_weak = smb1.offered is True and smb1.signing is not Smb1Signing.REQUIRED
    smb2_strong = (smb2_obs is not None and smb2_obs.signing_required) or smb2_absent
    smb1_strong = smb1.offered is False or smb1.signing is Smb1Signing.REQUIRED
    signing_required: bool | None
    if smb2_weak or smb1_weak:
        signing_required = False
    elif smb2_strong and smb1_strong:
        signing_required = True
    else:
        signing_required = None

    if smb2_obs is not None or signing_required is not None:
        return Verdict(ScanStatus.OK, signing_required, smb1, smb2_obs, f"{smb2_text}; {smb1_text}")
    status = ScanStatus.ERROR
    if native.kind is Kind.NOT_SMB and not host_is_smb and smb1.offered is None:
        status = ScanStatus.NOT_SMB
    reason = smb2_problem
    if smb1.offered is not None:
        reason += f"; {smb1_text}"
    return Verdict(status, None, smb1, None, reason)

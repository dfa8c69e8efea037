"""What a host's NEGOTIATE answers prove about a control, and whether SMB1 is on (pure).

Wire evidence is the effective truth of the running server (docs/reference.md §4.1 "collect the
effective value from Get-Smb*Configuration or the wire"); the bits it reads are those of
docs/reference.md §5.9: SMB2 SecurityMode 0x02 / SMB1 0x08 = required, SMB1 0x04 = enabled, and
"SMB1 not offered" from a refused ``NT LM 0.12``. Only records with status ``ok`` and a proven
value count; anything else is "wire unknown" with its reason, never a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smbsign.model import Layer, Provenance, ScanRecord, ScanStatus, Smb1Signing
from smbsign.verdict import SENTENCE, Verdict


@dataclass(frozen=True, slots=True)
class WireFact:
    """A proven wire answer for one check: ``ok`` is the pass/fail of the check."""

    ok: bool
    observed: str
    expected: str
    source: Provenance
    detail: str
    notes: tuple[str, ...] = ()


#: Report wording of docs/reference.md §7 ("likely", never "vulnerable"): smbsign.verdict.
RELAY_WORDING = {
    True: SENTENCE[Verdict.REQUIRED],
    False: SENTENCE[Verdict.NOT_REQUIRED],
}


def _where(rec: ScanRecord) -> str:
    host = f"[{rec.target}]" if ":" in rec.target else rec.target
    return f"{host}:{rec.port}"


def _source(rec: ScanRecord) -> Provenance:
    return Provenance(kind="wire", path=_where(rec), location=rec.transport, layer=Layer.WIRE)


def _mode(rec: ScanRecord) -> str:
    if rec.smb2 is not None:
        return f"SMB2 SecurityMode 0x{rec.smb2.security_mode:04x}, dialect {rec.smb2.dialect}"
    if rec.smb1.security_mode is not None:
        return f"SMB1 SecurityMode 0x{rec.smb1.security_mode:02x}"
    return "no SecurityMode"


def unusable(observations: Sequence[ScanRecord]) -> list[str]:
    """One line per record that proves nothing (closed, filtered, error, unknown bit)."""
    out = []
    for rec in observations:
        if rec.status is not ScanStatus.OK:
            why = rec.reason or rec.status.value
            if not why.startswith(rec.status.value):  # the prober's reason may name it already
                why = f"{rec.status.value}: {why}"
            out.append(f"wire probe of {_where(rec)}: {why}")
        elif rec.signing_required is None:
            out.append(f"wire probe of {_where(rec)}: signing not determined ({rec.reason})")
    return out


def signing_required(observations: Sequence[ScanRecord]) -> WireFact | None:
    """Server signing from the wire; any endpoint that does not require it decides (fail)."""
    proven = [
        r for r in observations if r.status is ScanStatus.OK and r.signing_required is not None
    ]
    if not proven:
        return None
    weak = [r for r in proven if r.signing_required is False]
    rec = weak[0] if weak else proven[0]
    ok = not weak
    return WireFact(
        ok=ok,
        observed="required" if ok else "not required",
        expected="required",
        source=_source(rec),
        detail=f"the server {'requires' if ok else 'does not require'} signing on the wire "
        f"({_mode(rec)} from {_where(rec)})",
        notes=(RELAY_WORDING[ok],),
    )


def smb1_offered(observations: Sequence[ScanRecord]) -> tuple[bool | None, ScanRecord | None]:
    """(True, rec) if any endpoint accepted SMB1, (False, rec) if all that answered refused it."""
    known = [r for r in observations if r.status is ScanStatus.OK and r.smb1.offered is not None]
    on = [r for r in known if r.smb1.offered]
    if on:
        return True, on[0]
    if known:
        return False, known[0]
    return None, None


def smb1_disabled(observations: Sequence[ScanRecord]) -> WireFact | None:
    """Check ``smb1_server_disabled``: passes when the server refuses SMB1."""
    offered, rec = smb1_offered(observations)
    if offered is None or rec is None:
        return None
    return WireFact(
        ok=not offered,
        observed="SMB1 offered" if offered else "SMB1 not offered",
        expected="SMB1 not offered",
        source=_source(rec),
        detail=f"the server {'accepts' if offered else 'refuses'} the SMB1 dialect NT LM 0.12 "
        f"({_where(rec)}{', ' + rec.smb1.reason if rec.smb1.reason else ''})",
    )


def smb1_signing_enabled(observations: Sequence[ScanRecord]) -> WireFact | None:
    """Check ``smb1_server_signing_enabled``: SMB1 SecurityMode 0x04 (only when SMB1 is on)."""
    offered, rec = smb1_offered(observations)
    if not offered or rec is None or rec.smb1.signing is None:
        return None
    ok = rec.smb1.signing in (Smb1Signing.ENABLED, Smb1Signing.REQUIRED)
    mode = rec.smb1.security_mode
    mode_s = f"0x{mode:02x}" if mode is not None else "?"
    return WireFact(
        ok=ok,
        observed=rec.smb1.signing.value,
        expected="enabled or required",
        source=_source(rec),
        detail=f"SMB1 signing {rec.smb1.signing.value} on the wire "
        f"(SMB1 SecurityMode {mode_s} from {_where(rec)})",
    )


WIRE_CHECKS = {
    "smb_server_signing_required": signing_required,
    "smb1_server_disabled": smb1_disabled,
    "smb1_server_signing_enabled": smb1_signing_enabled,
}

"""What a host's NEGOTIATE answers (and LDAP binds) prove about a control, and whether SMB1
is on (pure).

Wire evidence is the effective truth of the running server (docs/reference.md §4.1 "collect the
effective value from Get-Smb*Configuration or the wire"); the bits it reads are those of
docs/reference.md §5.9: SMB2 SecurityMode 0x02 / SMB1 0x08 = required, SMB1 0x04 = enabled, and
"SMB1 not offered" from a refused ``NT LM 0.12``. Only records with status ``ok`` and a proven
value count; anything else is "wire unknown" with its reason, never a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smbsign.model import (
    ChannelBinding,
    Layer,
    LdapSigning,
    Provenance,
    ScanRecord,
    ScanStatus,
    Smb1Signing,
)
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


# ------------------------------------------------------------------ LDAP (scan --protocols)
#
# An ``ldap`` observation (docs/ldap.md) proves what the running domain controller does with an
# NTLM bind: signing ``required`` / ``not_required`` on 389, channel binding ``always`` /
# ``when_supported`` / ``never`` on 636. ``unknown`` proves nothing, and neither does
# ``no_tls``: without LDAPS there is no token to check, so the setting is not observable
# (docs/reference.md §11.1); the configuration decides, with a note.

_LDAP_PORT = {"ldap": 389, "ldaps": 636}


def _ldap_parts(reason: str) -> tuple[str, str]:
    """(the 389 part, the 636 part) of an ``ldap: ...; ldaps: ...`` reason."""
    ldap, _, ldaps = reason.rpartition("; ldaps: ")
    return ldap.removeprefix("ldap: "), ldaps


def _ldap_source(rec: ScanRecord, scheme: str) -> Provenance:
    host = f"[{rec.target}]" if ":" in rec.target else rec.target
    return Provenance(
        kind="wire", path=f"{host}:{_LDAP_PORT[scheme]}", location=scheme, layer=Layer.WIRE
    )


def _ldap_records(observations: Sequence[ScanRecord]) -> list[ScanRecord]:
    return [r for r in observations if r.ldap is not None]


def ldap_signing_required(observations: Sequence[ScanRecord]) -> WireFact | None:
    """LDAP signing from the wire: any address whose unsigned NTLM bind succeeded decides."""
    proven = [
        r
        for r in _ldap_records(observations)
        if r.ldap is not None and r.ldap.signing is not LdapSigning.UNKNOWN
    ]
    if not proven:
        return None
    weak = [r for r in proven if r.ldap is not None and r.ldap.relay_ldap]
    rec = weak[0] if weak else proven[0]
    assert rec.ldap is not None
    ok = not weak
    why, _ = _ldap_parts(rec.ldap.reason)
    where = _ldap_source(rec, "ldap").path
    return WireFact(
        ok=ok,
        observed="required" if ok else "not required",
        expected="required",
        source=_ldap_source(rec, "ldap"),
        detail=f"the LDAP server {'requires' if ok else 'does not require'} signing on the wire "
        f"({why}, {rec.ldap.method}, from {where})",
        notes=(
            "relay of NTLM authentication to LDAP (389) on this host is blocked: unsigned "
            "binds are refused"
            if ok
            else "relay of NTLM authentication to LDAP (389) on this host is likely possible: "
            "an NTLM bind that does not sign is accepted (Misconfiguration Manager PREVENT-13)",
        ),
    )


def ldap_channel_binding(observations: Sequence[ScanRecord]) -> WireFact | None:
    """LDAPS channel binding from the wire: ``always`` passes, ``when_supported`` and
    ``never`` fail (the weakest address decides); ``no_tls`` and ``unknown`` prove nothing."""
    order = {ChannelBinding.NEVER: 0, ChannelBinding.WHEN_SUPPORTED: 1, ChannelBinding.ALWAYS: 2}
    proven = [
        r
        for r in _ldap_records(observations)
        if r.ldap is not None and r.ldap.channel_binding in order
    ]
    if not proven:
        return None
    rec = min(proven, key=lambda r: order[r.ldap.channel_binding] if r.ldap else 0)
    assert rec.ldap is not None
    cb = rec.ldap.channel_binding
    ok = cb is ChannelBinding.ALWAYS
    _, why = _ldap_parts(rec.ldap.reason)
    if cb is ChannelBinding.NEVER:
        note = (
            "relay of NTLM authentication to LDAPS (636) on this host is likely possible: a bind "
            "with a wrong channel-binding token is accepted (Misconfiguration Manager PREVENT-13)"
        )
    elif ok:
        note = "relay of NTLM authentication to LDAPS (636) on this host is blocked: binds "
        note += "without the channel-binding token are refused"
    else:
        note = (
            "a wrong channel-binding token is refused, but a bind without one is accepted: "
            "relay from clients that send no token is still possible"
        )
    return WireFact(
        ok=ok,
        observed=cb.value,
        expected="always",
        source=_ldap_source(rec, "ldaps"),
        detail=f"LDAPS channel binding is {cb.value} on the wire ({why}, {rec.ldap.method}, "
        f"from {_ldap_source(rec, 'ldaps').path})",
        notes=(note,),
    )


def ldap_unusable(observations: Sequence[ScanRecord]) -> list[str]:
    """One line per LDAP check that was made and proves nothing (unknown, no LDAPS)."""
    out = []
    for rec in _ldap_records(observations):
        assert rec.ldap is not None
        ldap_why, ldaps_why = _ldap_parts(rec.ldap.reason)
        if rec.ldap.signing is LdapSigning.UNKNOWN and ldap_why != "not probed":
            out.append(f"LDAP probe of {_ldap_source(rec, 'ldap').path}: {ldap_why}")
        if rec.ldap.channel_binding is ChannelBinding.NO_TLS:
            out.append(
                f"LDAPS probe of {_ldap_source(rec, 'ldaps').path}: {ldaps_why} (no LDAPS: "
                "no relay path to LDAPS now, and the setting cannot be observed)"
            )
        elif rec.ldap.channel_binding is ChannelBinding.UNKNOWN and ldaps_why != "not probed":
            out.append(f"LDAPS probe of {_ldap_source(rec, 'ldaps').path}: {ldaps_why}")
    return out


WIRE_CHECKS = {
    "smb_server_signing_required": signing_required,
    "smb1_server_disabled": smb1_disabled,
    "smb1_server_signing_enabled": smb1_signing_enabled,
    "ldap_server_signing_required": ldap_signing_required,
    "ldap_server_channel_binding": ldap_channel_binding,
}

#: Why the wire did not decide a check, per check (default: the SMB records' reasons).
WIRE_NOTES = {
    "ldap_server_signing_required": ldap_unusable,
    "ldap_server_channel_binding": ldap_unusable,
}

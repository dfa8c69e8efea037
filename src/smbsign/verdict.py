"""Relay verdict of one scan record and its one wording (docs/reference.md §5.9 and §7).

The only place the relay wording lives: reports, the audit's wire notes, the scan table and
its summary line all take their words from here. The wording is fixed by docs/reference.md §7:
"likely", never "vulnerable", because required encryption, SPN validation or disabled NTLM can
stop a relay that a NEGOTIATE probe cannot see. ``unknown`` is never counted as relayable nor
as safe.
"""

from __future__ import annotations

from enum import StrEnum

from smbsign.model import ScanRecord, ScanStatus, Smb1Signing


class Verdict(StrEnum):
    """Signing verdict of an SMB server (docs/reference.md §5.9)."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"
    DISABLED = "disabled"  # SMB1 with signing disabled (SecurityMode without 0x04)
    UNKNOWN = "unknown"
    NO_SMB = "no_smb"  # closed, filtered or not SMB: worded as unknown, counted apart


# The verdicts that put a host on a relay list (docs/reference.md §7, "Relay-list output").
RELAYABLE = frozenset({Verdict.NOT_REQUIRED, Verdict.DISABLED})

#: The sentence of each proven verdict (docs/reference.md §7).
SENTENCE = {
    Verdict.REQUIRED: (
        "SMB signing required — relay to SMB on this host blocked (other protocols not covered)"
    ),
    Verdict.NOT_REQUIRED: "SMB signing not required (relay to SMB likely)",
    Verdict.DISABLED: "SMB1 signing disabled (relay to SMB likely); SMB1 enabled",
}
#: The same, shortened for a column or a count: "NOT required" marks a relay path.
SHORT_REQUIRED = "required"
SHORT_NOT_REQUIRED = "NOT required"
SHORT_UNKNOWN = "unknown"

_NO_SMB = {
    ScanStatus.CLOSED: "port closed",
    ScanStatus.FILTERED: "no answer (filtered)",
    ScanStatus.NOT_SMB: "not an SMB server",
}


def verdict(rec: ScanRecord) -> Verdict:
    """Verdict from the record's proven ``signing_required`` (never guessed)."""
    if rec.status in _NO_SMB:
        return Verdict.NO_SMB
    if rec.status is not ScanStatus.OK or rec.signing_required is None:
        return Verdict.UNKNOWN
    if rec.signing_required:
        return Verdict.REQUIRED
    if rec.smb2 is None and rec.smb1.signing is Smb1Signing.DISABLED:
        return Verdict.DISABLED
    return Verdict.NOT_REQUIRED


def wording(rec: ScanRecord) -> str:
    """The exact docs/reference.md §7 sentence for this record."""
    v = verdict(rec)
    sentence = SENTENCE.get(v)
    if sentence is not None:
        return sentence
    # unknown and no_smb: docs/reference.md §5.9 calls closed/filtered "unknown, reason ...".
    reason = rec.reason or _NO_SMB.get(rec.status, rec.status.value)
    return f"Could not determine SMB signing ({reason})"


def short(rec: ScanRecord) -> str:
    """The column word of a record's signing: required / NOT required / unknown."""
    if rec.status is not ScanStatus.OK or rec.signing_required is None:
        return SHORT_UNKNOWN
    return SHORT_REQUIRED if rec.signing_required else SHORT_NOT_REQUIRED

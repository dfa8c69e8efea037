"""``fix --from scan.json``: the failing findings a scan's records prove (docs/fix.md, pure).

A scan tells only what a server answers on the wire; the plan (:mod:`smbsign.remediate.plan`)
turns these findings into changes for the target kind the user names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from smbsign.model import ScanRecord, ScanStatus, Smb1Signing

if TYPE_CHECKING:
    from smbsign.remediate.plan import TargetKind

__all__ = ["SERVER_SIGNING", "SMB1_SERVER", "scan_findings"]

SERVER_SIGNING = "smb-server-signing-required"
SMB1_SERVER = "smb1-server-disabled"


def _host_label(rec: ScanRecord) -> str:
    """The address, with the port when it is not an SMB port (445, 139)."""
    if rec.port in (445, 139):
        return rec.target
    return f"[{rec.target}]:{rec.port}" if ":" in rec.target else f"{rec.target}:{rec.port}"


def scan_findings(
    records: Iterable[ScanRecord], target: TargetKind
) -> tuple[list[dict[str, str]], list[str]]:
    """Failing findings and notes for the hosts of ``smbsign scan`` records (docs/fix.md).

    A relayable host (signing not required on some protocol it offers) fails
    ``smb-server-signing-required``; one that offers SMB1 without required signing also
    fails ``smb1-server-disabled`` (SMB1 signing is optional by design, so the SMB1 fix is to
    turn it off, MS-CIFS 2.2.4.52.2). Hosts whose signing is unknown, that gave an error or
    that have no SMB server are left out and counted in a note; the wire does not tell
    Windows from Samba, so a note says which ``--target`` the plan is for.
    """
    by_host: dict[str, list[ScanRecord]] = {}
    for rec in records:
        by_host.setdefault(_host_label(rec), []).append(rec)
    findings: list[dict[str, str]] = []
    unknown = errors = dead = required = 0
    for host, recs in by_host.items():
        relayable = [r for r in recs if r.relayable]
        if relayable:
            reason = relayable[0].reason or "signing not required"
            findings.append(
                {"control": SERVER_SIGNING, "status": "fail", "host": host, "reason": reason}
            )
            if any(
                r.smb1.offered and r.smb1.signing is not Smb1Signing.REQUIRED for r in relayable
            ):
                findings.append(
                    {"control": SMB1_SERVER, "status": "fail", "host": host, "reason": "SMB1"}
                )
        elif any(r.status is ScanStatus.OK and r.signing_required for r in recs):
            required += 1
        elif any(r.status is ScanStatus.OK for r in recs):
            unknown += 1
        elif any(r.status is ScanStatus.ERROR for r in recs):
            errors += 1
        else:
            dead += 1
    relay_hosts = len({f["host"] for f in findings})
    notes = [
        f"From {len(by_host)} scanned host(s): signing not required on {relay_hosts} "
        f"(in the plan), required on {required}."
    ]
    left = [
        f"{n} {what}"
        for n, what in (
            (unknown, "with signing unknown (answered, not determined)"),
            (errors, "with an error"),
            (dead, "without an SMB server (closed, filtered or not SMB)"),
        )
        if n
    ]
    if left:
        notes.append(
            f"Not in the plan: {', '.join(left)}; re-scan or audit those hosts before "
            "assuming they are safe."
        )
    notes.append(
        "A scan shows what a server answers on the wire, not whether it runs Windows or "
        f"Samba: this plan is for --target {target.value}; give --target samba (or the "
        "Windows kind) for the hosts that run something else."
    )
    return findings, notes

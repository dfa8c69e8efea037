"""Run the real ``smbsign scan`` inside the lab and hold its records against the ground truth.

Shared by ``smbsign demo``, the lab integration tests and the benchmark, so all three judge
a scan the same way. The scan runs as a separate process in the client namespace exactly as
a user would run it (``ip netns exec <client> smbsign scan ... --format json``); records are
read from its JSON document (``scan/output.py``: ``{"records": [...], "summary": ...}``).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smbsign.errors import LabError
from smbsign.lab.hosts import GroundTruth
from smbsign.lab.lab import Lab, smbsign_argv
from smbsign.model import Smb1Signing


@dataclass(frozen=True, slots=True)
class ScanRun:
    """One ``smbsign scan`` run in the lab."""

    argv: tuple[str, ...]
    returncode: int
    records: tuple[dict[str, Any], ...]
    summary: dict[str, Any]
    complete: bool
    relay_list: tuple[str, ...]  # the --relay-list file, line by line
    stderr: str

    def by_target(self) -> dict[str, dict[str, Any]]:
        return {r["target"]: r for r in self.records}


def scan_in_lab(
    lab: Lab,
    targets: Sequence[str],
    *,
    ports: Sequence[int] = (445,),
    extra: Sequence[str] = (),
    connect_timeout: float = 1.0,
    read_timeout: float = 2.0,
    timeout: float = 300.0,
) -> ScanRun:
    """Run ``smbsign scan`` on ``targets`` from the lab's client namespace."""
    with tempfile.TemporaryDirectory(prefix=f"{lab.run_id}-scan-") as tmp:
        out = Path(tmp) / "scan.json"
        relay = Path(tmp) / "relay.txt"
        argv = [
            *smbsign_argv(),
            "scan",
            *targets,
            "--ports", ",".join(str(p) for p in ports),
            "--connect-timeout", f"{connect_timeout:g}",
            "--read-timeout", f"{read_timeout:g}",
            "--format", "json",
            "-o", str(out),
            "--relay-list", str(relay),
            "--no-progress",
            *extra,
        ]  # fmt: skip
        proc = lab.run_in_client(argv, timeout=timeout)
        try:
            doc = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            why = proc.stderr.strip().splitlines()[-1:] or [str(exc)]
            raise LabError(
                f"smbsign scan wrote no JSON (exit {proc.returncode}): {why[0]}"
            ) from None
        relay_lines = relay.read_text().splitlines() if relay.exists() else []
    return ScanRun(
        argv=tuple(argv),
        returncode=proc.returncode,
        records=tuple(doc.get("records", [])),
        summary=dict(doc.get("summary", {})),
        complete=bool(doc.get("complete")),
        relay_list=tuple(relay_lines),
        stderr=proc.stderr,
    )


_SMB1_WORDS = {
    Smb1Signing.REQUIRED: "signing required",
    Smb1Signing.ENABLED: "signing enabled but not required",
    Smb1Signing.DISABLED: "signing disabled",
}


def expected_reason(truth: GroundTruth) -> str:
    """The ``reason`` of an ``ok`` record, from the truth alone, in the words of
    docs/protocol.md "Verdict mapping": the SMB2 part, then the SMB1 part."""
    if truth.smb2_security_mode is None:
        smb2 = "no SMB2 (SMB1 only)"
    else:
        required = "required" if truth.smb2_security_mode & 0x02 else "not required"
        smb2 = f"SMB2 {truth.smb2_dialect} signing {required}"
    if truth.smb1_offered and truth.smb1_signing is not None:
        smb1 = f"SMB1 offered with {_SMB1_WORDS[truth.smb1_signing]}"
    else:
        smb1 = "SMB1 not offered"
    return f"{smb2}; {smb1}"


def expected_fields(truth: GroundTruth) -> dict[str, Any]:
    """The record fields the truth fixes, as dotted JSON paths (docs/schema.md names).

    ``reason`` is fixed in full for ``ok`` records; for an unreached host only its machine
    token (``reason_token``: the text before the first ``:``, e.g. ``closed``) is.
    """
    want: dict[str, Any] = {
        "status": truth.status.value,
        "port": truth.port,
        "signing_required": truth.signing_required,
        "relayable": truth.relayable,
    }
    if truth.status.value != "ok":
        want["reason_token"] = truth.status.value
        return want
    want["reason"] = expected_reason(truth)
    want["transport"] = "netbios" if truth.port == 139 else "direct_tcp"
    want["smb1.offered"] = truth.smb1_offered
    want["smb1.signing"] = truth.smb1_signing.value if truth.smb1_signing else None
    want["smb1.security_mode"] = truth.smb1_security_mode
    if truth.smb2_security_mode is None:
        want["smb2"] = None
    else:
        want["smb2.security_mode"] = truth.smb2_security_mode
        want["smb2.signing_required"] = bool(truth.smb2_security_mode & 0x02)
        want["smb2.dialect"] = truth.smb2_dialect
    return want


def _get(record: Mapping[str, Any], path: str) -> Any:
    if path == "reason_token":
        reason = record.get("reason")
        return reason.split(":", 1)[0] if isinstance(reason, str) else "<missing>"
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return "<missing>"
        value = value[part]
    return value


def compare(record: Mapping[str, Any], truth: GroundTruth) -> list[str]:
    """Differences between a scan record and the ground truth (empty list: they agree)."""
    return [
        f"{path}: got {_get(record, path)!r}, expected {want!r}"
        for path, want in expected_fields(truth).items()
        if _get(record, path) != want
    ]


def verdict_label(record: Mapping[str, Any]) -> str:
    """Short wording of a record's verdict, in the same words as ``GroundTruth.expected_label``."""
    status = record.get("status")
    if status != "ok":
        return str(status)
    required = record.get("signing_required")
    if required is True:
        return "required"
    if required is None:
        return "unknown"
    smb1 = record.get("smb1") or {}
    if smb1.get("signing") == "disabled":
        return "SMB1 signing disabled"
    return "not required"

"""The JSON shapes of scan records and findings (public interface, docs/schema.md).

One place turns the frozen model into plain dicts so that every writer (JSON, JSONL,
CSV, the store, reports) emits identical field names. ``SCHEMA_VERSION`` changes when a
field is removed or changes meaning; adding a field is a minor change.
"""

from __future__ import annotations

import json
from typing import Any

from smbsign.model import Finding, Provenance, ScanRecord

SCHEMA_VERSION = "1.1"  # 1.1: source.gpo, roles, drift (the domain view, #9); scan ldap (#12)


def scan_record_to_dict(rec: ScanRecord) -> dict[str, Any]:
    """Issue #2 fields: target, port, status, signing_required, smb1, smb2, reason (+ extras)."""
    smb2 = rec.smb2
    out: dict[str, Any] = {
        "target": rec.target,
        "hostname": rec.hostname,
        "port": rec.port,
        "transport": rec.transport,
        "status": rec.status.value,
        "signing_required": rec.signing_required,
        "relayable": rec.relayable,
        "smb1": {
            "offered": rec.smb1.offered,
            "signing": rec.smb1.signing.value if rec.smb1.signing else None,
            "security_mode": rec.smb1.security_mode,
            "capabilities": rec.smb1.capabilities,
            "reason": rec.smb1.reason,
        },
        "smb2": None
        if smb2 is None
        else {
            "dialect": smb2.dialect,
            "dialect_revision": smb2.dialect_revision,
            "security_mode": smb2.security_mode,
            "signing_required": smb2.signing_required,
            "capabilities": smb2.capabilities,
            "server_guid": smb2.server_guid,
            "cipher": smb2.cipher,
            "signing_algorithm": smb2.signing_algorithm,
        },
        "reason": rec.reason,
        "elapsed_ms": round(rec.elapsed_ms, 1),
    }
    if rec.ldap is not None:  # absent unless LDAP was probed: SMB-only output unchanged
        out["ldap"] = {
            "signing": rec.ldap.signing.value,
            "channel_binding": rec.ldap.channel_binding.value,
            "method": rec.ldap.method,
            "reason": rec.ldap.reason,
        }
    return out


def provenance_to_dict(src: Provenance | None) -> dict[str, Any] | None:
    if src is None:
        return None
    gpo = src.gpo
    return {
        "kind": src.kind,
        "path": src.path,
        "location": src.location,
        "layer": src.layer.value,
        "gpo": None
        if gpo is None
        else {"guid": gpo.guid, "name": gpo.name, "link": gpo.link, "enforced": gpo.enforced},
    }


def finding_to_dict(f: Finding) -> dict[str, Any]:
    """Issue #3 fields: host, control, status, observed, expected, source, reason (+ extras)."""
    return {
        "host": f.host,
        "control": f.control,
        "title": f.title,
        "status": f.status.value,
        "severity": f.severity,
        "weight": f.weight,
        "observed": f.observed,
        "expected": f.expected,
        "source": provenance_to_dict(f.source),
        "reason": f.reason,
        "notes": list(f.notes),
        "roles": list(f.roles),
        "drift": f.drift,
        "container": f.container,
    }


# Characters str.splitlines() and some log shippers treat as line breaks; escaped inside JSON
# strings so that one object is always one line (host names can come from file names).
_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(obj: Any, *, separators: tuple[str, str] | None = None) -> str:
    """``obj`` as one JSON Lines line (with its newline), UTF-8 text kept readable."""
    text = json.dumps(obj, ensure_ascii=False, separators=separators)
    if not text.isascii():  # translate() is slow; ASCII text has none of the breaks
        text = text.translate(_BREAKS)
    return text + "\n"

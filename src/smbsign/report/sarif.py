"""SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for code-scanning tools.

Mapping (docs/report.md, "SARIF"):

- one ``rule`` per control seen in the run, plus ``smb-signing-not-required`` for wire results;
- a result per scan record whose verdict is relayable (level ``error``) or unknown (``note``),
  and per finding that is ``fail`` (``error``), ``error`` (``warning``) or ``unknown``
  (``note``); passes and not-applicable are not results; our own status is kept in
  ``properties.status``;
- a host is the result's location: ``smb://<host>[:<port>]/`` as the artifact URI plus a
  logical location of kind ``host``; the evidence file or registry path is a related
  location (with the line as a region when known);
- ``partialFingerprints`` hash host, port and rule so that dashboards follow a result
  across runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from smbsign.model import Finding, Provenance, ScanRecord, Status
from smbsign.report.hints import WIRE_HINTS, WIRE_RULE, control_hints
from smbsign.run import CatalogLike, Run, RunInfo, clean, iso, summary_to_dict
from smbsign.verdict import RELAYABLE, Verdict, verdict, wording

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/smbsign/"

# GitHub code scanning reads "security-severity" (0.1-3.9 low ... 9.0+ critical).
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}
_LEVEL = {Status.FAIL: "error", Status.ERROR: "warning", Status.UNKNOWN: "note"}
_FILE_KINDS = frozenset(
    {"regfile", "gpttmpl", "secedit", "registrypol", "pwsh_json", "smbconf", "testparm", "hive"}
)
_LINE = re.compile(r"^line\s+(\d+)$", re.IGNORECASE)


def host_uri(host: str, port: int | None = None) -> str:
    """``smb://host[:port]/``; IPv6 in brackets, zone ``%`` encoded (RFC 6874)."""
    authority = f"[{quote(host, safe=':')}]" if ":" in host else quote(host, safe=".-_~")
    return f"smb://{authority}{'' if port is None else f':{port}'}/"


def file_uri(path: str) -> str:
    posix = path.replace("\\", "/")
    if re.match(r"^[A-Za-z]:/", posix):
        return "file:///" + quote(posix, safe="/:")
    if PurePosixPath(posix).is_absolute():
        return "file://" + quote(posix, safe="/")
    return quote(posix, safe="/")


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def _location(host: str, port: int | None) -> dict[str, Any]:
    return {
        "physicalLocation": {"artifactLocation": {"uri": host_uri(host, port)}},
        "logicalLocations": [
            {
                "name": host,
                "fullyQualifiedName": host if port is None else f"{host}:{port}",
                "kind": "host",
            }
        ],
    }


def _evidence(src: Provenance) -> dict[str, Any]:
    text = f"{src.kind} evidence ({src.layer.value} layer): {src.path} {src.location}".strip()
    loc: dict[str, Any] = {"id": 1, "message": {"text": text}}
    if src.kind in _FILE_KINDS and src.path:
        phys: dict[str, Any] = {"artifactLocation": {"uri": file_uri(src.path)}}
        m = _LINE.match(src.location.strip())
        if m and int(m.group(1)) > 0:
            phys["region"] = {"startLine": int(m.group(1))}
        loc["physicalLocation"] = phys
    else:
        name = "\\".join(p for p in (src.path, src.location) if p) or src.kind
        loc["logicalLocations"] = [{"fullyQualifiedName": name, "kind": src.kind}]
    return loc


def _rule(
    rule_id: str, title: str, text: str, severity: str, hints: Sequence[str]
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": text or title},
        "help": {
            "text": "\n".join(hints),
            "markdown": "\n".join(
                f"- `{h}`" if h.startswith("smbsign ") else f"- {h}" for h in hints
            ),
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "smb", "ntlm-relay"],
            "precision": "high",
            "problem.severity": "error",
            "security-severity": _SECURITY_SEVERITY.get(severity, "5.5"),
        },
    }


def _rules(run: Run, catalog: CatalogLike | None) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    if run.records:
        rules.append(
            _rule(
                WIRE_RULE,
                "SMB signing not required by the server",
                "The SMB server accepts unsigned sessions, so NTLM authentication relayed to it "
                "is likely to succeed (reference.md §7). Required encryption, SPN validation or "
                "NTLM restrictions the probe cannot see may still stop a relay.",
                "high",
                WIRE_HINTS,
            )
        )
    seen: dict[str, Finding] = {}
    for f in run.findings:
        seen.setdefault(f.control, f)
    for cid in sorted(seen):
        ctl = catalog.controls.get(cid) if catalog is not None else None
        f = seen[cid]
        rules.append(
            _rule(
                cid,
                ctl.title if ctl else (f.title or cid),
                ctl.rationale.strip() if ctl else (f.title or cid),
                ctl.severity if ctl else (f.severity or "medium"),
                control_hints(cid, catalog),
            )
        )
    return rules


def _record_result(r: ScanRecord, index: int) -> dict[str, Any] | None:
    v = verdict(r)
    if v in RELAYABLE:
        level = "error"
    elif v is Verdict.UNKNOWN:
        level = "note"
    else:
        return None
    return {
        "ruleId": WIRE_RULE,
        "ruleIndex": index,
        "level": level,
        "message": {"text": clean(f"{r.target}:{r.port}: {wording(r)}")},
        "locations": [_location(r.target, r.port)],
        "partialFingerprints": {"smbsignHost/v1": _fingerprint(r.target, r.port, WIRE_RULE)},
        "properties": {"verdict": v.value, "status": r.status.value, "reason": r.reason},
    }


def _finding_result(f: Finding, index: int) -> dict[str, Any] | None:
    level = _LEVEL.get(f.status)
    if level is None:
        return None
    seen = "not observed" if f.observed is None else f"observed {f.observed!r}"
    text = f"{f.host}: {f.title or f.control}: {f.status.value}"
    text += f" ({seen}, expected {f.expected})" if f.expected else f" ({seen})"
    text += f": {clean(f.reason)}" if f.reason else ""
    result: dict[str, Any] = {
        "ruleId": f.control,
        "ruleIndex": index,
        "level": level,
        "message": {"text": text},
        "locations": [_location(f.host, None)],
        "partialFingerprints": {"smbsignHost/v1": _fingerprint(f.host, "", f.control)},
        "properties": {"status": f.status.value, "observed": f.observed, "expected": f.expected},
    }
    if f.source is not None:
        result["relatedLocations"] = [_evidence(f.source)]
    return result


def sarif_log(run: Run, catalog: CatalogLike | None = None) -> dict[str, Any]:
    rules = _rules(run, catalog)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = [x for r in run.records if (x := _record_result(r, index[WIRE_RULE]))]
    results += [x for f in run.findings if (x := _finding_result(f, index[f.control]))]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "smbsign",
                        "version": run.tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"smbsign/{run.kind}/{run.id}"},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "commandLine": shlex.join(run.argv),
                        "arguments": list(run.argv),
                        "startTimeUtc": iso(run.started),
                        "endTimeUtc": iso(run.finished),
                    }
                ],
                "results": results,
                "properties": {"runId": run.id, "summary": summary_to_dict(run.summary)},
            }
        ],
    }


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    return (json.dumps(sarif_log(run, catalog), indent=2, ensure_ascii=False) + "\n").encode()

"""JUnit XML for CI gates (the shape InSpec's ``junit`` reporter and Jenkins/GitLab read).

A ``testsuite`` per host; a ``testcase`` per host×control (``classname`` = host, ``name`` =
control id), plus one per scanned port for the wire check ``smb-signing-not-required``.
``fail`` and a relayable verdict are ``<failure>``; ``error`` and ``unknown`` are
``<error>`` (type ``error`` / ``unknown``: could not determine is never green);
``not_applicable`` and ports with no SMB server are ``<skipped>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence

from smbsign.model import Finding, ScanRecord, Status
from smbsign.report.hints import WIRE_HINTS, WIRE_RULE, control_hints
from smbsign.run import CatalogLike, Run, RunInfo
from smbsign.verdict import RELAYABLE, Verdict, verdict, wording

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def x(text: object) -> str:
    """Text legal in XML 1.0 (control characters dropped)."""
    return _NOT_XML.sub("", "" if text is None else str(text))


def _outcome(tc: ET.Element, tag: str, kind: str, message: str, body: str = "") -> None:
    el = ET.SubElement(tc, tag, {"type": kind, "message": x(message)})
    if body:
        el.text = x(body)


def _record_case(suite: ET.Element, r: ScanRecord) -> str:
    tc = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": x(r.target),
            "name": f"{WIRE_RULE} (port {r.port})",
            "time": f"{r.elapsed_ms / 1000:.3f}",
        },
    )
    v = verdict(r)
    msg = wording(r)
    if v in RELAYABLE:
        _outcome(tc, "failure", "fail", msg, "\n".join(WIRE_HINTS))
        return "failure"
    if v is Verdict.UNKNOWN:
        _outcome(tc, "error", "unknown", msg)
        return "error"
    if v is Verdict.NO_SMB:
        ET.SubElement(tc, "skipped", {"message": x(msg)})
        return "skipped"
    ET.SubElement(tc, "system-out").text = x(msg)
    return "pass"


def _finding_case(suite: ET.Element, f: Finding, catalog: CatalogLike | None) -> str:
    tc = ET.SubElement(
        suite, "testcase", {"classname": x(f.host), "name": x(f.control), "time": "0"}
    )
    src = f.source
    evidence = f"{src.kind} {src.path} {src.location} ({src.layer.value})" if src else "none"
    body = "\n".join(
        [
            f"title: {f.title}",
            f"observed: {f.observed!r}",
            f"expected: {f.expected}",
            f"evidence: {evidence}",
            f"reason: {f.reason}",
            *(f"fix: {h}" for h in control_hints(f.control, catalog)),
        ]
    )
    message = f"{f.status.value}: {f.reason or f.title or f.control}"
    if f.status is Status.FAIL:
        _outcome(tc, "failure", "fail", message, body)
        return "failure"
    if f.status in (Status.ERROR, Status.UNKNOWN):
        _outcome(tc, "error", f.status.value, message, body)
        return "error"
    if f.status is Status.NOT_APPLICABLE:
        ET.SubElement(tc, "skipped", {"message": x(message)})
        return "skipped"
    ET.SubElement(tc, "system-out").text = x(body)
    return "pass"


def _count(el: ET.Element, outcomes: list[str], seconds: float) -> None:
    el.set("tests", str(len(outcomes)))
    for attr, key in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        el.set(attr, str(outcomes.count(key)))
    el.set("time", f"{seconds:.3f}")


def render(run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()) -> bytes:
    _ = trend
    stamp = run.started.strftime("%Y-%m-%dT%H:%M:%S")
    seconds = max(0.0, (run.finished - run.started).total_seconds())
    root = ET.Element("testsuites", {"name": f"smbsign {run.kind} {run.id}"})
    records: dict[str, list[ScanRecord]] = defaultdict(list)
    findings: dict[str, list[Finding]] = defaultdict(list)
    for r in run.records:
        records[r.target].append(r)
    for f in run.findings:
        findings[f.host].append(f)
    every: list[str] = []
    for host in sorted(set(records) | set(findings)):
        suite = ET.SubElement(
            root, "testsuite", {"name": x(host), "timestamp": stamp, "hostname": x(host)}
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "smbsign.run_id", "value": run.id})
        ET.SubElement(props, "property", {"name": "smbsign.kind", "value": run.kind})
        outcomes = [_record_case(suite, r) for r in sorted(records[host], key=lambda r: r.port)]
        outcomes += [
            _finding_case(suite, f, catalog)
            for f in sorted(findings[host], key=lambda f: f.control)
        ]
        _count(suite, outcomes, 0.0)
        every += outcomes
    _count(root, every, seconds)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"

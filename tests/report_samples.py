"""Sample runs and a small catalog for the report, store and CLI tests.

Built directly from the shared model (no engine): every verdict of docs/reference.md §5.9 appears
once, findings cover every status, and one record carries hostile text (HTML, markup,
formula and control characters) that every format must render inertly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from smbsign.catalog.schema import (
    Applicability,
    Check,
    Control,
    Desired,
    DesiredCmdlet,
    DesiredRegistry,
    DesiredSamba,
    Expect,
    Framework,
    RegistryCheck,
    Requirement,
)
from smbsign.model import (
    Finding,
    Layer,
    Provenance,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb1Signing,
    Smb2Observation,
    Status,
)
from smbsign.report.run import Run

HOSTILE = "<img src=x onerror=alert(1)>=cmd|' /C calc'!A0 [bold]x[/bold] | `x` \x1b[31m"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
SERVER = "lanman-server-require-signing"
CLIENT = "lanman-client-require-signing"
SMB1 = "smb1-server-disabled"
PW = "Sup3r-Secret-Pw"


@dataclass(frozen=True)
class SampleCatalog:
    controls: dict[str, Control] = field(default_factory=dict)
    frameworks: dict[str, Framework] = field(default_factory=dict)


def _control(cid: str, title: str, weight: int, key: str, severity: str) -> Control:
    return Control(
        id=cid,
        title=title,
        rationale=f"{title}: rationale.",
        severity=severity,  # type: ignore[arg-type]
        weight=weight,
        applies_to=Applicability(os_families=("windows", "samba")),
        side="client" if cid == CLIENT else "server",
        protocol="smb",
        check=Check(
            registry=RegistryCheck(
                key=key, value="RequireSecuritySignature", expected=Expect(equals=1)
            )
        ),
        desired=Desired(
            registry=(DesiredRegistry(key=key, value="RequireSecuritySignature", data=1),),
            samba=(DesiredSamba(parameter="server signing", value="mandatory"),)
            if cid == SERVER
            else (),
            cmdlet=DesiredCmdlet(
                cmdlet="Set-SmbServerConfiguration",
                parameter="RequireSecuritySignature",
                value=True,
            )
            if cid == SERVER
            else None,
        ),
    )


def catalog() -> SampleCatalog:
    base = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\"
    controls = {
        SERVER: _control(
            SERVER, "Server requires SMB signing", 10, base + "LanManServer\\Parameters", "high"
        ),
        CLIENT: _control(
            CLIENT,
            "Client requires SMB signing",
            5,
            base + "LanmanWorkstation\\Parameters",
            "medium",
        ),
        SMB1: _control(
            SMB1, "SMB1 server is disabled", 3, base + "LanManServer\\Parameters", "low"
        ),
    }
    frameworks = {
        "cis-win11": Framework(
            id="cis-win11",
            name="CIS Microsoft Windows 11 Enterprise",
            version="v3.0.0",
            requirements=(
                Requirement(id="2.3.8.1", title="Client: sign always", controls=(CLIENT,)),
                Requirement(id="2.3.9.2", title="Server: sign always", controls=(SERVER,)),
                Requirement(id="18.4.4", title="SMB1 server off", controls=(SMB1,)),
            ),
        ),
        "nist-800-53": Framework(
            id="nist-800-53",
            name="NIST SP 800-53",
            version="rev5",
            requirements=(
                Requirement(id="SC-8", title="Transmission integrity", controls=(SERVER, CLIENT)),
                Requirement(id="SC-23", title="Session authenticity", controls=("not-in-run",)),
            ),
        ),
    }
    return SampleCatalog(controls=controls, frameworks=frameworks)


def _smb2(mode: int) -> Smb2Observation:
    return Smb2Observation(dialect="3.1.1", dialect_revision=0x0311, security_mode=mode)


NO_SMB1 = Smb1Observation(offered=False)


def records() -> tuple[ScanRecord, ...]:
    return (
        ScanRecord("10.0.0.1", 445, ScanStatus.OK, True, NO_SMB1, _smb2(0x03)),
        ScanRecord("10.0.0.2", 445, ScanStatus.OK, False, NO_SMB1, _smb2(0x01)),
        ScanRecord(
            "10.0.0.3",
            445,
            ScanStatus.OK,
            False,
            Smb1Observation(True, Smb1Signing.DISABLED, 0x03, 0),
            None,
        ),
        ScanRecord(
            "10.0.0.4", 445, ScanStatus.ERROR, None, NO_SMB1, None, reason="smb2_status:0xc000000d"
        ),
        ScanRecord("10.0.0.5", 445, ScanStatus.CLOSED, None, NO_SMB1, None, reason="closed"),
        ScanRecord(
            "fe80::1%eth0", 445, ScanStatus.OK, False, NO_SMB1, _smb2(0x01), hostname=HOSTILE
        ),
    )


def _src(path: str, line: int) -> Provenance:
    return Provenance(kind="regfile", path=path, location=f"line {line}", layer=Layer.LOCAL)


def _finding(
    host: str, control: str, status: Status, observed: object, src: Provenance | None, reason: str
) -> Finding:
    ctl = catalog().controls[control]
    return Finding(
        host,
        control,
        status,
        observed,  # type: ignore[arg-type]
        "= 0" if control == SMB1 else "= 1",
        src,
        reason,
        title=ctl.title,
        severity=ctl.severity,
        weight=ctl.weight,
    )


def findings() -> tuple[Finding, ...]:
    F = _finding
    gpo = Provenance(
        "winreg", "HKLM\\SYSTEM\\...\\Parameters", "RequireSecuritySignature", Layer.GPO
    )
    dflt = Provenance("default", "defaults.yaml", "windows build 26100", Layer.DEFAULT)
    return (
        F("ws01", SERVER, Status.PASS, 1, _src("/evidence/ws01.reg", 4), "value is 1"),
        F("ws01", CLIENT, Status.FAIL, 0, _src("/evidence/ws01.reg", 7), "value is 0"),
        F("ws01", SMB1, Status.PASS, 0, dflt, "absent; default 0 on build 26100"),
        F("ws02", SERVER, Status.FAIL, 0, _src("C:\\gpo\\GptTmpl.inf", 12), HOSTILE),
        F("ws02", CLIENT, Status.UNKNOWN, None, None, "absent; default unknown"),
        F("ws02", SMB1, Status.NOT_APPLICABLE, None, None, "samba host"),
        F("dc01", SERVER, Status.PASS, 1, gpo, "value is 1"),
        F("dc01", CLIENT, Status.ERROR, None, None, "access denied"),
        F("dc01", SMB1, Status.PASS, 0, dflt, "absent; default 0"),
    )


def scan_run(run_id: str = "scanaaaa01", *, start: datetime = T0) -> Run:
    return Run(
        id=run_id,
        kind="scan",
        started=start,
        finished=start + timedelta(seconds=3),
        tool_version="0.1.0",
        argv=("smbsign", "scan", "10.0.0.0/29", "--db", "postgresql://u:***@db/x"),
        records=records(),
    )


def audit_run(run_id: str = "audtaaaa01", *, start: datetime = T0) -> Run:
    return Run(
        id=run_id,
        kind="audit",
        started=start,
        finished=start + timedelta(seconds=5),
        tool_version="0.1.0",
        argv=("smbsign", "audit", "--password", "***"),
        findings=findings(),
    )


def mixed_run(run_id: str = "mixdaaaa01") -> Run:
    """An audit that also carries wire records (both halves in every format)."""
    return replace(audit_run(run_id), records=records())


# Hand-computed expectations (weights: server 10, client 5, smb1 3).
# cis-win11: pass = ws01/server 10 + ws01/smb1 3 + dc01/server 10 + dc01/smb1 3 = 26;
#            scored = 26 + ws01/client 5 + ws02/server 10 + dc01/client (error) 5 = 46.
# nist-800-53 (server, client): pass 20; scored 20 + 5 + 10 + 5 = 40.
EXPECTED_SCORES = {"cis-win11": round(100 * 26 / 46, 1), "nist-800-53": 50.0}


def report_schema() -> dict[str, Any]:
    """The published report schema, checked to be a valid 2020-12 schema."""
    text = (resources.files("smbsign") / "schemas" / "report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


def schema_validator(ref: str | None = None) -> Draft202012Validator:
    """A validator for the whole document, or for one ``$defs`` entry (``jsonl_line``...)."""
    schema = report_schema()
    if ref is not None:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{ref}"}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def bulk_run(tag: str, n: int = 50) -> Run:
    """A run with ``n`` records and ``n`` findings (concurrency tests)."""
    recs = tuple(
        ScanRecord(
            f"10.9.{i // 250}.{i % 250}",
            445,
            ScanStatus.OK,
            i % 3 != 0,
            NO_SMB1,
            _smb2(0x01 if i % 3 == 0 else 0x03),
        )
        for i in range(n)
    )
    fnds = tuple(
        _finding(
            f"host{i}",
            SERVER,
            Status.PASS if i % 2 else Status.FAIL,
            i % 2,
            _src("/e.reg", i + 1),
            tag,
        )
        for i in range(n)
    )
    return Run(tag, "audit", T0, T0, "0.1.0", ("smbsign", "audit", tag), recs, fnds)


def write_runs(args: tuple[str, str, int]) -> list[str]:
    """Worker for the multi-process store test: record ``count`` runs, return their ids."""
    from smbsign.store import record_run

    url, prefix, count = args
    return [record_run(bulk_run(f"{prefix}{i:04d}"), url).id for i in range(count)]


REAL_IDS = {
    SERVER: "smb-server-signing-required",
    CLIENT: "smb-client-signing-required",
    SMB1: "smb1-server-disabled",
}


def real_catalog_run(run_id: str = "realaaaa01") -> Run:
    """The audit sample on the packaged catalog's control ids."""
    fs = tuple(replace(f, control=REAL_IDS[f.control]) for f in findings())
    return replace(audit_run(run_id), findings=fs, records=records())

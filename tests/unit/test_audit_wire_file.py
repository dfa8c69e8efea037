"""``smbsign audit --wire FILE``: the records of ``smbsign scan`` as wire evidence (#12 item 3).

A scan with ``--protocols smb,ldap,ldaps`` records what each domain controller did with NTLM
binds; given to ``audit`` with the DC's configuration, its ``ldap`` observation decides the
LDAP controls where it is proven (docs/ldap.md "The audit side"), as a NEGOTIATE answer
decides the SMB server signing control.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from smbsign.audit import WireSource
from smbsign.audit.sources import Wanted
from smbsign.cli import app
from smbsign.model import (
    ChannelBinding,
    LdapObservation,
    LdapSigning,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
)
from smbsign.serialize import scan_record_to_dict

RUNNER = CliRunner()
REG = (
    "Windows Registry Editor Version 5.00\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\NTDS\\Parameters]\r\n"
    '"LDAPServerIntegrity"=dword:00000002\r\n"LdapEnforceChannelBinding"=dword:00000002\r\n'
)


def _record(target: str, hostname: str | None, obs: LdapObservation) -> ScanRecord:
    return ScanRecord(
        target, 445, ScanStatus.OK, True, Smb1Observation(False), None, hostname=hostname, ldap=obs
    )


def _scan_file(tmp: Path, *records: ScanRecord, jsonl: bool = False) -> Path:
    path = tmp / ("scan.jsonl" if jsonl else "scan.json")
    dicts = [scan_record_to_dict(r) for r in records]
    if jsonl:
        path.write_text("".join(json.dumps(d) + "\n" for d in dicts))
    else:
        path.write_text(json.dumps({"kind": "smbsign.scan", "records": dicts}))
    return path


OPEN = LdapObservation(
    LdapSigning.NOT_REQUIRED,
    ChannelBinding.NEVER,
    "authenticated",
    "ldap: an authenticated NTLM bind without signing succeeded; "
    "ldaps: no token accepted, a wrong token accepted",
)


def _audit(*args: str) -> tuple[int, dict[str, Any], str]:
    res = RUNNER.invoke(app, ["audit", *args, "--format", "json", "--no-store"])
    doc = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    return res.exit_code, doc, res.stderr


def _by_control(doc: dict[str, Any], host: str) -> dict[str, dict[str, Any]]:
    return {f["control"]: f for f in doc["findings"] if f["host"] == host}


def test_wire_decides_the_ldap_controls_over_the_configuration(tmp_path: Path) -> None:
    """The registry export says Require signing and Always; the DC's answers on the wire say
    otherwise: the wire decides, with a note that the change has not been applied."""
    (tmp_path / "dc1").mkdir()
    (tmp_path / "dc1" / "ntds.reg").write_text(REG, encoding="utf-8")
    scan = _scan_file(tmp_path, _record("10.0.0.9", "dc1", OPEN))
    code, doc, err = _audit(
        str(tmp_path / "dc1" / "ntds.reg"),
        "--host",
        "dc1",
        "--role",
        "domain_controller",
        "--wire",
        str(scan),
    )
    assert code == 1, err
    found = _by_control(doc, "dc1")
    sign, cbt = found["ldap-server-signing-required"], found["ldap-server-channel-binding"]
    assert sign["status"] == "fail" and sign["source"]["layer"] == "wire", sign
    assert sign["source"]["path"] == "10.0.0.9:389"
    assert cbt["status"] == "fail" and cbt["observed"] == "never"
    assert any("not been applied" in n for n in sign["notes"])
    # without --wire the configuration decides
    code, doc, _ = _audit(
        str(tmp_path / "dc1" / "ntds.reg"), "--host", "dc1", "--role", "domain_controller"
    )
    assert _by_control(doc, "dc1")["ldap-server-signing-required"]["status"] == "pass"


def test_records_are_matched_by_name_address_or_the_one_host(tmp_path: Path) -> None:
    recs = (
        _record("10.0.0.9", "DC1", OPEN),  # by hostname, case-insensitive
        _record("10.0.0.7", None, OPEN),  # by address
        _record("10.0.0.5", "other", OPEN),  # names its own host
    )
    src = WireSource(recs)
    got = {e.host: e.observations for e in src.gather(Wanted(), ("dc1", "10.0.0.7"))}
    assert [r.target for r in got["dc1"]] == ["10.0.0.9"]
    assert [r.target for r in got["10.0.0.7"]] == ["10.0.0.7"]
    assert [r.target for r in got["other"]] == ["10.0.0.5"]
    # one host gathered, one server scanned: the records are that host's (as --probe does)
    (only,) = WireSource((recs[2],)).gather(Wanted(), ("dc1",))
    assert only.host == "dc1"


def test_jsonl_scan_output_is_read(tmp_path: Path) -> None:
    scan = _scan_file(tmp_path, _record("10.0.0.9", "dc1", OPEN), jsonl=True)
    code, doc, err = _audit(
        "--wire", str(scan), "--os-family", "windows", "--role", "domain_controller"
    )
    assert code == 1, err
    assert _by_control(doc, "dc1")["ldap-server-channel-binding"]["status"] == "fail"


def test_bad_wire_files_are_one_line_usage_errors(tmp_path: Path) -> None:
    findings = tmp_path / "findings.json"
    findings.write_text(json.dumps({"findings": [{"control": "x", "status": "pass"}]}))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    for path, words in (
        (findings, "not scan records"),
        (garbage, "garbage.json"),
        (tmp_path / "missing.json", "no such file"),
    ):
        code, _, err = _audit("--wire", str(path), "--os-family", "windows")
        assert code == 2, err
        assert words.lower() in err.lower() and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err

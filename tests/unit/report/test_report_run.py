"""Run model: redaction, ids, relay verdicts and wording (docs/reference.md §7), summaries."""

from __future__ import annotations

import re

import pytest

import report_samples as rs
from smbsign.model import ScanRecord, ScanStatus, Smb1Observation, Smb1Signing
from smbsign.report.decode import finding_from_dict, scan_record_from_dict
from smbsign.report.run import host_verdicts, new_run_id, redact_argv, redact_text, summarize
from smbsign.report.verdict import Verdict, verdict, wording
from smbsign.serialize import finding_to_dict, scan_record_to_dict


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audit", "--password", "hunter2", "h1"], ["audit", "--password", "***", "h1"]),
        (["audit", "--password=hunter2"], ["audit", "--password=***"]),
        (["audit", "--hashes", "aad3b435:31d6cfe0"], ["audit", "--hashes", "***"]),
        (
            ["audit", "--winrm-pass", "x", "-u", "bob"],
            ["audit", "--winrm-pass", "***", "-u", "bob"],
        ),
        (["audit", "--api-token=abc"], ["audit", "--api-token=***"]),
        (["audit", "--password-env", "SMB_PW"], ["audit", "--password-env", "SMB_PW"]),
        (["audit", "--password-file", "/run/pw"], ["audit", "--password-file", "/run/pw"]),
        (
            ["scan", "--db", "postgresql://bob:s3cret@db/x"],
            ["scan", "--db", "postgresql://bob:***@db/x"],
        ),
        (["scan", "--db=postgresql://bob:s3cret@db/x"], ["scan", "--db=postgresql://bob:***@db/x"]),
        (["scan", "10.0.0.0/24", "-p", "445"], ["scan", "10.0.0.0/24", "-p", "445"]),
        (["audit", "--password"], ["audit", "--password"]),
        (
            ["--db", "postgresql://u@h/db?password=s3cret"],
            ["--db", "postgresql://u@h/db?password=***"],
        ),
        (
            ["--db", "postgresql://u@h/x?sslmode=require&sslpassword=s3cret&a=1"],
            ["--db", "postgresql://u@h/x?sslmode=require&sslpassword=***&a=1"],
        ),
        (["--db", "postgresql://u@corp:s3cret@h/db"], ["--db", "postgresql://u@corp:***@h/db"]),
        (["--db", "postgresql://u:s3@cret@h/db"], ["--db", "postgresql://u:***@h/db"]),
        (["--db", "postgresql://u:s3 cret@h/db"], ["--db", "postgresql://u:***@h/db"]),
        (["--db", "postgresql://u@h:5432/db"], ["--db", "postgresql://u@h:5432/db"]),
    ],
)
def test_redact_argv(argv: list[str], expected: list[str]) -> None:
    assert redact_argv(argv) == tuple(expected)


def test_redact_text_keeps_urls_without_password() -> None:
    assert redact_text("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"
    assert redact_text("see postgresql://u@h/db") == "see postgresql://u@h/db"
    assert "pw" not in redact_text("a https://u:pw@h/ b postgresql://v:pw@h/x")


def test_run_ids_are_short_unique_and_never_numeric() -> None:
    ids = {new_run_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[a-z][0-9a-z]{9}", i) for i in ids)


WORDING = {
    "10.0.0.1": "SMB signing required — relay to SMB on this host blocked "
    "(other protocols not covered)",
    "10.0.0.2": "SMB signing not required (relay to SMB likely)",
    "10.0.0.3": "SMB1 signing disabled (relay to SMB likely); SMB1 enabled",
    "10.0.0.4": "Could not determine SMB signing (smb2_status:0xc000000d)",
    "10.0.0.5": "Could not determine SMB signing (closed)",
}


def test_wording_is_domain_7_verbatim() -> None:
    by_host = {r.target: r for r in rs.records()}
    for host, text in WORDING.items():
        assert wording(by_host[host]) == text


def test_unknown_is_never_relayable_nor_safe() -> None:
    rec = ScanRecord("h", 445, ScanStatus.OK, None, Smb1Observation(None), None)
    assert verdict(rec) is Verdict.UNKNOWN
    s = summarize([rec], [])
    assert (s.relayable, s.required, s.unknown) == (0, 0, 1)


def test_smb1_enabled_but_not_required_is_not_required() -> None:
    smb1 = Smb1Observation(True, Smb1Signing.ENABLED, 0x07)
    rec = ScanRecord("h", 445, ScanStatus.OK, False, smb1, None)
    assert verdict(rec) is Verdict.NOT_REQUIRED


def test_host_verdict_takes_the_relayable_port() -> None:
    ok = ScanRecord("h", 445, ScanStatus.OK, True, Smb1Observation(False), rs._smb2(3))
    bad = ScanRecord("h", 139, ScanStatus.OK, False, Smb1Observation(False), rs._smb2(1))
    err = ScanRecord("g", 445, ScanStatus.OK, True, Smb1Observation(False), rs._smb2(3))
    err139 = ScanRecord("g", 139, ScanStatus.ERROR, None, Smb1Observation(None), None)
    got = host_verdicts([ok, bad, err, err139])
    assert got == {"h": Verdict.NOT_REQUIRED, "g": Verdict.UNKNOWN}


def test_summary_counts_sample_scan() -> None:
    s = rs.scan_run().summary
    assert (s.hosts, s.smb_hosts, s.relayable, s.required, s.unknown) == (6, 4, 3, 1, 1)
    a = rs.audit_run().summary
    assert a.hosts == 3
    assert a.findings == {"pass": 4, "fail": 2, "unknown": 1, "not_applicable": 1, "error": 1}


def test_decode_round_trips_the_published_shapes() -> None:
    for rec in rs.records():
        assert scan_record_to_dict(scan_record_from_dict(scan_record_to_dict(rec))) == (
            scan_record_to_dict(rec)
        )
    for f in rs.findings():
        assert finding_from_dict(finding_to_dict(f)) == f

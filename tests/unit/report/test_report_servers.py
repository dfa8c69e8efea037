"""Issue #11 item 23: hosts in numeric address order with failures first in the human-facing
reports (table, Markdown, HTML), and one server reached at several addresses (the same SMB2
ServerGuid) counted and shown once -- never merged on a zero GUID or on Samba's name-derived
GUID alone."""

from __future__ import annotations

import uuid
from dataclasses import replace

import report_samples as rs
from smbsign.model import (
    Finding,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb2Observation,
    Status,
)
from smbsign.report import html, markdown, table
from smbsign.report.run import Run, server_addresses, server_key

WIN_GUID = "6b3c1e0a-4f2d-4e8a-9b7c-0123456789ab"  # random-looking (Windows)
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
# What Samba sends: the lower-cased NetBIOS name, zero padded (seen from the lab's servers).
SAMBA_GUID = str(uuid.UUID(bytes_le=b"lab-default".ljust(16, b"\0")))
NO_SMB1 = Smb1Observation(offered=False)


def rec(target: str, required: bool | None, guid: str = "", **kw: object) -> ScanRecord:
    mode = 0x03 if required else 0x01
    smb2 = Smb2Observation("3.1.1", 0x0311, mode, server_guid=guid)
    status = ScanStatus.OK if required is not None else ScanStatus.ERROR
    return ScanRecord(target, 445, status, required, NO_SMB1, smb2, **kw)  # type: ignore[arg-type]


def run_of(records: list[ScanRecord], findings: tuple[Finding, ...] = ()) -> Run:
    return replace(rs.scan_run("srvsaaaa01"), records=tuple(records), findings=findings)


def order(text: str, needles: list[str]) -> list[int]:
    return [text.index(n) for n in needles]


# ------------------------------------------------------------------------ ordering


ORDER_RECORDS = [
    rec("10.0.0.10", True),
    rec("nas.example", True),
    rec("fd00::1", True),
    rec("10.0.0.2", True),
    rec("10.0.0.9", False),  # the failure: first
]
WANT = ["10.0.0.9", "10.0.0.2", "10.0.0.10", "fd00::1", "nas.example"]


def _positions_increase(text: str, needles: list[str]) -> bool:
    pos = order(text, needles)
    return pos == sorted(pos)


def test_table_hosts_numeric_and_failures_first() -> None:
    text = table.render(run_of(ORDER_RECORDS)).decode()
    assert _positions_increase(text, WANT), text


def test_markdown_hosts_numeric_and_failures_first() -> None:
    text = markdown.render(run_of(ORDER_RECORDS)).decode()
    assert _positions_increase(text, [w.replace(".", ".") for w in WANT]), text


def test_html_hosts_numeric_and_failures_first() -> None:
    text = html.render(run_of(ORDER_RECORDS)).decode()
    body = text[text.index("<table", text.index('id="hosts"')) :]
    assert _positions_increase(body, WANT), body[:3000]


def _finding(host: str, status: Status) -> Finding:
    f = rs.findings()[0]
    return replace(f, host=host, status=status)


FINDINGS = (
    _finding("10.0.0.10", Status.PASS),
    _finding("10.0.0.2", Status.PASS),
    _finding("10.0.0.30", Status.FAIL),
)


def test_findings_failures_first_then_numeric() -> None:
    run = replace(rs.audit_run("srvsaaaa02"), findings=FINDINGS)
    want = ["10.0.0.30", "10.0.0.2", "10.0.0.10"]
    assert _positions_increase(table.render(run).decode(), want)
    md = markdown.render(run).decode()
    assert _positions_increase(md, want)
    page = html.render(run).decode()
    assert _positions_increase(page[page.index('id="findings"') :], want)


# ----------------------------------------------------------------------- merging


def test_same_random_guid_is_one_server_with_both_addresses() -> None:
    run = run_of([rec("fd00::7", False, WIN_GUID), rec("10.0.0.7", False, WIN_GUID)])
    s = run.summary
    assert (s.hosts, s.smb_hosts, s.relayable) == (1, 1, 1)
    assert server_addresses(run.records)["fd00::7"] == ("10.0.0.7", "fd00::7")
    text = table.render(run).decode()
    assert "10.0.0.7, fd00::7" in text and text.count("fd00::7") == 1
    assert "10.0.0.7, fd00::7" in markdown.render(run).decode()
    assert "10.0.0.7, fd00::7" in html.render(run).decode()


def test_the_worse_answer_of_a_merged_server_counts() -> None:
    run = run_of([rec("10.0.0.7", True, WIN_GUID), rec("fd00::7", False, WIN_GUID)])
    s = run.summary
    assert (s.hosts, s.relayable, s.required) == (1, 1, 0)
    text = table.render(run).decode()
    assert "10.0.0.7" in text and "fd00::7" in text  # different answers: both rows kept


def test_zero_or_absent_guid_never_merges() -> None:
    for guid in (ZERO_GUID, ""):
        run = run_of([rec("10.0.0.7", False, guid), rec("10.0.0.8", False, guid)])
        assert run.summary.hosts == 2
        assert server_key(run.records[0]) is None


def test_samba_name_guid_merges_only_with_the_same_host_name() -> None:
    """Two Samba servers with one NetBIOS name send the same GUID (they are two servers)."""
    two = run_of([rec("10.0.0.7", False, SAMBA_GUID), rec("10.0.0.8", False, SAMBA_GUID)])
    assert two.summary.hosts == 2
    named = run_of(
        [
            rec("10.0.0.7", False, SAMBA_GUID, hostname="nas.example"),
            rec("fd00::7", False, SAMBA_GUID, hostname="NAS.example"),
        ]
    )
    assert named.summary.hosts == 1


def test_failed_probe_guid_is_ignored() -> None:
    bad = replace(rec("10.0.0.8", None, WIN_GUID), status=ScanStatus.ERROR)
    run = run_of([rec("10.0.0.7", False, WIN_GUID), bad])
    assert run.summary.hosts == 2


def test_reports_say_when_the_run_is_incomplete() -> None:
    """Issue #11 item 17: a report of an interrupted run says so in its headline."""
    done = run_of(ORDER_RECORDS)
    cut = replace(done, complete=False)
    for render in (table.render, markdown.render, html.render):
        assert "incomplete" not in render(done).decode().lower()
        assert "incomplete (interrupted" in render(cut).decode()

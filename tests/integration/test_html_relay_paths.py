"""The HTML report's relay-paths view in a real headless Chromium (#12 item 6).

A scan with ``--protocols smb,ldap,ldaps`` carries ``ldap`` in its records: the page then shows,
per host, SMB 445 / 139, LDAP 389 and LDAPS 636 side by side, each open / partial / closed /
unknown / not probed, hosts with an open path first, and the open paths are exactly the
ntlmrelayx relay list of the same records. An SMB-only run has no such section.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_html_report import browser  # noqa: F401  (the Debian chromium fixture)

import report_samples as rs
from smbsign.model import (
    ChannelBinding,
    LdapObservation,
    LdapSigning,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
)
from smbsign.output.relay import relay_urls_bytes
from smbsign.report import html
from smbsign.report.run import Run
from smbsign.scan.output import Tally

NO_SMB1 = Smb1Observation(False)
HOSTILE = "<img src=x onerror=alert(1)>"


def _obs(signing: LdapSigning, binding: ChannelBinding, reason: str) -> LdapObservation:
    return LdapObservation(signing, binding, "unauthenticated", reason)


def _smb(address: str, required: bool | None, port: int = 445, **kw: Any) -> ScanRecord:
    status = ScanStatus.OK if required is not None else ScanStatus.CLOSED
    return ScanRecord(address, port, status, required, NO_SMB1, None, **kw)


def records() -> tuple[ScanRecord, ...]:
    """dc1: SMB closed, LDAP open, LDAPS open. dc2: everything closed. dc3: LDAP unknown,
    LDAPS when supported. ws1: SMB open, no LDAP server. dc4: LDAP only (SMB not probed),
    LDAPS without TLS, hostile host name."""
    return (
        _smb(
            "10.0.0.11",
            True,
            ldap=_obs(
                LdapSigning.NOT_REQUIRED,
                ChannelBinding.NEVER,
                "ldap: an anonymous NTLM bind without signing succeeded; "
                "ldaps: no token accepted, a wrong token accepted",
            ),
        ),
        _smb("10.0.0.11", True, port=139),
        _smb(
            "10.0.0.12",
            True,
            ldap=_obs(
                LdapSigning.REQUIRED,
                ChannelBinding.ALWAYS,
                "ldap: an anonymous NTLM bind without signing: strongerAuthRequired; "
                "ldaps: no token: resultCode 49 data 80090346",
            ),
        ),
        _smb(
            "10.0.0.13",
            True,
            ldap=_obs(
                LdapSigning.UNKNOWN,
                ChannelBinding.WHEN_SUPPORTED,
                "ldap: an anonymous NTLM bind without signing refused: resultCode 49; give "
                "--user to decide; ldaps: no token accepted, a wrong token refused",
            ),
        ),
        _smb(
            "10.0.0.21",
            False,
            ldap=_obs(
                LdapSigning.UNKNOWN,
                ChannelBinding.NO_TLS,
                "ldap: port 389 closed; ldaps: port 636 closed",
            ),
        ),
        ScanRecord(
            "10.0.0.14",
            445,
            ScanStatus.ERROR,
            None,
            NO_SMB1,
            None,
            reason="not_probed: smb not in --protocols",
            hostname=HOSTILE,
            ldap=_obs(
                LdapSigning.REQUIRED,
                ChannelBinding.NO_TLS,
                "ldap: an anonymous NTLM bind without signing: strongerAuthRequired; "
                "ldaps: TLS handshake on 636 failed (ConnectionResetError)",
            ),
        ),
    )


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:  # noqa: F811
    run = replace(rs.scan_run("relayaaa01"), records=records())
    path = tmp_path / "report.html"
    path.write_bytes(html.render(run, rs.catalog()))
    pg = browser.new_page(viewport={"width": 1360, "height": 900})
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    pg.goto(path.as_uri(), wait_until="load")
    try:
        yield pg, console
    finally:
        pg.close()


def _states(pg: Any) -> dict[str, list[str]]:
    rows = pg.locator("#relay-table tbody tr").all()
    out = {}
    for row in rows:
        host = row.locator("td").first.inner_text().split(" ")[0]
        out[host] = [c.get_attribute("data-state") for c in row.locator("td[data-path]").all()]
    return out


def test_relay_paths_side_by_side(page: tuple[Any, list[str]]) -> None:
    pg, console = page
    assert pg.locator("#relay-table thead th").all_inner_texts() == [
        "Host",
        "SMB 445",
        "SMB 139",
        "LDAP 389",
        "LDAPS 636",
        "Open paths",
    ]
    assert _states(pg) == {
        "10.0.0.11": ["closed", "closed", "open", "open"],
        "10.0.0.21": ["open", "not_probed", "closed", "closed"],
        "10.0.0.13": ["closed", "not_probed", "unknown", "partial"],
        "10.0.0.12": ["closed", "not_probed", "closed", "closed"],
        "10.0.0.14": ["not_probed", "not_probed", "closed", "closed"],
    }
    # hosts with an open path first, then partly open, unknown, closed (by address)
    order = pg.locator("#relay-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-status'))"
    )
    assert order == ["open", "open", "partial", "closed", "closed"]
    # the reason is on the cell; the hostile name is text
    cell = pg.locator('#relay-table tr:has-text("10.0.0.11") td[data-path="LDAP 389"]')
    assert "signing not required" in cell.get_attribute("title")
    assert HOSTILE in pg.inner_text("#relay-paths")
    assert pg.locator("img").count() == 0
    assert not [m for m in console if m.startswith(("error", "pageerror", "warning"))], console


def test_open_paths_are_the_relay_list(page: tuple[Any, list[str]]) -> None:
    """Every open path on the page is a line of the ntlmrelayx list of the same records, and
    nothing else is."""
    pg, _ = page
    tally = Tally()
    for rec in records():
        tally.add(rec)
    listed = relay_urls_bytes(tally.relay_targets()).decode().split()
    scheme = {"SMB 445": "smb", "SMB 139": "smb", "LDAP 389": "ldap", "LDAPS 636": "ldaps"}
    shown = set()
    for row in pg.locator('#relay-table tbody tr[data-status="open"]').all():
        host = row.locator("td").first.inner_text().split(" ")[0]
        for path in row.get_attribute("data-open").split(", "):
            shown.add(f"{scheme[path]}://{host}")
    assert shown == set(listed) == {"ldap://10.0.0.11", "ldaps://10.0.0.11", "smb://10.0.0.21"}


def test_filter_by_state(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    pg.select_option('[data-filter-status="relay-table"]', "open")
    assert pg.locator('[data-visible="relay-table"]').inner_text() == "2"
    pg.select_option('[data-filter-status="relay-table"]', "")
    pg.fill('[data-filter="relay-table"]', "10.0.0.13")
    visible = pg.locator("#relay-table tbody tr:not([hidden])").all()
    assert len(visible) == 1 and "when supported" in visible[0].inner_text()


def test_smb_only_run_has_no_relay_paths_section(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    run: Run = rs.mixed_run("smbonlyaa1")
    assert html.relay_paths(run.records) == []
    path = tmp_path / "report.html"
    path.write_bytes(html.render(run, rs.catalog()))
    pg = browser.new_page()
    try:
        pg.goto(path.as_uri(), wait_until="load")
        assert pg.locator("#relay-paths").count() == 0
        assert pg.locator("#hosts-table tbody tr").count() == len(run.records)
    finally:
        pg.close()

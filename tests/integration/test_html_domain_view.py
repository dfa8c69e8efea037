"""The HTML report's OU / role view of a domain run in a real headless Chromium (#9 item 5).

A run of ``smbsign ad audit`` (findings with ``container``, ``source.gpo``, ``roles``,
``drift``) shows which GPO decides for which OU (through which link, enforced or not), which
computers drift, and which OUs no signing GPO reaches; a run without domain findings has no
such section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_html_report import browser  # noqa: F401  (the Debian chromium fixture)

import report_samples as rs
from smbsign.model import Finding, GpoRef, Layer, Provenance, Status
from smbsign.report import html
from smbsign.report.domain_view import domain_view
from smbsign.report.run import Run

DOM = "DC=lab,DC=test"
SERVERS, WS, LOOSE = f"OU=Servers,{DOM}", f"OU=Workstations,{DOM}", f"CN=Computers,{DOM}"
HOSTILE = "<img src=x onerror=alert(1)>"
CONTROL = "smb-server-signing-required"


def _f(
    host: str,
    container: str,
    status: Status,
    gpo: GpoRef | None,
    role: str,
    drift: bool | None = None,
) -> Finding:
    kind, layer = ("gpttmpl", Layer.GPO) if gpo else ("default", Layer.DEFAULT)
    if drift is not None:
        kind, layer = "wire", Layer.WIRE
    src = Provenance(kind, f"{host}:445", "", layer, gpo)
    return Finding(
        host, CONTROL, status, None, "required", src, "r", roles=(role,), drift=drift,
        container=container,
    )  # fmt: skip


def domain_run() -> Run:
    on = GpoRef("{A}", "Servers Signing On", SERVERS, False)
    enf = GpoRef("{B}", HOSTILE, WS, True)
    return Run(
        id="domaaaaa01",
        kind="audit",
        started=rs.T0,
        finished=rs.T0,
        tool_version="0.1.0",
        argv=("smbsign", "ad", "audit"),
        findings=(
            _f("srv1.lab.test", SERVERS, Status.PASS, on, "member_server", drift=False),
            _f("srv2.lab.test", SERVERS, Status.PASS, on, "member_server"),
            _f("ws1.lab.test", WS, Status.FAIL, enf, "workstation", drift=True),
            _f("ws2.lab.test", WS, Status.PASS, enf, "workstation", drift=False),
            _f("loose1.lab.test", LOOSE, Status.FAIL, None, "member_server"),
        ),
    )


def test_domain_view_shows_gpos_per_ou_drift_and_unreached_ous(
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "domain.html"
    path.write_bytes(html.render(domain_run(), rs.catalog()))
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        rows = page.locator("#ou-table tbody tr")
        assert rows.evaluate_all("rs => rs.map(r => r.getAttribute('data-container'))") == [
            LOOSE,
            SERVERS,
            WS,
        ]  # parents first: CN=Computers, then the OUs by name
        srv = page.locator(f'#ou-table tr[data-container="{SERVERS}"]')
        assert srv.get_attribute("data-no-gpo") == "false"
        assert "Servers Signing On" in srv.inner_text() and SERVERS in srv.inner_text()
        ws = page.locator(f'#ou-table tr[data-container="{WS}"]')
        assert ws.get_attribute("data-drifting") == "1" and "ws1.lab.test" in ws.inner_text()
        assert "enforced" in ws.inner_text() and HOSTILE in ws.inner_text()  # text, not markup
        assert page.locator("img").count() == 0
        loose = page.locator(f'#ou-table tr[data-container="{LOOSE}"]')
        assert loose.get_attribute("data-no-gpo") == "true"
        assert "no signing GPO reaches it" in loose.inner_text()
        assert "1 OU(s) no signing GPO reaches" in page.inner_text("#domain")
        role = page.locator('#role-table tr[data-role="workstation"]')
        assert role.get_attribute("data-drifting") == "1"
        page.fill('input[data-filter="ou-table"]', "Workstations")
        visible = page.locator("#ou-table tbody tr:not([hidden])")
        assert visible.count() == 1
        assert not errors, errors
    finally:
        page.close()


def test_a_run_without_domain_findings_has_no_domain_view() -> None:
    assert domain_view(rs.findings()) is None
    assert b'id="domain"' not in html.render(rs.mixed_run(), rs.catalog())

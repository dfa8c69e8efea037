"""``smbsign ad audit`` end to end against the real lab Samba AD DC (one test per precedence rule).

The CLI runs in the lab's client namespace, binds as the low-privilege auditor (NTLM over SASL,
sealed), reads SYSVOL over signed SMB and must find, for each computer of the standard domain
(``smbsign.lab.adstandard``), the deciding GPO and link of the server-signing value.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import AdTestDomain

pytestmark = pytest.mark.timeout(900)

CONTROL = "smb-server-signing-required"
SMBSIGN = str(Path(sys.executable).with_name("smbsign"))


def ad_cli(d: AdTestDomain, *argv: str, password_file: Path | None = None) -> tuple[int, str, str]:
    pw = password_file or d.auditor_password_file
    user = f"{d.ad.spec.domain}\\{d.auditor}"
    cmd = [SMBSIGN, "ad", *argv, "--dc", d.ad.address, "--user", user, "--password-file", str(pw)]
    proc = d.ad.run_client(cmd, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def audited(addc: AdTestDomain) -> dict[str, Any]:
    code, out, err = ad_cli(addc, "audit", "-f", "json", "--no-store")
    assert code in (0, 1), err[-2000:]
    doc = json.loads(out)
    by_host: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        host = f["host"].split(".")[0].upper()
        if f["control"] == CONTROL:
            by_host[host] = f
        if f["status"] == "error":
            errors.setdefault(host, []).append(f)
    return {"by_host": by_host, "errors": errors, "stderr": err, "doc": doc}


def deciding(audited: dict[str, Any], host: str) -> tuple[str, str | None, str | None, bool | None]:
    f = audited["by_host"][host]
    gpo = (f["source"] or {}).get("gpo") or {}
    print(host, f["status"], f["reason"], f["notes"], audited["errors"].get(host), sep="\n  ")
    return f["status"], gpo.get("name"), gpo.get("link"), gpo.get("enforced")


def test_link_order_1_wins_and_version_mismatch_is_a_note(
    addc: AdTestDomain, audited: dict[str, Any]
) -> None:
    servers = addc.built.som_dn("Servers")
    assert deciding(audited, "SRV1") == ("pass", "Servers Signing On", servers, False)
    assert "Servers Signing On" in audited["stderr"] and "GPT.INI" in audited["stderr"]
    notes = " | ".join(audited["by_host"]["SRV1"]["notes"])
    assert "version in the directory" in notes and "GPT.INI" in notes


def test_child_ou_beats_parent_and_disabled_link_is_ignored(
    addc: AdTestDomain, audited: dict[str, Any]
) -> None:
    tier1 = addc.built.som_dn("Servers/Tier1")
    assert deciding(audited, "SRV2") == ("fail", "Tier1 Signing Off", tier1, False)


def test_ou_beats_domain_and_enforced_link_survives_block(
    addc: AdTestDomain, audited: dict[str, Any]
) -> None:
    ws = addc.built.som_dn("Workstations")
    for host in ("WS1", "WS2", "WS3"):
        assert deciding(audited, host) == ("pass", "WS Signing Enforced", ws, True), host
    assert audited["by_host"]["WS1"]["roles"] == ["workstation"]


def test_wmi_filter_makes_it_unknown_and_missing_folder_is_an_error(
    audited: dict[str, Any],
) -> None:
    status, name, _, _ = deciding(audited, "EXCH1")
    assert status == "unknown" and name == "Exchange WMI Signing On"
    assert "WMI filter" in audited["by_host"]["EXCH1"]["reason"]
    assert any("Ghost Policy" in e["reason"] for e in audited["errors"].get("EXCH1", []))


def test_security_filtering_apply_grant_and_deny(
    addc: AdTestDomain, audited: dict[str, Any]
) -> None:
    sccm = addc.built.som_dn("SCCM")
    domain = addc.built.base_dn
    assert deciding(audited, "SCCM1") == ("pass", "SCCM Signing On (filtered)", sccm, False)
    assert deciding(audited, "SCCM2") == ("fail", "Domain Signing Off", domain, False)
    assert deciding(audited, "SCCM3") == ("fail", "Domain Signing Off", domain, False)
    assert deciding(audited, "LOOSE1") == ("fail", "Domain Signing Off", domain, False)


def test_computer_settings_disabled_gpo_is_skipped(
    addc: AdTestDomain, audited: dict[str, Any]
) -> None:
    dcs = addc.built.som_dn("Domain Controllers")
    assert deciding(audited, "DC2") == ("pass", "DC Signing On", dcs, False)


def test_the_samba_dc_is_judged_as_samba_not_by_windows_gpo_values(
    audited: dict[str, Any],
) -> None:
    dcs = [h for h, f in audited["by_host"].items() if f["roles"][:1] == ["domain_controller"]]
    assert len(dcs) == 1
    f = audited["by_host"][dcs[0]]
    assert f["status"] == "pass" and f["source"]["kind"] == "default" and f["source"]["gpo"] is None
    assert "samba" in f["reason"].lower()


def test_no_secret_in_output_and_computers_listing(
    addc: AdTestDomain, audited: dict[str, Any]
) -> None:
    secret = addc.auditor_password_file.read_text().strip()
    assert secret not in json.dumps(audited["doc"]) and secret not in audited["stderr"]
    code, out, err = ad_cli(addc, "computers")
    assert code == 0, err
    names = {line.split(".")[0].upper() for line in out.splitlines()}
    assert {"SRV1", "WS2", "SCCM3", "LOOSE1"} <= names


def test_wrong_password_is_one_line_exit_3(addc: AdTestDomain, tmp_path: Path) -> None:
    bad = addc.ad.password_file.parent / "wrong.pw"
    bad.write_text("not-the-password\n")
    code, out, err = ad_cli(addc, "audit", "--no-store", password_file=bad)
    assert code == 3 and out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "wrong user name or password" in lines[0], err


def test_gpos_that_do_not_decide_are_explained(audited: dict[str, Any]) -> None:
    notes = {h: " | ".join(audited["by_host"][h]["notes"]) for h in ("SCCM2", "SRV2", "WS2")}
    assert (
        "'SCCM Signing On (filtered)'" in notes["SCCM2"] and "security filtering" in notes["SCCM2"]
    )
    assert "'Tier1 Disabled Link On'" in notes["SRV2"] and "link is disabled" in notes["SRV2"]
    assert "'Domain Signing Off'" in notes["WS2"] and "blocks inheritance" in notes["WS2"]


def test_stored_run_reads_back_with_source_gpo_and_no_secret(addc: AdTestDomain) -> None:
    store = addc.ad.password_file.parent / "ad-history.db"
    db = f"sqlite:///{store}"
    code, _, err = ad_cli(
        addc, "audit", "-f", "jsonl", "-o", str(store.with_suffix(".jsonl")), "--db", db
    )
    assert code == 1, err
    proc = addc.ad.run_client([SMBSIGN, "report", "latest", "--db", db, "-f", "json"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    srv1 = next(
        f for f in doc["findings"] if f["host"].startswith("srv1.") and f["control"] == CONTROL
    )
    assert srv1["source"]["gpo"]["name"] == "Servers Signing On"
    assert srv1["roles"] == ["member_server"]
    secret = addc.auditor_password_file.read_text().strip()
    assert secret not in store.read_bytes().decode("utf-8", "replace")


def test_nt_hash_from_the_environment_binds_ldap_and_smb(addc: AdTestDomain) -> None:
    from impacket.ntlm import compute_nthash

    nthash = compute_nthash(addc.auditor_password_file.read_text().strip()).hex()
    user = f"{addc.ad.spec.domain}\\{addc.auditor}"
    proc = addc.ad.run_client(
        [
            "env",
            f"SMBSIGN_NTHASH={nthash}",
            SMBSIGN,
            "ad",
            "audit",
            "--dc",
            addc.ad.address,
            "--user",
            user,
            "-f",
            "jsonl",
            "--no-store",
        ],
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr
    hosts = {json.loads(line)["host"].split(".")[0].upper() for line in proc.stdout.splitlines()}
    assert {"SRV1", "WS1", "LOOSE1"} <= hosts


_BIG_SEARCH = r"""
import sys, time
from pathlib import Path
from smbsign.ad.ldap import LdapDirectory, SUBTREE
from smbsign.collect.winreg_remote import Credentials
dc, domain, user, pwfile, base = sys.argv[1:6]
creds = Credentials(user, domain, password=Path(pwfile).read_text().strip())
t = time.monotonic()
with LdapDirectory(dc, creds, timeout=60) as d:
    n = sum(1 for _ in d.search(base, SUBTREE, "(objectClass=*)", ["*"]))
print(n, round(time.monotonic() - t, 1))
"""


def test_sealed_paged_search_of_thousands_of_entries(addc: AdTestDomain) -> None:
    """Many sealed SASL buffers per page: the whole schema partition (about 1,500 objects with
    every attribute) reads back completely, page after page."""
    base = f"CN=Schema,CN=Configuration,{addc.built.base_dn}"
    proc = addc.ad.run_client(
        [
            sys.executable,
            "-c",
            _BIG_SEARCH,
            addc.ad.address,
            addc.ad.spec.domain,
            addc.auditor,
            str(addc.auditor_password_file),
            base,
        ],
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    print("schema partition:", proc.stdout.strip())
    count = int(proc.stdout.split()[0])
    assert count > 1000, proc.stdout


@pytest.fixture(scope="module")
def scanned(addc: AdTestDomain) -> dict[str, Any]:
    """``ad audit --scan``: SRV1 -> the mandatory-signing smbd, SRV2 and WS1 -> the default one;
    other computers have no DNS record in the DC's zone."""
    code, out, err = ad_cli(addc, "audit", "--scan", "-f", "json", "--no-store")
    assert code in (0, 1), err[-2000:]
    by_host = {
        f["host"].split(".")[0].upper(): f
        for f in json.loads(out)["findings"]
        if f["control"] == CONTROL
    }
    return {"by_host": by_host, "stderr": err}


def test_scan_drift_true_when_the_wire_disagrees_with_the_winning_gpo(
    addc: AdTestDomain, scanned: dict[str, Any]
) -> None:
    ws1 = scanned["by_host"]["WS1"]
    print(ws1)
    assert ws1["status"] == "fail" and ws1["drift"] is True
    assert ws1["source"]["kind"] == "wire"
    assert ws1["source"]["gpo"]["name"] == "WS Signing Enforced"  # the place to change it
    assert ws1["source"]["gpo"]["link"] == addc.built.som_dn("Workstations")
    assert addc.members["member-default"] in ws1["source"]["path"]
    assert "drift: the policy says" in ws1["reason"] and "policy not yet applied" in ws1["reason"]


def test_scan_drift_false_when_the_wire_agrees(scanned: dict[str, Any]) -> None:
    srv1, srv2 = scanned["by_host"]["SRV1"], scanned["by_host"]["SRV2"]
    assert (srv1["status"], srv1["drift"]) == ("pass", False)
    assert (
        srv1["source"]["kind"] == "wire" and srv1["source"]["gpo"]["name"] == "Servers Signing On"
    )
    assert (srv2["status"], srv2["drift"]) == ("fail", False)
    assert srv2["source"]["gpo"]["name"] == "Tier1 Signing Off"


def test_scan_unresolvable_name_is_unknown_with_the_dns_reason(
    addc: AdTestDomain, scanned: dict[str, Any]
) -> None:
    for host in ("WS2", "SCCM1", "LOOSE1"):
        f = scanned["by_host"][host]
        assert f["status"] == "unknown" and f["drift"] is None, host
        assert "does not exist in DNS (NXDOMAIN from " + addc.ad.address in f["reason"], host
        assert "the policy alone says" in f["reason"]


def test_scan_dns_server_option_and_usage(addc: AdTestDomain) -> None:
    code, out, err = ad_cli(addc, "audit", "--dns-server", addc.ad.address, "--no-store")
    assert code == 2 and "--dns-server needs --scan" in err
    code, out, _ = ad_cli(
        addc, "audit", "--scan", "--dns-server", addc.ad.address, "-f", "jsonl", "--no-store"
    )
    assert code == 1
    drift = {
        json.loads(line)["host"].split(".")[0].upper(): json.loads(line)["drift"]
        for line in out.splitlines()
        if json.loads(line)["control"] == CONTROL
    }
    assert drift["WS1"] is True and drift["SRV1"] is False and drift["WS3"] is None


def test_fix_from_the_domain_findings_names_the_winning_gpo_per_ou(
    addc: AdTestDomain, tmp_path: Path
) -> None:
    findings = addc.ad.password_file.parent / "fix-domain.json"
    code, _, err = ad_cli(addc, "audit", "-f", "json", "-o", str(findings), "--no-store")
    assert code == 1, err
    out = tmp_path / "fix"
    proc = subprocess.run(
        [SMBSIGN, "fix", "--from", str(findings), "--format", "gpo", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((out / "plan.json").read_text())
    by = {(a["container"], a["action"]): a for a in plan["gpo_actions"]}
    tier1 = by[(addc.built.som_dn("Servers/Tier1"), "change")]
    assert tier1["gpo"]["name"] == "Tier1 Signing Off"
    assert tier1["gpo"]["link"] == addc.built.som_dn("Servers/Tier1")
    assert [h.split(".")[0].upper() for h in tier1["hosts"]] == ["SRV2"]
    sccm = by[(addc.built.som_dn("SCCM"), "change")]
    assert sccm["gpo"]["name"] == "Domain Signing Off"
    assert sccm["gpo"]["link"] == addc.built.base_dn
    assert sorted(h.split(".")[0].upper() for h in sccm["hosts"]) == ["SCCM2", "SCCM3"]
    assert "change GPO 'Tier1 Signing Off'" in proc.stdout
    readme = next(out.rglob("README.txt")).read_text(encoding="utf-8")
    assert "'Domain Signing Off'" in readme and "'Tier1 Signing Off'" in readme


def test_two_stored_ad_runs_diff_and_the_html_ou_view(addc: AdTestDomain) -> None:
    """Runs of ``ad audit`` are stored and ``diff``-able like any other: WS1 passes on policy
    alone and fails once the wire decides (--scan); the HTML report shows the OU view."""
    store = addc.ad.password_file.parent / "ad-diff.db"
    db = f"sqlite:///{store}"
    code, _, err = ad_cli(
        addc, "audit", "-f", "json", "-o", str(store.with_suffix(".a")), "--db", db
    )
    assert code == 1, err
    code, _, err = ad_cli(
        addc, "audit", "--scan", "-f", "json", "-o", str(store.with_suffix(".b")), "--db", db
    )
    assert code == 1, err
    proc = addc.ad.run_client(
        [SMBSIGN, "diff", "previous", "latest", "--db", db, "-f", "json"], timeout=300
    )
    assert proc.returncode == 1, proc.stderr  # something regressed
    changes = json.loads(proc.stdout)
    flat = json.dumps(changes)
    assert "ws1." in flat and CONTROL in flat
    regressed = [c for c in changes.get("regressed", []) if c.get("host", "").startswith("ws1.")]
    assert regressed and regressed[0]["before"] == "pass" and regressed[0]["after"] == "fail"
    page = addc.ad.run_client([SMBSIGN, "report", "latest", "--db", db, "-f", "html"])
    assert page.returncode == 0, page.stderr
    ws = addc.built.som_dn("Workstations")
    assert f'data-container="{ws}"' in page.stdout and "WS Signing Enforced" in page.stdout
    assert 'data-drifting="1"' in page.stdout

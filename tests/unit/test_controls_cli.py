"""`smbsign controls` end to end: the real command in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smbsign.catalog import load_catalog


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "controls", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _usage_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert text in lines[0]


def test_list_table() -> None:
    proc = _run()
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines()[1:] if line and " " in line]
    catalog = load_catalog()
    assert set(catalog.controls) <= set(ids)
    assert "Frameworks (--framework): " in proc.stdout
    assert _run("list").stdout == proc.stdout


def test_list_json() -> None:
    proc = _run("--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    rows = {r["id"]: r for r in doc["controls"]}
    assert set(rows) == set(load_catalog().controls)
    srv = rows["smb-server-signing-required"]
    assert srv["weight"] == 9 and srv["enforces_signing"] is True
    assert srv["default_key"] == "windows:lanmanserver:requiresecuritysignature"
    assert "2.3.9.2" in srv["frameworks"]["cis-windows-server-2025"]
    assert rows["smb-server-audit-unsigned-clients"]["min_build"] == 26100


def test_list_filtered_by_framework() -> None:
    proc = _run("--framework", "edca")
    assert proc.returncode == 0, proc.stderr
    body = [line.split() for line in proc.stdout.splitlines()[1:] if line.startswith("smb")]
    assert {row[0] for row in body} == {
        "smb-server-signing-required",
        "smb-client-signing-required",
        "smb1-server-disabled",
    }
    assert "REQUIREMENTS" in proc.stdout.splitlines()[0]
    assert any(row[0] == "smb1-server-disabled" and row[-1] == "EDCA-SEC-023" for row in body)
    upper = _run("--framework", "EDCA", "--format", "json")
    doc = json.loads(upper.stdout)
    assert doc["framework"]["id"] == "edca"
    assert len(doc["controls"]) == 3


def test_unknown_framework_is_a_usage_error() -> None:
    _usage_error(_run("--framework", "nope"), "unknown framework 'nope'")


def test_show_text() -> None:
    proc = _run("show", "smb-server-signing-required")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in (
        "smb-server-signing-required: Microsoft network server: Digitally sign communications",
        "Severity: high (weight 9/10)",
        "registry: HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters\\Require",
        "windows:lanmanserver:requiresecuritysignature",
        "role domain_controller: 1",
        "samba:server signing",
        "cis-windows-11 (CIS Microsoft Windows 11 Enterprise Benchmark",
        "misconfiguration-manager",
        "PREVENT-12",
        "MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters\\RequireSecuritySignature=4,1",
        "Set-SmbServerConfiguration -RequireSecuritySignature $true",
        "SecurityOption Name='Microsoft_network_server_Digitally_sign_communications_always'",
        "LocalPoliciesSecurityOptions/MicrosoftNetworkServer_DigitallySignCommunicationsAlways",
        "smb.conf: [global] server signing = mandatory",
        "[file_share_witness, windows]",  # considerations name their targets (#11 item 18)
        "https://learn.microsoft.com/",
    ):
        assert needle in out, needle


def test_show_client_mentions_guest_and_sysvol() -> None:
    out = _run("show", "smb-client-signing-required").stdout
    assert "[guest_access]" in out and "SYSVOL" in out and "0xc000a000" in out


def test_show_json() -> None:
    proc = _run("show", "smb1-client-disabled", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["id"] == "smb1-client-disabled"
    assert set(doc["defaults"]) == {"windows:mrxsmb10:start", "samba:client min protocol"}
    assert doc["defaults"]["samba:client min protocol"]["literal_default"][0]["value"] == "CORE"
    assert "cis-windows-11" in doc["mappings"]
    assert doc["mappings"]["cis-windows-11"]["requirements"][0]["id"] == "18.4.3"
    assert any("Pol_SecGuide_SMB1ClientDriver" in line for line in doc["remediation"])
    assert any(
        "DependOnService = REG_MULTI_SZ Bowser,MRxSmb20,NSI" in line for line in doc["remediation"]
    )


def test_show_samba_only_control() -> None:
    out = _run("show", "samba-client-ipc-signing-required").stdout
    assert "Applies to: samba;" in out
    assert "samba:client ipc signing (samba:client ipc signing):" in out
    assert "'required'" in out
    assert "smb.conf: [global] client ipc signing = required" in out


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("show", "no-such-control"), "unknown control 'no-such-control'"),
        (("show",), "Missing argument"),
        (("--format", "xml"), "Invalid value"),
    ],
)
def test_bad_arguments(args: tuple[str, ...], text: str) -> None:
    proc = _run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert text in proc.stderr

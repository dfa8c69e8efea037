"""Shared helpers of the checklist importer, linter and policy CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from smbsign.importers import ImportedPolicy, load
from smbsign.importers.model import ImportedCheck, Target

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "samples"
needs_samples = pytest.mark.skipif(
    not (SAMPLES / "README.md").is_file(),
    reason=f"reference samples not found at {SAMPLES} (CI clones shared/ beside the repo)",
)
#: Real files the shared samples do not cover (tests/fixtures/policy/README.md names each source).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policy"
WIN2012_EXCERPT = "wazuh_sca_cis_win2012_non_r2_smb_excerpt.yml"
EDCA_CMDLET = "edca_EDCA-SEC-023.json"
WIN11_4X = "wazuh_sca_cis_win11_enterprise_v4.14.7_smb.yml"
WIN11_MAIN = "wazuh_sca_cis_win11_enterprise_main_smb.yml"
WIN2016_BUGGY = "wazuh_sca_cis_win2016_main_smb_KNOWN_BUGGY.yml"
WIN2025 = "wazuh_sca_cis_win2025_main_smb.yml"
EXPORT = "wazuh_sca_export_win11_smb_subset.csv"
TENABLE = "tenable_example_windows_smb_signing_items.audit"
EDCA = "edca_EDCA-SEC-043.json"
HK_WIN11 = "hardeningkitty_cis_microsoft_windows_11_enterprise_23h2_machine_smb.csv"
HK_WS2022 = "hardeningkitty_cis_microsoft_windows_server_2022_22h2_3.0.0_machine_smb.csv"
HK_MSFT = "hardeningkitty_msft_security_baseline_windows_11_24h2_machine_smb.csv"
HK_STIG = "hardeningkitty_dod_microsoft_windows_server_2019_member_stig_v2r1_machine_smb.csv"

#: The title line of Wazuh check 26033 in the WIN11_4X sample (replaced in built variants).
TITLE_26033 = (
    "title: \"Ensure 'Microsoft network client: Send unencrypted password to third-party SMB "
    "servers' is set to 'Disabled'.\""
)

SVC = "hklm\\system\\currentcontrolset\\services\\"
SRV = SVC + "lanmanserver\\parameters\\"
WKS = SVC + "lanmanworkstation\\parameters\\"
SRV_REQ, SRV_EN = SRV + "requiresecuritysignature", SRV + "enablesecuritysignature"
WKS_REQ, WKS_EN = WKS + "requiresecuritysignature", WKS + "enablesecuritysignature"
PLAINTEXT = WKS + "enableplaintextpassword"
SPN = SRV + "smbservernamehardeninglevel"


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def tenable_item(text: str, number: int, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new`` inside the ``number``-th ``<custom_item>`` only."""
    parts = text.split("<custom_item>")
    assert old in parts[number], (number, old)
    parts[number] = parts[number].replace(old, new, 1)
    return "<custom_item>".join(parts)


def imported(name: str, data: bytes | None = None) -> ImportedPolicy:
    """Import a sample (or ``data`` under that name); fail the test if it does not import."""
    got = load(sample_bytes(name) if data is None else data, name)
    assert isinstance(got, ImportedPolicy), got
    return got


def by_id(policy: ImportedPolicy) -> dict[str, ImportedCheck]:
    return {c.check_id: c for c in policy.checks}


def only_target(check: ImportedCheck) -> Target:
    assert len(check.targets) == 1, check
    return check.targets[0]

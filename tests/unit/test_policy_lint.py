"""Checklist linter: the exact findings for every real sample, and built variants of them.

Expected findings per sample are the samples README's (checkov style: exact sets, named by
outcome). Variants are built from the real files in the test, never edited on disk.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from importer_helpers import (
    EDCA,
    EDCA_CMDLET,
    EXPORT,
    HK_MSFT,
    HK_STIG,
    HK_WIN11,
    HK_WS2022,
    TENABLE,
    TITLE_26033,
    WIN11_4X,
    WIN11_MAIN,
    WIN2012_EXCERPT,
    WIN2016_BUGGY,
    WIN2025,
    fixture_bytes,
    imported,
    needs_samples,
    sample_bytes,
    tenable_item,
)

from smbsign.catalog import load_catalog
from smbsign.importers import ImportedPolicy
from smbsign.importers.lint import SEVERITY, LintFinding, lint
from smbsign.importers.results import result_findings
from smbsign.importers.wazuh_rules import build_check
from smbsign.model import HostFacts, OsFamily

pytestmark = needs_samples

EXPECTED: dict[str, set[tuple[str, str]]] = {
    WIN2016_BUGGY: {
        ("inverted-value", "16028"),
        ("wrong-hive", "16030"),
        ("duplicate-target", "16030"),
        ("wrong-hive", "16031"),
        ("duplicate-target", "16031"),
        ("compliance-mapping", ""),
    },
    WIN11_4X: set(),
    WIN11_MAIN: set(),
    WIN2025: set(),
    EXPORT: {("absent-passes", "26172"), ("absent-passes", "26173")},
    TENABLE: {("contradicts-control", "item 1")},
    EDCA: {("default-mismatch", "EDCA-SEC-043")},
    HK_MSFT: {("default-mismatch", "10210"), ("default-mismatch", "10212")},
    HK_WIN11: set(),
    HK_WS2022: set(),
    HK_STIG: set(),
}


def findings(name: str, data: bytes | None = None) -> list[LintFinding]:
    return lint(imported(name, data), load_catalog())


def codes(found: list[LintFinding]) -> set[tuple[str, str]]:
    return {(f.code, f.check_id) for f in found}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings_per_sample(name: str) -> None:
    found = findings(name)
    assert codes(found) == EXPECTED[name]
    assert len(found) == len(EXPECTED[name])  # no finding twice


def test_known_buggy_details() -> None:
    found = {(f.code, f.check_id): f for f in findings(WIN2016_BUGGY)}
    assert found["duplicate-target", "16030"].related == ("16026",)
    assert found["duplicate-target", "16031"].related == ("16027",)
    inv = found["inverted-value", "16028"]
    assert inv.severity == "high" and inv.control == "smb-client-plaintext-password-disabled"
    assert "'Disabled'" in inv.message and "EnablePlainTextPassword = 1" in inv.message
    hive = found["wrong-hive", "16030"]
    assert "LanmanWorkstation" in hive.message and "server" in hive.message
    assert hive.control == "smb-client-signing-required"  # mapped by what it reads
    cm = found["compliance-mapping", ""]
    assert cm.related == ("16026", "16027", "16030", "16031")
    assert "CM-8" in cm.message and "SC-8" in cm.message
    assert {f.check_id for f in found.values()}.isdisjoint({"16026", "16027"})


def test_tenable_contradiction_names_the_control() -> None:
    (f,) = findings(TENABLE)
    assert f.control == "smb-server-signing-required" and "= 0" in f.message


def test_edca_default_is_wrong_for_the_client_half_on_server_2025() -> None:
    (f,) = findings(EDCA)
    assert f.control == "smb-client-signing-required"
    assert "26100/ServerStandard default 1" in f.message
    assert f.severity == "low"  # a false failure, not a false pass


def test_msft_baseline_default_wrong_on_24h2_enterprise_and_pro_not_home() -> None:
    for f in findings(HK_MSFT):
        assert "26100/Enterprise default 1" in f.message
        assert "26100/Professional default 1" in f.message
        assert "Core" not in f.message


def test_export_absent_passes_depends_on_smb1_feature() -> None:
    for f in findings(EXPORT):
        assert f.severity == "medium" and "SMB1 feature state" in f.message


# ---------------------------------------------------------------- variants


def test_ids_do_not_matter_renumbered_buggy_policy() -> None:
    text = re.sub(r"(- id: )160(\d\d)", r"\g<1>990\2", sample_bytes(WIN2016_BUGGY).decode())
    got = codes(findings(WIN2016_BUGGY, text.encode()))
    assert got == {(code, cid.replace("160", "990", 1)) for code, cid in EXPECTED[WIN2016_BUGGY]}


def test_swapped_ids_are_id_drift() -> None:
    text = sample_bytes(WIN11_MAIN).decode()
    text = text.replace("- id: 26032", "- id: SWAP").replace("- id: 26035", "- id: 26032")
    text = text.replace("- id: SWAP", "- id: 26035")
    found = findings(WIN11_MAIN, text.encode())
    assert codes(found) == {("id-drift", "26032"), ("id-drift", "26035")}
    drift = {f.check_id: f for f in found}
    assert drift["26032"].related == ("smb-client-signing-enabled",)
    assert "RequireSecuritySignature" in drift["26032"].message


def test_server_check_made_lenient_passes_absent_on_a_classic_build() -> None:
    text = sample_bytes(WIN11_4X).decode()
    block = text[text.index("  - id: 26035") : text.index("  - id: 26036")]
    key = "r:HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters"
    lenient = block.replace("condition: all", "condition: any")
    for rule in (f"'{key}'", f"'{key} -> RequireSecuritySignature'"):
        lenient = lenient.replace(f"- {rule}", f"- 'not {rule[1:]}")
    assert lenient != block
    (f,) = findings(WIN11_4X, text.replace(block, lenient).encode())
    assert (f.code, f.check_id, f.severity) == ("absent-passes", "26035", "high")
    assert "22631/Enterprise: 0" in f.message  # not required by default before 24H2


def test_2012_non_r2_shapes() -> None:
    """The cis_win2012_non_r2 defects of reference.md §8, rebuilt from the 2025 sample's rules."""
    srv = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters"
    wks = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
    text = f"""policy:
  id: "cis_win2012_non_r2"
  name: "CIS Microsoft Windows Server 2012 (non-R2) Benchmark v3.0.0"
checks:
  # 2.3.9.2 (L1) Ensure 'Microsoft network server: Digitally sign communications (always)' is set to 'Enabled'.
  - id: 34540
    title: "Ensure 'Microsoft network server: Digitally sign communications (always)' is set to 'Enabled'."
    condition: all
    rules:
      - 'r:{wks} -> RequireSecuritySignature -> 1'
  # 2.3.9.5 (L1) Ensure 'Microsoft network server: Server SPN target name validation level'
  - id: 34543
    title: "Ensure 'Microsoft network server: Server SPN target name validation level' is set to 'Accept if provided by client' or higher (MS only)."
    condition: all
    rules:
      - 'r:{wks}'
      - 'r:{wks} -> SMBServerNameHardeningLevel'
      - 'r:{srv} -> SMBServerNameHardeningLevel -> n:^(\\d+) compare >= 1'
"""  # noqa: E501
    got = codes(findings("cis_win2012_non_r2.yml", text.encode()))
    assert got == {
        ("wrong-hive", "34540"),
        ("wrong-hive", "34543"),
        ("mixed-targets", "34543"),
    }


def test_tenable_can_be_null_on_client_require_is_absent_passes() -> None:
    text = sample_bytes(TENABLE).decode()
    marker = '  reg_item    : "requiresecuritysignature"\n  reg_type    : REG_DWORD\n'
    idx = text.index("required on the client")
    text = text[:idx] + text[idx:].replace(marker, marker + "  reg_option  : CAN_BE_NULL\n", 1)
    got = {(f.code, f.check_id): f for f in findings(TENABLE, text.encode())}
    assert set(got) == {("contradicts-control", "item 1"), ("absent-passes", "item 3")}
    assert got["absent-passes", "item 3"].severity == "high"  # default 0 before 24H2


def test_hk_list_claiming_a_compliant_default_is_a_false_pass() -> None:
    head = sample_bytes(HK_WIN11).decode().splitlines()[0]
    row = (
        '2.3.9.2,"Security Options","Microsoft network server: Digitally sign communications '
        '(always)",Registry,,HKLM:\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters,'
        "RequireSecuritySignature,,,,1,1,=,Medium"
    )
    (f,) = findings(
        "finding_list_cis_microsoft_windows_10_enterprise.csv", f"{head}\n{row}".encode()
    )
    assert (f.code, f.severity) == ("default-mismatch", "high")
    assert "passes hosts that are not compliant" in f.message


def test_unreadable_rule_is_an_import_problem() -> None:
    text = sample_bytes(WIN2025).decode().replace("r:^1$|^2$", "r:^1$|(^2$")
    got = codes(findings(WIN2025, text.encode()))
    assert ("import-problem", "36543") in got


# ------------------------------------------- false findings (issue #11 item 8)


def test_client_item_whose_title_names_the_server_as_peer_is_not_wrong_hive() -> None:
    """(a) The side of an item is the key it reads; a peer named in the title claims nothing."""
    text = tenable_item(
        sample_bytes(TENABLE).decode(),
        3,
        '"Determine if SMB signing is required on the client."',
        '"Determine if the client requires SMB signing when it connects to an SMB server."',
    )
    assert codes(findings(TENABLE, text.encode())) == {("contradicts-control", "item 1")}


def test_item_quoting_a_server_setting_but_reading_the_client_key_is_still_wrong_hive() -> None:
    """(a) What an item claims to be comes from identities: the Security Options name it quotes
    (the catalog's ``security_option.dsc_name``) or its CIS id, never from loose words."""
    text = tenable_item(
        sample_bytes(TENABLE).decode(),
        3,
        '"Determine if SMB signing is required on the client."',
        "\"2.3.9.2 Ensure 'Microsoft network server: Digitally sign communications (always)' "
        "is set to 'Enabled'\"",
    )
    got = {(f.code, f.check_id): f for f in findings(TENABLE, text.encode())}
    assert set(got) == {("contradicts-control", "item 1"), ("wrong-hive", "item 3")}
    hive = got["wrong-hive", "item 3"]
    assert "smb-server-signing-required" in hive.message and "lanmanworkstation" in hive.message
    assert hive.control == "smb-client-signing-required"


def test_2012_check_reading_two_keys_names_the_control_its_data_rule_maps_to() -> None:
    """(d) Real cis_win2012_non_r2 34543: presence under LanmanWorkstation, data under
    LanManServer. The second one is smb-server-spn-hardening, not "no control"."""
    found = findings(WIN2012_EXCERPT, fixture_bytes(WIN2012_EXCERPT))
    assert codes(found) == {
        ("wrong-hive", "34540"),
        ("wrong-hive", "34541"),
        ("wrong-hive", "34543"),
        ("mixed-targets", "34543"),
    }
    hive = next(f for f in found if (f.code, f.check_id) == ("wrong-hive", "34543"))
    assert hive.control == "smb-server-spn-hardening"
    assert "LanManServer\\Parameters\\SMBServerNameHardeningLevel -> smb-server-spn-hardening" in (
        hive.message
    )
    assert "LanmanWorkstation\\Parameters\\SMBServerNameHardeningLevel -> no smbsign control" in (
        hive.message
    )
    assert "Services\\SMBServerNameHardeningLevel" not in hive.message


def test_edca_control_checked_through_a_cmdlet_is_not_id_drift() -> None:
    """(c) Real EDCA-SEC-023: ``Set-SmbServerConfiguration -EnableSMB1Protocol $false`` is the
    catalog's cmdlet check of smb1-server-disabled, which the edca framework file lists."""
    assert findings(EDCA_CMDLET, fixture_bytes(EDCA_CMDLET)) == []


def _without_line(text: str, start: str, end: str, line: str) -> tuple[str, str]:
    block = text[text.index(start) : text.index(end)]
    assert line in block
    return block, block.replace(line, "", 1)


def test_absent_key_passes_absent_value_fails_is_a_rule_logic_finding() -> None:
    """(e) Real 26033 without its ``not r:KEY -> VALUE`` rule: the file imports fine; the check
    scores a missing key and a missing value differently. One finding, not an import problem."""
    text = sample_bytes(WIN11_4X).decode()
    wks = "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
    block, changed = _without_line(
        text,
        "  - id: 26033",
        "  - id: 26035",
        f"      - 'not r:{wks} -> EnablePlainTextPassword'\n",
    )
    policy = imported(WIN11_4X, text.replace(block, changed).encode())
    check = next(c for c in policy.checks if c.check_id == "26033")
    assert check.problems == ()
    (f,) = lint(policy, load_catalog())
    assert (f.code, f.check_id, f.severity) == ("absent-key-differs", "26033", "low")
    assert "an absent key" in f.message and "EnablePlainTextPassword" in f.message


def test_absent_key_differs_for_three_values_is_reported_once() -> None:
    """(e) The same rule logic over three values of one key: one finding naming all three."""
    text = sample_bytes(WIN11_4X).decode()
    wks = "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
    block = text[text.index("  - id: 26033") : text.index("  - id: 26035")]
    rules = block[block.index("    rules:") :]
    three = (
        "    rules:\n"
        f"      - 'not r:{wks}'\n"
        f"      - 'r:{wks} -> RequireSecuritySignature -> 1'\n"
        f"      - 'r:{wks} -> EnableSecuritySignature -> 1'\n"
        f"      - 'r:{wks} -> EnablePlainTextPassword -> 0'\n\n"
    )
    text = (
        text.replace(rules, three)
        .replace("- id: 26033", "- id: 99033")
        .replace(TITLE_26033, 'title: "SMB client settings (three values under one key)"')
    )  # not id drift
    found = findings(WIN11_4X, text.encode())
    assert [(f.code, f.check_id) for f in found] == [("absent-key-differs", "99033")]
    for value in ("RequireSecuritySignature", "EnableSecuritySignature", "EnablePlainTextPassword"):
        assert found[0].message.count(value) == 1


def test_identical_import_problems_are_reported_once() -> None:
    """(e) A problem the importer finds twice in one check is one finding."""
    rules = ["x:nope", "x:nope", "r:HKLM\\K -> V -> 1"]
    check = build_check("7", "t", "line 7", rules, "all")
    assert check.problems.count("not a Wazuh rule: 'x:nope'") == 2
    policy = ImportedPolicy("wazuh_policy", "Wazuh SCA policy", "p", "p", "", (check,))
    found = [(f.code, f.message) for f in lint(policy, load_catalog())]
    assert found == [("import-problem", "not a Wazuh rule: 'x:nope'")]


_KEYS = [
    "r:HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters",
    "r:HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters",
    "r:HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer",
    "r:HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10",
]
_VALUES = [
    "",
    " -> RequireSecuritySignature",
    " -> SMB1",
    " -> Start",
    " -> SmbServerNameHardeningLevel",
]
_CONTENT = [
    "",
    " -> 1",
    " -> 0",
    " -> r:^1$|^2$",
    " -> n:^(\\d+) compare >= 1",
    " -> !r:^0$",
    " -> r:(",
]
_RULE = st.builds(
    lambda neg, k, v, c: f"{neg}{k}{v}{c if v else ''}",
    st.sampled_from(["", "not "]),
    st.sampled_from(_KEYS),
    st.sampled_from(_VALUES),
    st.sampled_from(_CONTENT),
)


@settings(max_examples=80, deadline=None)
@given(
    checks=st.lists(
        st.tuples(
            st.lists(_RULE | st.text(max_size=30), max_size=4),
            st.sampled_from(["all", "any", "none", "x"]),
            st.sampled_from(["passed", "failed", "", "not applicable"]),
            st.sampled_from(["", "Ensure 'Microsoft network server: x' is set to 'Disabled'."]),
        ),
        max_size=4,
    ),
    policy_id=st.sampled_from(["cis_win11_enterprise", "cis_win2016", "", "other"]),
)
def test_lint_and_result_import_never_raise(
    checks: list[tuple[list[str], str, str, str]], policy_id: str
) -> None:
    """Any mix of rules, conditions and results: lint findings and audit findings, no crash."""
    built = tuple(
        build_check(str(i), title, f"row {i}", rules, cond, result=result)
        for i, (rules, cond, result, title) in enumerate(checks, 2)
    )
    policy = ImportedPolicy("wazuh_export", "Wazuh export", policy_id, "x", policy_id, built)
    catalog = load_catalog()
    for f in lint(policy, catalog):
        assert f.code in SEVERITY and f.message
    facts = HostFacts("h", os_family=OsFamily.WINDOWS, build=22631, edition="Enterprise")
    found, _notes = result_findings(policy, "x.csv", "h", facts, catalog, catalog.controls)
    for f in found:
        assert f.control in catalog.controls and f.reason
        assert f.source is not None and f.source.kind == "wazuh_export"

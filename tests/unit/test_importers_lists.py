"""Importers of the Wazuh dashboard export, HardeningKitty lists, Tenable audits and EDCA.

Oracles: the real files in shared/reference/samples (README "Wazuh dashboard export",
"Tenable audit", "HardeningKitty finding lists", "EDCA control").
"""

from __future__ import annotations

import csv
import io
import json

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
    PLAINTEXT,
    SPN,
    SRV_EN,
    SRV_REQ,
    TENABLE,
    WKS_EN,
    WKS_REQ,
    by_id,
    fixture_bytes,
    imported,
    needs_samples,
    only_target,
    sample_bytes,
    tenable_item,
)

from smbsign.catalog import load_catalog
from smbsign.importers import IMPORTERS, ImportedPolicy, ImportFailure, load, sniff_checklist
from smbsign.importers.lint import lint
from smbsign.importers.mapping import map_policy
from smbsign.importers.model import Absent

pytestmark = needs_samples
SIGNING = {WKS_REQ, WKS_EN, PLAINTEXT, SRV_REQ, SRV_EN}


def controls_of(policy: ImportedPolicy) -> dict[str, tuple[str, ...]]:
    return {m.check.check_id: m.controls for m in map_policy(policy, load_catalog())}


# ------------------------------------------------------------------ Wazuh export


def test_export_rows_results_and_cis_ids() -> None:
    p = imported(EXPORT)
    assert p.kind == "wazuh_export" and p.policy_id == "cis_win11_enterprise" and p.has_results
    results = {c.check_id: c.result for c in p.checks}
    failed = {k for k, v in results.items() if v == "failed"}
    assert failed == {"26031", "26035", "26036", "26038"}
    assert {k for k, v in results.items() if v == "passed"} == {
        "26016", "26017", "26018", "26032", "26033", "26034", "26037", "26172", "26173",
    }  # fmt: skip
    cis = {c.check_id: c.cis_id for c in p.checks}
    assert cis["26035"] == "2.3.9.2" and cis["26172"] == "18.4.3" and cis["26173"] == "18.4.4"
    spn = by_id(p)["26038"]
    assert spn.compliance_ids("nist_sp_800-53") == ("CM-7(1)", "CM-9", "SA-10")  # split on ','


def test_export_numeric_typed_not_rules_are_read_by_their_text() -> None:
    """The dashboard types `not r:` rules as "numeric"; the rule text decides."""
    c = by_id(imported(EXPORT))["26032"]
    rows = csv.DictReader(io.StringIO(sample_bytes(EXPORT).decode(), newline=""))
    raw = json.loads(next(r for r in rows if r["ID"] == "26032")["Rules"])
    assert {r["type"] for r in raw if r["rule"].startswith("not ")} == {"numeric"}
    t = only_target(c)
    assert t.setting == WKS_EN and t.when_absent is Absent.PASS and t.expect.values == (1,)


def test_export_maps_by_setting_identity() -> None:
    got = controls_of(imported(EXPORT))
    assert got["26035"] == ("smb-server-signing-required",)
    assert got["26038"] == ("smb-server-spn-hardening",)
    assert got["26172"] == ("smb1-client-disabled",)
    assert got["26173"] == ("smb1-server-disabled",)
    for not_smb in ("26016", "26017", "26018", "26034", "26037"):
        assert got[not_smb] == (), not_smb


# ------------------------------------------------------------- HardeningKitty


@pytest.mark.parametrize("name", [HK_WIN11, HK_WS2022])
def test_hk_cis_lists(name: str) -> None:
    p = by_id(imported(name))
    assert {only_target(p[i]).setting for i in ("2.3.8.1", "2.3.8.2", "2.3.8.3", "2.3.9.2",
                                                 "2.3.9.3")} == SIGNING  # fmt: skip
    defaults = {i: only_target(p[i]).stated_default for i in p}
    assert defaults["2.3.8.1"] == 0 and defaults["2.3.8.2"] == 1 and defaults["2.3.8.3"] == 0
    assert defaults["2.3.9.2"] == 0 and defaults["2.3.9.3"] == 0
    spn = only_target(p["2.3.9.5"])
    assert spn.setting == SPN and spn.expect.op == "at_least" and spn.expect.values == (1,)
    assert spn.when_absent is Absent.FAIL
    # absent -> DefaultValue: client "if server agrees" (default 1) passes when absent
    assert only_target(p["2.3.8.2"]).when_absent is Absent.PASS
    assert only_target(p["2.3.8.1"]).when_absent is Absent.FAIL
    assert p["2.3.9.2"].cis_id == "2.3.9.2"


def test_hk_empty_default_and_member_name() -> None:
    win11 = only_target(by_id(imported(HK_WIN11))["2.3.9.5"])
    ws2022 = by_id(imported(HK_WS2022))["2.3.9.5"]
    assert win11.stated_default is None  # empty DefaultValue accepted
    assert only_target(ws2022).stated_default == 0 and "(Member)" in ws2022.title
    assert imported(HK_WIN11).platform == "win11_23h2" and imported(HK_WS2022).platform == "ws2022"


def test_hk_msft_baseline_numbers_and_policy_keys() -> None:
    p = imported(HK_MSFT)
    assert p.platform == "win11_24h2"
    got = controls_of(p)
    assert got == {
        "10202": (),
        "10210": ("smb-client-signing-required",),
        "10211": ("smb-client-plaintext-password-disabled",),
        "10212": ("smb-server-signing-required",),
        "10711": ("smb-server-audit-unsigned-clients",),
        "10722": ("smb-client-audit-unsigned-servers",),
    }
    # no 2.3.8.2 / 2.3.9.3 equivalents: the baseline does not set the "if ... agrees" values
    assert {t.setting for c in p.checks for t in c.targets}.isdisjoint({WKS_EN, SRV_EN})
    audit = only_target(by_id(p)["10711"])
    assert audit.setting.startswith("hklm\\software\\policies\\microsoft\\windows\\lanmanserver")


def test_hk_stig_maps_by_setting_across_frameworks() -> None:
    got = controls_of(imported(HK_STIG))
    assert got == {
        "V-93547": (),
        "V-93555": ("smb-client-signing-required",),
        "V-93557": ("smb-client-signing-enabled",),
        "V-93469": ("smb-client-plaintext-password-disabled",),
        "V-93559": ("smb-server-signing-required",),
        "V-93561": ("smb-server-signing-enabled",),
    }
    assert all(c.cis_id == "" for c in imported(HK_STIG).checks)


def test_hk_non_registry_and_odd_rows() -> None:
    head = sample_bytes(HK_WIN11).decode().splitlines()[0]
    rows = [
        head,
        '1.1.1,"Account Policies","Length",accountpolicy,,,,,,,,14,>=,Low',
        "9.9.9,X,Y,Registry,,HKLM:\\K,V,,,,abc,1,=,Low",
        "9.9.8,X,Y,Registry,,HKLM:\\K,W,,,,,1,contains,Low",
        "9.9.7,X,Y,Registry,,,,,,,,1,=,Low",
    ]
    p = by_id(imported("l.csv", "\n".join(rows).encode()))
    assert p["1.1.1"].targets == () and not p["1.1.1"].problems
    assert "DefaultValue 'abc' is not a number" in p["9.9.9"].problems
    assert only_target(p["9.9.8"]).expect.op == "other"
    assert only_target(p["9.9.8"]).when_absent is Absent.UNKNOWN
    assert p["9.9.7"].problems == ("Registry method without RegistryPath/RegistryItem",)


# ------------------------------------------------------------------ Tenable


def test_tenable_items_keep_the_policy_value() -> None:
    p = imported(TENABLE)
    assert p.kind == "tenable_audit" and p.name == "Typical financial institution policy"
    targets = [only_target(c) for c in p.checks]
    assert [t.setting for t in targets] == [SRV_REQ, SRV_EN, WKS_REQ, WKS_EN]  # lower-case keys
    assert [t.expect.values for t in targets] == [(0,), (1,), (1,), (1,)]  # server require = 0
    assert {t.when_absent for t in targets} == {Absent.UNKNOWN}  # no reg_option
    assert controls_of(p)["item 1"] == ("smb-server-signing-required",)
    assert p.checks[0].location == "line 11"


@pytest.mark.parametrize(
    ("data", "option", "described", "absent"),
    [
        ('"[1..MAX]"', "CAN_BE_NULL", ">= 1", Absent.PASS),
        ('"[MIN..0]"', "CAN_NOT_BE_NULL", "= 0", Absent.FAIL),
        ('"1 || 2"', "", ">= 1", Absent.UNKNOWN),
        ("7", "", "no value passes", Absent.UNKNOWN),  # the level is 0-2 (docs/reference.md §1.3)
    ],
)
def test_tenable_value_forms(data: str, option: str, described: str, absent: Absent) -> None:
    reg_option = f"  reg_option : {option}\n" if option else ""
    text = (
        '<check_type:"Windows" version:"2">\n<group_policy:"g">\n<custom_item>\n'
        "  type : REGISTRY_SETTING\n"
        '  description : "multi\n   line"\n'
        f"  value_type : POLICY_DWORD\n  value_data : {data}\n{reg_option}"
        '  reg_key : "HKLM\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters"\n'
        '  reg_item : "SmbServerNameHardeningLevel"\n'
        '  reference : "800-53|SC-8,CSCv8|3.10"\n'
        "</custom_item>\n</group_policy>\n</check_type>\n"
    )
    c = imported("t.audit", text.encode()).checks[0]
    t = only_target(c)
    assert t.expect.describe() == described and t.when_absent is absent
    assert c.title == "multi line"
    assert c.compliance == (("800-53", ("SC-8",)), ("CSCv8", ("3.10",)))


@pytest.mark.parametrize(("item", "data", "want"), [(3, "Enabled", 1), (1, "Disabled", 0)])
def test_tenable_policy_set_on_a_dword_is_one_or_zero(item: int, data: str, want: int) -> None:
    """POLICY_SET takes "Enabled"/"Disabled" (Tenable REGISTRY_SETTING); stored as REG_DWORD a
    Security Option reads 1 when Enabled and 0 when Disabled (issue #11 item 8b)."""
    old = f"  value_type  : POLICY_DWORD\n  value_data  : {0 if item == 1 else 1}\n"
    new = f'  value_type  : POLICY_SET\n  value_data  : "{data}"\n'
    p = imported(TENABLE, tenable_item(sample_bytes(TENABLE).decode(), item, old, new).encode())
    c = p.checks[item - 1]
    assert c.problems == ()
    t = only_target(c)
    assert (t.expect.op, t.expect.values, t.expect.text) == ("equals", (want,), data)
    found = {(f.code, f.check_id) for f in lint(p, load_catalog())}
    assert ("import-problem", f"item {item}") not in found


def test_tenable_policy_set_needs_a_dword_and_enabled_or_disabled() -> None:
    base = sample_bytes(TENABLE).decode()
    old = "  value_type  : POLICY_DWORD\n  value_data  : 1\n"
    for new, drop in (
        ('  value_type  : POLICY_SET\n  value_data  : "Enabled"\n', "  reg_type    : REG_DWORD\n"),
        ('  value_type  : POLICY_SET\n  value_data  : "Sometimes"\n', ""),
    ):
        text = tenable_item(base, 3, old, new)
        if drop:
            text = tenable_item(text, 3, drop, "  reg_type    : REG_SZ\n")
        c = imported(TENABLE, text.encode()).checks[2]
        assert only_target(c).expect.op == "other" and "POLICY_SET" in c.problems[0]


def test_tenable_range_with_a_huge_bound_is_a_problem_not_an_exception() -> None:
    """``[1..<5000 digits>]`` used to raise ValueError out of the importer."""
    text = tenable_item(
        sample_bytes(TENABLE).decode(),
        3,
        "value_data  : 1\n",
        f'value_data  : "[1..{"9" * 5000}]"\n',
    )
    c = imported(TENABLE, text.encode()).checks[2]
    assert only_target(c).expect.op == "other" and "not a numeric test" in c.problems[0]


# --------------------------------------------------------------------- EDCA


def test_edca_control_targets_both_sides_from_the_script() -> None:
    p = imported(EDCA)
    assert p.kind == "edca" and p.policy_id == "EDCA-SEC-043"
    c = p.checks[0]
    assert {t.setting for t in c.targets} == {SRV_REQ, WKS_REQ}
    for t in c.targets:
        assert t.expect.values == (1,) and t.stated_default == 0 and t.when_absent is Absent.FAIL
    m = map_policy(p, load_catalog())[0]
    assert set(m.controls) == {"smb-server-signing-required", "smb-client-signing-required"}
    assert set(m.listed) == set(m.controls)  # the catalog's edca framework file agrees
    assert c.compliance == (("frameworks", ("ANSSI", "BSI", "CIS")),)


def test_edca_array_and_odd_scripts() -> None:
    one = json.loads(sample_bytes(EDCA))
    other = {
        "id": "EDCA-SEC-999",
        "title": "x",
        "remediation": {"scriptTemplate": "$p = 'HKLM:\\K'\nGet-ItemProperty $p -Name V\n"
                        "Set-ItemProperty -Path $q -Name W -Value 1"},
    }  # fmt: skip
    p = imported("controls.json", json.dumps([one, other, 5]).encode())
    assert [c.check_id for c in p.checks] == ["EDCA-SEC-043", "EDCA-SEC-999"]
    odd = p.checks[1]
    assert only_target(odd).expect.op == "other"
    assert any("never sets it" in x for x in odd.problems)
    assert any("$q" in x for x in odd.problems)


def test_edca_cmdlet_script_maps_through_the_catalog_cmdlet_check() -> None:
    """EDCA-SEC-023 sets ``-EnableSMB1Protocol $false`` with Set-SmbServerConfiguration: the
    property the catalog's smb1-server-disabled reads with Get-SmbServerConfiguration."""
    p = imported(EDCA_CMDLET, fixture_bytes(EDCA_CMDLET))
    c = p.checks[0]
    assert c.problems == ()
    t = only_target(c)
    assert (t.key, t.value) == ("Get-SmbServerConfiguration", "EnableSMB1Protocol")
    assert t.short == "(Get-SmbServerConfiguration).EnableSMB1Protocol"
    assert (t.expect.op, t.expect.values, t.when_absent) == ("equals", (0,), Absent.UNKNOWN)
    m = map_policy(p, load_catalog())[0]
    assert m.controls == ("smb1-server-disabled",) and m.listed == m.controls


def test_edca_cmdlet_forms() -> None:
    script = (
        "Set-SmbClientConfiguration -RequireSecuritySignature $true -EnableSecuritySignature:$true"
        " -Confirm:$false -Force\n(Get-SmbServerConfiguration).AuditClientDoesNotSupportSigning\n"
        "Set-SmbServerConfiguration -NoSuchProperty 3"
    )
    doc = {"id": "EDCA-SEC-998", "title": "x", "remediation": {"scriptTemplate": script}}
    p = imported("c.json", json.dumps(doc).encode())
    got = {(t.key, t.value): t.expect.describe() for t in p.checks[0].targets}
    assert got == {
        ("Get-SmbClientConfiguration", "RequireSecuritySignature"): "= 1",
        ("Get-SmbClientConfiguration", "EnableSecuritySignature"): "= 1",
        ("Get-SmbServerConfiguration", "AuditClientDoesNotSupportSigning"): "read only",
        ("Get-SmbServerConfiguration", "NoSuchProperty"): "= 3",
    }
    assert set(controls_of(p)["EDCA-SEC-998"]) == {
        "smb-client-signing-required",
        "smb-client-signing-enabled",
        "smb-server-audit-unsigned-clients",
    }
    assert any("never sets it" in x for x in p.checks[0].problems)


def test_edca_script_with_huge_numbers_never_raises() -> None:
    """A 5000-digit ``-Value`` / default / cmdlet argument used to reach ``int()`` and raise
    ValueError (Python's 4300-digit limit) out of the importer; now it is simply not read."""
    huge = "9" * 5000
    script = (
        f"$p = 'HKLM:\\K'\nSet-ItemProperty -Path $p -Name V -Value {huge}\n"
        f"Set-SmbServerConfiguration -EnableSMB1Protocol {huge}\nnot set (default: {huge})"
    )
    doc = {"id": "EDCA-SEC-997", "title": "x", "remediation": {"scriptTemplate": script}}
    got = load(json.dumps(doc).encode(), "c.json")
    assert isinstance(got, ImportedPolicy) and got.checks[0].targets == ()


# --------------------------------------------------------------- bad input


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048), name=st.sampled_from(["a.csv", "a.audit", "a.json"]))
def test_random_bytes_never_raise(data: bytes, name: str) -> None:
    got = load(data, name)
    assert isinstance(got, ImportedPolicy | ImportFailure)


@settings(max_examples=150, deadline=None)
@given(
    which=st.sampled_from([EXPORT, HK_MSFT, TENABLE, EDCA]),
    cut=st.integers(min_value=0, max_value=50000),
    junk=st.text(alphabet=st.sampled_from(list('",\n{}[]<>:|\\ 0aZ')), max_size=30),
)
def test_mutated_real_files_never_raise(which: str, cut: int, junk: str) -> None:
    text = sample_bytes(which).decode()
    cut = cut % len(text)
    got = load((text[:cut] + junk + text[cut + len(junk) :]).encode(), which)
    assert isinstance(got, ImportedPolicy | ImportFailure)


def test_sniff_each_sample_kind() -> None:
    kinds = {m.KIND for m in IMPORTERS}
    assert kinds == {"wazuh_policy", "wazuh_export", "hardeningkitty", "tenable_audit", "edca"}
    assert sniff_checklist(sample_bytes(EXPORT), EXPORT) == "wazuh_export"
    assert sniff_checklist(sample_bytes(HK_STIG), HK_STIG) == "hardeningkitty"
    assert sniff_checklist(sample_bytes(TENABLE), TENABLE) == "tenable_audit"
    assert sniff_checklist(sample_bytes(EDCA), EDCA) == "edca"
    assert sniff_checklist(sample_bytes("README.md"), "README.md") is None
    for gpo in ("gpttmpl_default_domain_controllers_policy.utf16le.inf",):
        assert sniff_checklist(sample_bytes(gpo), gpo) is None
    assert isinstance(load(b"ID,Category\n", "x.csv"), ImportFailure)

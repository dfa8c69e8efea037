"""Wazuh SCA policy importer: both schemas, rule semantics, normalisation (real policy files).

Oracles: the four Wazuh excerpts in shared/reference/samples (README "Wazuh SCA policies").
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from importer_helpers import (
    PLAINTEXT,
    SPN,
    SRV_EN,
    SRV_REQ,
    WIN11_4X,
    WIN11_MAIN,
    WIN2016_BUGGY,
    WIN2025,
    WKS_EN,
    WKS_REQ,
    by_id,
    imported,
    needs_samples,
    only_target,
    sample_bytes,
)

from smbsign.catalog import load_catalog
from smbsign.errors import ParseError
from smbsign.importers import ImportedPolicy, ImportFailure, load, sniff_checklist, wazuh_policy
from smbsign.importers.mapping import map_policy
from smbsign.importers.model import Absent
from smbsign.importers.wazuh_rules import build_check, content_test, osregex_to_python, parse_rule

pytestmark = needs_samples


def test_4x_schema_header_and_requirements() -> None:
    p = imported(WIN11_4X)
    assert p.kind == "wazuh_policy"
    assert p.policy_id == "cis_win11_enterprise"
    assert p.name.endswith("Benchmark v3.0.0")
    assert p.requirements == (
        "r:HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion -> ProductName -> r:^Windows 10",
    )
    rule = parse_rule(p.requirements[0])
    assert rule is not None and rule.value == "ProductName" and rule.content == "r:^Windows 10"
    assert content_test("r:^Windows 10")("Windows 10 Enterprise")  # Windows 11 says "Windows 10"
    assert [c.check_id for c in p.checks] == [
        "26016", "26031", "26032", "26033", "26035", "26036", "26038",
    ]  # fmt: skip
    assert not p.problems and not any(c.problems for c in p.checks)


def test_4x_check_26035_server_signing_required() -> None:
    c = by_id(imported(WIN11_4X))["26035"]
    assert c.cis_id == "2.3.9.2" and ("cis", ("2.3.9.2",)) in c.compliance
    assert c.condition == "all"
    t = only_target(c)
    assert t.key.endswith("LanManServer\\Parameters") and t.value == "RequireSecuritySignature"
    assert t.setting == SRV_REQ
    assert (t.expect.op, t.expect.values) == ("equals", (1,))
    assert t.when_absent is Absent.FAIL


@pytest.mark.parametrize(
    ("cid", "setting", "value"), [("26032", WKS_EN, 1), ("26033", PLAINTEXT, 0)]
)
def test_4x_any_with_not_rules_passes_an_absent_value(cid: str, setting: str, value: int) -> None:
    c = by_id(imported(WIN11_4X))[cid]
    assert c.condition == "any"
    assert sum(r.startswith("not r:") for r in c.rules) == 2
    t = only_target(c)
    assert t.setting == setting and t.expect.values == (value,) and t.expect.op == "equals"
    assert t.when_absent is Absent.PASS


def test_4x_numeric_compare_is_at_least_one() -> None:
    t = only_target(by_id(imported(WIN11_4X))["26038"])
    assert t.setting == SPN
    assert (t.expect.op, t.expect.values, t.expect.passing) == ("at_least", (1,), {1, 2})
    assert "compare >= 1" in t.expect.text


def test_26016_netlogon_maps_to_no_smb_control() -> None:
    p = imported(WIN11_4X)
    mapped = {m.check.check_id: m for m in map_policy(p, load_catalog())}
    assert mapped["26016"].controls == ()
    assert only_target(mapped["26016"].check).value == "RequireSignOrSeal"
    assert mapped["26035"].controls == ("smb-server-signing-required",)


def test_main_schema_cis_ids_come_from_comments() -> None:
    p = imported(WIN11_MAIN)
    got = {c.check_id: c.cis_id for c in p.checks}
    assert got == {
        "26031": "2.3.8.1", "26032": "2.3.8.2", "26033": "2.3.8.3", "26035": "2.3.9.2",
        "26036": "2.3.9.3",
    }  # fmt: skip
    c = by_id(p)["26031"]
    assert not any(k == "cis" for k, _ in c.compliance)  # no cis key in the main schema
    assert c.compliance_ids("nist_800_53") == ("SC-8",)
    assert c.title.startswith("Ensure 'Microsoft network client: Digitally sign")


def test_main_and_4x_resolve_to_the_same_settings_from_the_rules() -> None:
    old, new = by_id(imported(WIN11_4X)), by_id(imported(WIN11_MAIN))
    for cid in ("26031", "26032", "26033", "26035", "26036"):
        a, b = only_target(old[cid]), only_target(new[cid])
        assert (a.setting, a.expect, a.when_absent) == (b.setting, b.expect, b.when_absent), cid
    assert {only_target(new[c]).setting for c in new} == {
        WKS_REQ,
        WKS_EN,
        PLAINTEXT,
        SRV_REQ,
        SRV_EN,
    }


def test_2025_and_win11_differ_on_absent_but_agree_on_spn() -> None:
    w25, w11 = by_id(imported(WIN2025)), by_id(imported(WIN11_4X))
    assert w25["36537"].condition == "all" and w11["26032"].condition == "any"
    assert only_target(w25["36537"]).when_absent is Absent.FAIL
    assert only_target(w11["26032"]).when_absent is Absent.PASS
    regex, numeric = only_target(w25["36543"]), only_target(w11["26038"])
    assert regex.expect.text == "r:^1$|^2$" and "compare" in numeric.expect.text
    assert regex.expect.op == numeric.expect.op == "at_least"
    assert regex.expect.passing == numeric.expect.passing == {1, 2}


def test_2025_audit_checks_read_the_policy_keys() -> None:
    p = imported(WIN2025)
    mapped = {m.check.check_id: m for m in map_policy(p, load_catalog())}
    for cid, key, control in (
        ("36669", "lanmanserver", "smb-server-audit-unsigned-clients"),
        ("36676", "lanmanworkstation", "smb-client-audit-unsigned-servers"),
    ):
        t = only_target(mapped[cid].check)
        assert t.setting.startswith(f"hklm\\software\\policies\\microsoft\\windows\\{key}\\")
        assert "\\services\\" not in t.setting
        assert mapped[cid].controls == (control,)
    assert {c.cis_id for c in p.checks if c.check_id in ("36669", "36676")} == {
        "18.6.7.2",
        "18.6.8.3",
    }


def test_buggy_2016_is_imported_as_written() -> None:
    p = by_id(imported(WIN2016_BUGGY))
    assert only_target(p["16028"]).expect.values == (1,)  # upstream inverted value, kept
    assert only_target(p["16030"]).setting == WKS_REQ  # reads LanmanWorkstation (upstream bug)
    assert only_target(p["16031"]).setting == WKS_EN
    assert p["16026"].compliance_ids("nist_800_53") == ("CM-8",)


def test_location_is_the_id_line() -> None:
    text = sample_bytes(WIN2016_BUGGY).decode().splitlines()
    c = by_id(imported(WIN2016_BUGGY))["16030"]
    line = int(c.location.split()[1])
    assert text[line - 1].strip() == "- id: 16030"


# --------------------------------------------------------------- rule semantics


@pytest.mark.parametrize(
    ("rules", "condition", "described", "absent"),
    [
        (["r:HKLM\\K -> V -> 1"], "all", "= 1", Absent.FAIL),
        (["not r:HKLM\\K", "not r:HKLM\\K -> V", "r:HKLM\\K -> V -> 0"], "any", "= 0",
         Absent.PASS),
        (["r:HKLM\\K -> V -> n:^(\\d+) compare <= 15"], "all", "<= 15", Absent.FAIL),
        (["r:HKLM\\K -> V -> n:^(\\d+) compare > 2"], "all", ">= 3", Absent.FAIL),
        (["r:HKLM\\K -> V -> !r:^0$"], "all", ">= 1", Absent.FAIL),
        (["r:HKLM\\K -> V -> r:^1$|^3$"], "all", "one of 1, 3", Absent.FAIL),
        (["r:HKLM\\K -> V"], "all", "present (any value)", Absent.FAIL),
        (["r:HKLM\\K", "r:HKLM\\K -> V -> 1 && r:^1"], "all", "= 1", Absent.FAIL),
    ],
)  # fmt: skip
def test_simulated_semantics(
    rules: list[str], condition: str, described: str, absent: Absent
) -> None:
    t = only_target(build_check("1", "t", "line 1", rules, condition))
    assert t.expect.describe() == described
    assert t.when_absent is absent


def test_condition_none_passes_everything_but_the_rule() -> None:
    t = only_target(build_check("1", "t", "l", ["r:HKLM\\K -> V -> 1"], "none"))
    assert 1 not in t.expect.passing and {0, 2} <= t.expect.passing
    assert t.when_absent is Absent.PASS


def test_osregex_translation() -> None:
    assert osregex_to_python(r"^1$|^2$") == r"^1$|^2$"
    assert osregex_to_python(r"\d+\.x") == r"\d+.x"  # OS_Regex: \. is any character
    assert osregex_to_python("a.b") == r"a\.b"  # a plain '.' is literal
    assert content_test(r"r:^\d$")("7") and not content_test(r"r:^\d$")("17")


def test_unreadable_rules_are_problems_not_exceptions() -> None:
    c = build_check("9", "t", "l", ["r:HKLM\\K -> V -> r:(", "x:nope", 42, "not r:"], "sometimes")
    text = " | ".join(c.problems)
    assert "bad regex" in text and "not a Wazuh rule" in text and "not a string" in text
    assert "unknown condition" in text


def test_mixed_hive_rules_give_two_targets() -> None:
    """cis_win2012_non_r2 34543 shape (reference.md §8): presence under one key, data under
    another."""
    wks = "r:HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
    srv = "r:HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters"
    level = "SMBServerNameHardeningLevel"
    rules = [wks, f"{wks} -> {level}", f"{srv} -> {level} -> n:^(\\d+) compare >= 1"]
    c = build_check("34543", "t", "l", rules, "all")
    ops = {t.setting.split("\\")[4]: t.expect.op for t in c.targets}
    assert ops == {"lanmanworkstation": "any", "lanmanserver": "at_least"}


# ----------------------------------------------------------------- bad input


def test_not_a_policy() -> None:
    assert sniff_checklist(b"policy:\n  id: x\n", "x.yml") is None  # no checks section
    with pytest.raises(ParseError):
        wazuh_policy.parse(b"policy: [\n", "x.yml")
    with pytest.raises(ParseError):
        wazuh_policy.parse(b"policy: 3\nchecks: []\n", "x.yml")
    got = load(b"policy:\n  id: a\nchecks:\n  - [1, 2]\n  - id: 5\n", "x.yml")
    assert isinstance(got, ImportedPolicy)
    assert got.checks[0].problems == ("check is not a mapping",)
    assert "no rules" in got.checks[1].problems


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=1024))
def test_random_bytes_never_raise(data: bytes) -> None:
    got = load(b"policy:\n  id: x\nchecks:\n" + data, "p.yml")
    assert isinstance(got, ImportedPolicy | ImportFailure)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=20000), junk=st.text(max_size=40))
def test_mutated_real_policy_never_raises(cut: int, junk: str) -> None:
    text = sample_bytes(WIN11_4X).decode()
    cut = cut % len(text)
    got = load((text[:cut] + junk + text[cut:]).encode(), "p.yml")
    assert isinstance(got, ImportedPolicy | ImportFailure)


@settings(max_examples=300, deadline=None)
@given(rule=st.text(max_size=80), condition=st.sampled_from(["all", "any", "none", "?"]))
def test_random_rules_never_raise(rule: str, condition: str) -> None:
    c = build_check("1", "t", "l", [rule, "r:HKLM\\K -> V -> " + rule], condition)
    for t in c.targets:
        assert t.expect.op in ("equals", "at_least", "at_most", "one_of", "any", "none")


@pytest.mark.timeout(60)
def test_yaml_alias_bomb_is_not_expanded() -> None:
    """Billion-laughs YAML: aliases are shared, never turned into text (bounded work)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    bomb = "\n".join(lines)
    text = (
        f"{bomb}\npolicy:\n  id: *a9\n  name: *a9\nchecks:\n"
        "  - id: *a9\n    title: *a9\n    condition: *a9\n    compliance: *a9\n"
        "    rules: *a9\n"
    )
    got = load(text.encode(), "bomb.yml")
    assert isinstance(got, ImportedPolicy)
    assert got.policy_id == "" and got.checks[0].title == ""
    assert "rule is not a string (list)" in got.checks[0].problems


def test_too_many_numbers_are_bounded() -> None:
    rule = "r:HKLM\\K -> V -> r:" + "|".join(f"^{n}$" for n in range(1000, 1070))
    c = build_check("1", "t", "l", [rule], "all")
    assert c.problems == ("70 numbers in the rules: only 64 are tried",)
    assert only_target(c).expect.op == "one_of"
    many = build_check("2", "t", "l", ["r:HKLM\\K"] * 300, "all")
    assert many.problems == ("300 rules: only the first 256 are read",)

"""The .reg collector on fixtures in every encoding (docs/reference.md §6.1)."""

from __future__ import annotations

import pytest
from collect_helpers import FIX, SRV_EN, SRV_REQ, WKS_REQ, by_id

from smbsign.collect import regfile
from smbsign.collect.base import CollectResult
from smbsign.model import Layer, Role

PASS = sorted((FIX / "reg").glob("server-required.pass*.reg"))


def run(name: str) -> CollectResult:
    path = FIX / "reg" / name
    data = path.read_bytes()
    assert regfile.sniff(data, path.name)
    return regfile.collect(data, str(path), "h1")


@pytest.mark.parametrize("path", PASS, ids=lambda p: p.name)
def test_required_in_every_encoding(path):
    result = regfile.collect(path.read_bytes(), str(path), "h1")
    assert result.errors == ()
    values = by_id(result)
    v = values[SRV_REQ]
    assert (v.value, v.value_type, v.deleted) == (1, "REG_DWORD", False)
    assert values[WKS_REQ].value == 1
    assert v.provenance.kind == "regfile"
    assert v.provenance.layer is Layer.LOCAL
    assert v.provenance.location == "line 4"
    assert v.host == "h1"


def test_encodings_covered():
    heads = {p.read_bytes()[:2] for p in PASS}
    assert {b"\xff\xfe", b"\xfe\xff", b"\xef\xbb", b"Wi"} <= heads


def test_regedit4_ansi_not_required():
    result = run("server-not-required.fail.regedit4.reg")
    values = by_id(result)
    assert values[SRV_REQ].value == 0
    assert values["hklm\\software\\test\\caf\xe9"].value == "r\xe9sum\xe9"
    # REGEDIT4 hex(7) strings are ANSI bytes, not UTF-16
    assert values["hklm\\software\\test\\multi"].value == ("ab", "c")


def test_wrong_type_is_kept_as_reg_sz():
    v = by_id(run("server-required-wrongtype.fail.reg"))[SRV_REQ]
    assert (v.value, v.value_type) == ("1", "REG_SZ")


def test_all_value_types_and_continuations():
    result = run("all-types.reg")
    values = by_id(result)
    key = "hklm\\system\\currentcontrolset\\services\\lanmanserver\\parameters\\"
    assert values[key + "@"].value == "default value"
    assert values[key + "servercomment"].value == 'say "hi" C:\\share'
    assert values[key + "binary"].value == b"\x00];\xff"
    assert values[key + "expand"].value == "%SystemRoot%"
    assert values[key + "expand"].value_type == "REG_EXPAND_SZ"
    assert values[key + "nullsessionpipes"].value == ("lsa", "samr")
    assert values[key + "big"].value == 0x8000000000000001
    assert values[key + "big"].value_type == "REG_QWORD"
    assert values[key + "empty"].value_type == "REG_NONE"
    assert values["hkcu\\software\\test\\uservalue"].value == 10
    assert [e.message for e in result.errors] == ["line 15: unrecognised value data 'word:1'"]
    assert values[key + "nullsessionpipes"].provenance.location == "line 11"


def test_deletions():
    values = by_id(run("deletions.fail.reg"))
    assert values[SRV_REQ].deleted and values[SRV_REQ].value is None
    marker = values["hklm\\system\\currentcontrolset\\services\\lanmanworkstation\\parameters\\*"]
    assert (marker.deleted, marker.value_type) == (True, "KEY")


def test_host_facts():
    facts = run("facts-dc.reg").facts
    assert facts is not None
    assert (facts.build, facts.edition, facts.role) == (26100, "Enterprise", Role.DOMAIN_CONTROLLER)
    assert facts.product_name == "Windows 10 Enterprise"


def test_policy_and_mdm_layers():
    values = by_id(run("policy-mdm.pass.reg"))
    pol = values[
        "hklm\\software\\policies\\microsoft\\windows\\lanmanserver\\auditclientdoesnotsupportsigning"
    ]
    assert pol.provenance.layer is Layer.GPO
    mdm = next(v for k, v in values.items() if "policymanager" in k)
    assert mdm.provenance.layer is Layer.MDM


def test_truncated_utf16_is_an_error():
    result = run("truncated.error.reg")
    assert result.values == ()
    assert "odd byte count" in result.errors[0].message


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"REGEDIT5\r\n", b"Windows Registry Editor Version 5.00\n[junk\n"],
)
def test_not_a_reg_file(data):
    result = regfile.collect(data, "x.reg", "h")
    assert result.values == ()
    assert result.errors


def test_srv_enable_in_v5_export():
    assert by_id(run("server-required.pass.reg"))[SRV_EN].value == 1

"""Get-Smb*Configuration JSON (reference.md §6.8). No Windows host runs here: the inputs are the
shapes PowerShell's ConvertTo-Json writes, built in make_fixtures.py."""

from __future__ import annotations

import json

import pytest
from collect_helpers import FIX, SAMPLES, by_id

from smbsign.collect import collect_file, collect_paths, pwsh_json
from smbsign.model import Layer, Role

S = "pwsh:Get-SmbServerConfiguration:"
C = "pwsh:Get-SmbClientConfiguration:"


def test_smbsign_shape_utf16_with_facts():
    result = collect_file(FIX / "pwsh" / "smbsign-shape.pass.json", "file-stem")
    assert result.errors == ()
    values = by_id(result)
    assert values[S + "RequireSecuritySignature"].value is True
    assert values[S + "RequireSecuritySignature"].value_type == "bool"
    assert values[S + "SmbServerNameHardeningLevel"].value == 1
    assert values[C + "RequireSecuritySignature"].value is True
    # null and "" mean "not reported": no value at all
    assert S + "AuditClientDoesNotSupportSigning" not in values
    assert S + "Smb2DialectMin" not in values
    v = values[S + "RequireSecuritySignature"]
    assert (v.host, v.provenance.layer, v.provenance.location) == (
        "WS01",
        Layer.EFFECTIVE,
        "$.Server.RequireSecuritySignature",
    )
    facts = result.facts
    assert facts is not None
    assert (facts.host, facts.build, facts.edition, facts.role) == (
        "WS01", 26100, "Professional", Role.WORKSTATION)  # fmt: skip


def test_plain_server_output_with_string_booleans():
    values = by_id(collect_file(FIX / "pwsh" / "server-plain.fail.json", "fs1"))
    assert values[S + "RequireSecuritySignature"].value is False
    assert values[S + "EnableSMB1Protocol"].value is False
    assert all(k.startswith(S) for k in values)


def test_plain_client_output_utf8_bom():
    values = by_id(collect_file(FIX / "pwsh" / "client-plain.fail.json", "ws"))
    assert values[C + "RequireSecuritySignature"].value is False
    assert all(k.startswith(C) for k in values)


def test_multi_host_array_splits_by_computer_name():
    out = list(collect_paths([FIX / "pwsh" / "multi-host.json"], None))
    assert [h for h, _ in out] == ["FS01", "FS02"]
    assert [by_id(r)[S + "RequireSecuritySignature"].value for _, r in out] == [True, False]
    assert all("RunspaceId" not in v.setting for _, r in out for v in r.values)


def test_cim_class_decides_when_properties_do_not():
    doc = {"CimClass": "ROOT/Microsoft/Windows/SMB:MSFT_SmbClientConfiguration",
           "RequireSecuritySignature": True}  # fmt: skip
    values = by_id(pwsh_json.collect(json.dumps(doc).encode(), "x.json", "h"))
    assert list(values) == [C + "RequireSecuritySignature"]


@pytest.mark.parametrize(
    ("facts", "role"),
    [
        ({"ProductType": 2}, Role.DOMAIN_CONTROLLER),
        ({"ProductType": "3", "PartOfDomain": False}, Role.STANDALONE),
        ({"ProductType": 3, "PartOfDomain": "True"}, Role.MEMBER_SERVER),
        ({"ProductType": 3}, Role.MEMBER_SERVER),
        ({"ProductType": 9}, None),
    ],
)
def test_roles(facts, role):
    doc = {"Server": {"RequireSecuritySignature": True}, "Facts": facts}
    result = pwsh_json.collect(json.dumps(doc).encode(), "x.json", "h")
    assert result.facts is not None and result.facts.role is role


@pytest.mark.parametrize("name", ["ambiguous.error.json", "broken.error.json"])
def test_errors(name):
    result = collect_file(FIX / "pwsh" / name, "h")
    assert result.values == () and len(result.errors) == 1
    assert result.errors[0].kind == "pwsh_json"


@pytest.mark.parametrize("doc", [b"[]", b"[1, 2]", b'"text"', b"[" * 5000 + b"]" * 5000])
def test_odd_json_never_raises(doc):
    result = pwsh_json.collect(doc, "x.json", "h")
    assert result.values == () and result.errors


def test_sniff_ignores_other_json():
    edca = (SAMPLES / "edca_EDCA-SEC-043.json").read_bytes()
    assert b"RequireSecuritySignature" in edca
    assert not pwsh_json.sniff(edca, "edca.json")
    assert pwsh_json.sniff(b'{"RequireSecuritySignature": true}', "x")


@pytest.mark.parametrize(
    "doc",
    [
        b'{"AuditServerDoesNotSupportSigning": false, "RequireEncryption": false}',
        b'{\r\n    "SmbServerNameHardeningLevel":  1,\r\n    "EncryptData":  false\r\n}',
        b'[{"EnableSMB1Protocol": "True", "PSComputerName": "fs01"}]',
    ],
)
def test_sniff_plain_select_object_output_without_the_signing_properties(doc):
    """`Get-Smb*Configuration | Select-Object <any properties> | ConvertTo-Json` is evidence."""
    assert pwsh_json.sniff(doc, "out.json")
    assert pwsh_json.sniff(b"\xff\xfe" + doc.decode().encode("utf-16-le"), "out.json")
    result = pwsh_json.collect(doc, "out.json", "h")
    assert result.values and not result.errors

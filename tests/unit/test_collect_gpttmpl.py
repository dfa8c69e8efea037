"""GptTmpl.inf and secedit exports: fixtures and the two real GPO backups (reference.md §6.2,
§6.4)."""

from __future__ import annotations

import pytest
from collect_helpers import FIX, SAMPLES, SRV_EN, SRV_REQ, WKS_REQ, by_id

from smbsign.codecs.gpttmpl import parse_registry_data
from smbsign.collect import collect_file, gpttmpl, secedit
from smbsign.errors import ParseError
from smbsign.model import Layer

DDCP = SAMPLES / "gpttmpl_default_domain_controllers_policy.utf16le.inf"
SHB = SAMPLES / "gpttmpl_nsa_shb_dod_win10_stig_computer.utf16le.inf"
GPO_INF = next((FIX / "gpo").rglob("GptTmpl.inf"))


def test_ddcp_requires_server_signing_from_gpo():
    result = collect_file(DDCP, "dc1")
    assert result.errors == ()
    values = by_id(result)
    assert len(values) == 4  # NTDS, Netlogon and the two LanManServer values
    v = values[SRV_REQ]
    assert (v.value, v.value_type) == (1, "REG_DWORD")
    assert (v.provenance.kind, v.provenance.layer) == ("gpttmpl", Layer.GPO)
    assert v.provenance.location == "line 6"
    assert values[SRV_EN].value == 1
    assert WKS_REQ not in values  # the DDCP does not set the client "always" value


def test_nsa_shb_all_six_smb_values():
    values = by_id(collect_file(SHB, "ws"))
    assert len(values) == 41
    lm = "hklm\\system\\currentcontrolset\\services\\"
    expect = {
        "lanmanserver\\parameters\\enablesecuritysignature": 1,
        "lanmanserver\\parameters\\requiresecuritysignature": 1,
        "lanmanserver\\parameters\\smbservernamehardeninglevel": 1,
        "lanmanworkstation\\parameters\\enableplaintextpassword": 0,
        "lanmanworkstation\\parameters\\enablesecuritysignature": 1,
        "lanmanworkstation\\parameters\\requiresecuritysignature": 1,
    }
    assert {k: values[lm + k].value for k in expect} == expect
    sam = values["hklm\\system\\currentcontrolset\\control\\lsa\\restrictremotesam"]
    assert (sam.value, sam.value_type) == ("O:BAG:BAD:(A;;RC;;;BA)", "REG_SZ")
    kerb = "hklm\\software\\microsoft\\windows\\currentversion\\policies\\system\\kerberos\\parameters\\supportedencryptiontypes"  # noqa: E501
    assert values[kerb].value == 2147483640


@pytest.mark.parametrize(("name", "want"), [("GptTmpl.pass.inf", 1), ("GptTmpl.fail.inf", 0)])
def test_gpttmpl_fixtures(name, want):
    path = FIX / "inf" / name
    data = path.read_bytes()
    assert gpttmpl.sniff(data, str(path)) and not secedit.sniff(data, str(path))
    values = by_id(gpttmpl.collect(data, str(path), "h"))
    assert values[SRV_REQ].value == want and values[WKS_REQ].value == want
    multi = values[
        "hklm\\system\\currentcontrolset\\control\\securepipeservers\\winreg\\allowedexactpaths\\machine"
    ]
    assert multi.value == (
        "System\\CurrentControlSet\\Control\\ProductOptions",
        "Software\\Microsoft\\Windows NT\\CurrentVersion",
    )
    assert multi.value_type == "REG_MULTI_SZ"


def test_template_inside_gpo_tree_is_gpo():
    result = collect_file(GPO_INF, "h")
    assert {v.provenance.kind for v in result.values} == {"gpttmpl"}


@pytest.mark.parametrize("name", ["secedit-export.fail.ansi.inf", "secedit-export.fail.utf16.inf"])
def test_secedit_export_is_local(name):
    result = collect_file(FIX / "inf" / name, "h")
    values = by_id(result)
    v = values[SRV_REQ]
    assert (v.value, v.provenance.kind, v.provenance.layer) == (0, "secedit", Layer.LOCAL)
    caption = values[
        "hklm\\software\\microsoft\\windows nt\\currentversion\\winlogon\\legalnoticecaption"
    ]
    assert caption.value == "Soci\xe9t\xe9"
    empty = values[
        "hklm\\system\\currentcontrolset\\services\\lanmanserver\\parameters\\nullsessionshares"
    ]
    assert empty.value == ()
    assert [e.message for e in result.errors] == ["line 15: bad REG_DWORD data 'notanumber'"]


def test_non_template_inf_is_unknown():
    result = collect_file(FIX / "inf" / "not-a-template.error.inf", "h")
    assert [e.kind for e in result.errors] == ["unknown"]


@pytest.mark.parametrize(
    ("rhs", "value", "vtype"),
    [
        ("4,1", 1, 4),
        ("4,-1", 0xFFFFFFFF, 4),
        ("4,0x10", 16, 4),
        ('1,"a,b"', "a,b", 1),
        ("1,", "", 1),
        ("2,%SystemRoot%", "%SystemRoot%", 2),
        ("3,01ff", b"\x01\xff", 3),
        ("7,a,b", ("a", "b"), 7),
    ],
)
def test_registry_data(rhs, value, vtype):
    assert parse_registry_data(rhs) == (value, vtype)


@pytest.mark.parametrize("rhs", ["4,", "4,x", "9,1", "x,1", "4,99999999999", "3,zz"])
def test_registry_data_rejects(rhs):
    with pytest.raises(ParseError):
        parse_registry_data(rhs)


def test_sections_in_any_order_and_bad_lines():
    text = (
        '[Version]\r\nsignature="$CHICAGO$"\r\n[Registry Values]\r\n'
        "USER\\Software\\X=4,1\r\nnoequals\r\n"
        "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\RequireSecuritySignature=4,1\r\n"
        "[Unicode]\r\nUnicode=yes\r\n"
    )
    result = gpttmpl.collect(b"\xff\xfe" + text.encode("utf-16-le"), "GptTmpl.inf", "h")
    assert by_id(result)[SRV_REQ].provenance.location == "line 6"
    assert len(result.errors) == 2

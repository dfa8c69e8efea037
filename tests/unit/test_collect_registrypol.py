"""Registry.pol (PReg) codec and collector (docs/reference.md §6.3, [MS-GPREG] 2.2.1).

The golden file is Samba's generalized-gpo-backup Registry.pol (76 entries), rebuilt from
Samba's XML dump; its bytes are checked against Samba's own NDR encoder (python3-samba,
``samba.ndr.ndr_pack``), an implementation independent of ours.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from collect_helpers import FIX, SRV_REQ, WKS_REQ, by_id
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.codecs.registrypol import PolEntry, decode_registry_pol, encode_registry_pol
from smbsign.collect import collect_file, registrypol
from smbsign.errors import ParseError
from smbsign.model import Layer

SAMBA_POL = FIX / "samba" / "Registry.pol"
SAMBA_XML = FIX / "samba" / "Registry.pol.xml"
SYSTEM_PY = "/usr/bin/python3"

_SAMBA_SCRIPT = """
import sys, xml.etree.ElementTree as ET
from samba.gp_parse.gp_pol import GPPolParser
from samba.ndr import ndr_pack, ndr_unpack
from samba.dcerpc import preg
p = GPPolParser()
p.load_xml(ET.parse(sys.argv[1]).getroot())
sys.stdout.buffer.write(ndr_pack(p.pol_file))
f = ndr_unpack(preg.file, open(sys.argv[2], "rb").read())
sys.stderr.write("%d %d\\n" % (f.num_entries, len(f.entries)))
"""


def _samba_available() -> bool:
    if not Path(SYSTEM_PY).exists():
        return False
    probe = subprocess.run([SYSTEM_PY, "-c", "import samba.dcerpc.preg"], capture_output=True)
    return probe.returncode == 0


def test_samba_golden_76_entries():
    entries = decode_registry_pol(SAMBA_POL.read_bytes())
    assert len(entries) == 76
    assert encode_registry_pol(entries) == SAMBA_POL.read_bytes()
    blob = next(e for e in entries if e.value == "Blob")
    assert blob.type == 3 and len(blob.data) > 800
    kinds = {e.type for e in entries}
    assert kinds == {0, 1, 2, 3, 4, 7, 11}


@pytest.mark.skipif(not _samba_available(), reason="python3-samba (Debian) not installed")
def test_samba_ndr_encoder_agrees_byte_for_byte():
    proc = subprocess.run(
        [SYSTEM_PY, "-c", _SAMBA_SCRIPT, str(SAMBA_XML), str(SAMBA_POL)],
        capture_output=True,
        check=True,
    )
    assert proc.stdout == SAMBA_POL.read_bytes()
    assert proc.stderr.split() == [b"76", b"76"]


@pytest.mark.skipif(not _samba_available(), reason="python3-samba (Debian) not installed")
def test_samba_ndr_decodes_our_tricky_file():
    path = FIX / "pol" / "brackets.Registry.pol"
    script = (
        "import sys\nfrom samba.ndr import ndr_unpack\nfrom samba.dcerpc import preg\n"
        "f = ndr_unpack(preg.file, open(sys.argv[1], 'rb').read())\n"
        "print(f.num_entries, [e.valuename for e in f.entries])"
    )
    out = subprocess.run([SYSTEM_PY, "-c", script, str(path)], capture_output=True, check=True)
    assert out.stdout.decode().startswith("7 ['Blob', 'Rule', 'RequireSecuritySignature'")


def test_samba_golden_collected():
    result = collect_file(SAMBA_POL, "h")
    assert result.errors == ()
    values = by_id(result)
    assert len(values) == 41  # 76 entries minus 35 key-creation (type 0) records
    types = values[
        "hklm\\software\\policies\\microsoft\\windows\\safer\\codeidentifiers\\executabletypes"
    ]
    assert types.value[:3] == ("ADE", "ADP", "BAS") and len(types.value) == 31
    qos = values["hklm\\software\\policies\\microsoft\\windows\\qos\\abcd\\version"]
    assert (qos.value, qos.value_type) == ("1.0", "REG_SZ")
    qword = next(v for k, v in values.items() if k.endswith("lastmodified"))
    assert (qword.value, qword.value_type) == (131677984415641873, "REG_QWORD")


def test_brackets_and_semicolons_in_data():
    result = collect_file(FIX / "pol" / "brackets.Registry.pol", "h")
    assert result.errors == ()
    values = by_id(result)
    base = "hklm\\software\\policies\\microsoft\\windows\\lanmanserver\\"
    assert values[base + "blob"].value == b"]\x00;\x00]\x00[\x00\x00\x00"
    assert values[base + "rule"].value == "<Rule a=']'>;;]</Rule>"
    assert values[SRV_REQ].value == 0x005D003B
    assert values[WKS_REQ].value == 1
    assert values[base + "multi"].value == ("a]", "b;")
    assert values[base + "q"].value == 2**40 + 0x5D
    assert (values[base + "be"].value, values[base + "be"].value_type) == (
        7,
        "REG_DWORD_BIG_ENDIAN",
    )


@pytest.mark.parametrize(
    ("name", "want"), [("lanman.pass.Registry.pol", 1), ("lanman.fail.Registry.pol", 0)]
)
def test_lanman_fixtures(name, want):
    result = collect_file(FIX / "pol" / name, "h")
    v = by_id(result)[SRV_REQ]
    assert (v.value, v.value_type, v.provenance.kind) == (want, "REG_DWORD", "registrypol")
    assert v.provenance.layer is Layer.GPO
    assert v.provenance.location.startswith("offset 0x")


def test_special_value_names():
    values = by_id(collect_file(FIX / "pol" / "deletions.Registry.pol", "h"))
    pol = "hklm\\software\\policies\\microsoft\\windows\\"
    assert values[SRV_REQ].deleted
    assert values[pol + "lanmanworkstation\\*"].value_type == "VALUES"
    assert values[pol + "lanmanserver\\minsmb2dialect"].deleted
    assert values[pol + "lanmanserver\\maxsmb2dialect"].deleted
    assert values[pol + "lanmanserver\\*"].value_type == "KEY"
    assert values[pol + "old\\*"].deleted
    soft = values[pol + "lanmanserver\\auditclientdoesnotsupportsigning"]
    assert soft.value == 1 and soft.provenance.location.endswith("(soft)")
    assert not any("securekey" in k for k in values)


def test_user_folder_is_hkcu_and_gpo_tree_layer():
    (v,) = collect_file(FIX / "pol" / "User" / "Registry.pol", "h").values
    assert v.setting == "hkcu\\software\\test\\x"
    gpo = next((FIX / "gpo").rglob("Registry.pol"))
    assert {x.provenance.layer for x in collect_file(gpo, "h").values} == {Layer.GPO}
    local = registrypol.collect(
        gpo.read_bytes(), r"C:\Windows\System32\GroupPolicy\Machine\Registry.pol", "h"
    )
    assert {x.provenance.layer for x in local.values} == {Layer.LOCAL}


@pytest.mark.parametrize("name", ["truncated.error.Registry.pol", "badsize.error.Registry.pol"])
def test_damaged_files_keep_earlier_entries_and_report(name):
    result = collect_file(FIX / "pol" / name, "h")
    assert len(result.errors) == 1 and "entries before it were read" in result.errors[0].message
    assert len(result.values) == 3


@pytest.mark.parametrize(
    "data",
    [b"", b"PReg", b"PReg\x02\x00\x00\x00", b"XXXX\x01\x00\x00\x00", b"PReg\x01\x00\x00\x00[\x00a"],
)
def test_bad_headers(data):
    result = registrypol.collect(data, "Registry.pol", "h")
    assert result.values == () and len(result.errors) == 1


def test_dword_with_wrong_size_is_an_entry_error():
    data = encode_registry_pol(
        [PolEntry("K", "V", 4, b"\x01\x00"), PolEntry("K", "W", 4, struct.pack("<I", 5))]
    )
    result = registrypol.collect(data, "Registry.pol", "h")
    assert [v.value for v in result.values] == [5]
    assert "expected 4" in result.errors[0].message


_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
_entries = st.lists(
    st.builds(PolEntry, _names, _names, st.integers(0, 2**32 - 1), st.binary(max_size=40)),
    max_size=8,
)


@given(_entries)
@settings(max_examples=200, deadline=None)
def test_round_trip(entries):
    data = encode_registry_pol(entries)
    decoded = decode_registry_pol(data)
    assert [(e.key, e.value, e.type, e.data) for e in decoded] == [
        (e.key, e.value, e.type, e.data) for e in entries
    ]
    assert encode_registry_pol(decoded) == data


def test_encode_rejects_nul_in_names():
    with pytest.raises(ValueError, match="NUL"):
        encode_registry_pol([PolEntry("a\x00b", "v", 4, b"\x00" * 4)])


def test_iter_entries_raises_parse_error_only():
    with pytest.raises(ParseError):
        decode_registry_pol(b"PReg\x01\x00\x00\x00]")

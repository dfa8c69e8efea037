"""Registry collector through the RegistryReader interface. No Windows host runs in this
project's tests: the winreg code path is exercised with recorded snapshots (JSON files) and
the live WinregReader is only import-checked (``winreg`` exists on Windows only)."""

from __future__ import annotations

import json
import sys

import pytest
from collect_helpers import FIX, SRV_REQ, WKS_REQ, by_id

from smbsign.collect import collect_file, winreg_local
from smbsign.collect.local import collect_local
from smbsign.collect.winreg_local import RecordedRegistry, collect_registry, snapshot
from smbsign.errors import ParseError
from smbsign.model import Layer, Role

SNAP = FIX / "winreg" / "member-2022.fail.json"
WANTED = [
    (r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters", "RequireSecuritySignature"),
    (r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters", "EnableSecuritySignature"),
    (
        r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanWorkstation\Parameters",
        "RequireSecuritySignature",
    ),
]


def test_collect_registry_reads_wanted_values_and_facts():
    reader = RecordedRegistry.from_json(SNAP.read_bytes())
    result = collect_registry(reader, "fs1", WANTED, path="snapshot")
    values = by_id(result)
    assert (values[SRV_REQ].value, values[SRV_REQ].value_type) == (1, "REG_DWORD")
    assert values[WKS_REQ].value == 0
    assert "enablesecuritysignature" not in " ".join(values)  # absent stays absent
    v = values[SRV_REQ]
    assert v.provenance.kind == "winreg" and v.provenance.layer is Layer.LOCAL
    assert v.provenance.location.endswith("\\RequireSecuritySignature")
    facts = result.facts
    assert facts is not None
    assert (facts.build, facts.edition, facts.role) == (20348, "ServerStandard", Role.MEMBER_SERVER)


def test_snapshot_file_is_evidence():
    result = collect_file(SNAP, "fs1")
    values = by_id(result)
    blob = values["hklm\\software\\policies\\microsoft\\windows\\lanmanworkstation\\blob"]
    assert (blob.value, blob.provenance.layer) == (b"];", Layer.GPO)
    assert values[
        "hklm\\system\\currentcontrolset\\services\\lanmanserver\\parameters\\nullsessionpipes"
    ].value == ("lsarpc",)


def test_snapshot_round_trip():
    reader = RecordedRegistry.from_json(SNAP.read_bytes())
    items = list(reader.items())
    again = RecordedRegistry.from_json(json.dumps(snapshot(reader, items)).encode())
    assert [again.get(k, n) for k, n in items] == [reader.get(k, n) for k, n in items]
    assert reader.subkeys(r"HKLM\SYSTEM\CurrentControlSet\Services") == (
        "lanmanserver",
        "lanmanworkstation",
    )


def test_case_insensitive_lookup():
    reader = RecordedRegistry.from_json(SNAP.read_bytes())
    key = r"hkey_local_machine\system\currentcontrolset\services\LANMANSERVER\parameters"
    assert reader.get(key, "requiresecuritysignature") == (1, 4)


@pytest.mark.parametrize(
    "doc",
    [b"[]", b'{"notahive\\\\x": {}}', b'{"HKLM\\\\X": {"v": {"type": "REG_FOO", "data": 1}}}',
     b'{"HKLM\\\\X": {"v": {"type": "REG_BINARY", "data": "zz"}}}', b'{"HKLM\\\\X": []}'],
)  # fmt: skip
def test_bad_snapshots(doc):
    with pytest.raises(ParseError):
        RecordedRegistry.from_json(doc)
    assert winreg_local.collect(doc, "s.json", "h").errors


def test_bad_snapshot_fixture():
    result = collect_file(FIX / "winreg" / "badtype.error.json", "h")
    assert result.values == () and "does not fit REG_DWORD" in result.errors[0].message


class _Denied:
    def get(self, key: str, value: str):
        raise PermissionError(13, "Access is denied")

    def subkeys(self, key: str) -> tuple[str, ...]:
        return ()


def test_reader_errors_become_collect_errors():
    result = collect_registry(_Denied(), "h", WANTED[:1])
    assert result.values == () and "Access is denied" in result.errors[0].message


@pytest.mark.skipif(sys.platform == "win32", reason="checks the non-Windows guard")
def test_live_reader_needs_windows():
    with pytest.raises(ImportError):
        winreg_local.WinregReader()


@pytest.mark.skipif(sys.platform == "win32", reason="Linux path")
def test_local_collect_on_linux_reads_samba(tmp_path):
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\nserver signing = mandatory\n")
    result = collect_local("me", conf_path=conf)
    kinds = {
        (v.setting, v.provenance.kind, v.value)
        for v in result.values
        if v.setting == "samba:server signing"
    }
    assert kinds == {
        ("samba:server signing", "smbconf", "required"),
        ("samba:server signing", "testparm", "required"),
    }
    missing = collect_local("me", conf_path=tmp_path / "nope.conf")
    assert missing.values == () and "no Samba configuration" in missing.errors[0].message

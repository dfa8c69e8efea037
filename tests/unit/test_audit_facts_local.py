"""Host facts merging, and the ``--local`` paths of ``smbsign audit``.

The Windows ``--local`` path cannot run natively here (no Windows host in this project's
tests). It is exercised with a recorded snapshot
(tests/fixtures/collect/winreg/member-2022.fail.json) twice: through the registry collector
directly, and end to end through ``WinregReader`` over a stand-in ``winreg`` module holding
that snapshot (tests/unit/fake_winreg.py). The Linux path runs the real testparm on a
temporary smb.conf (``--no-probe``: no socket).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbsign.audit import registry_wanted
from smbsign.audit.facts import parse_edition, parse_os_family, parse_role
from smbsign.catalog import load_catalog
from smbsign.cli import app
from smbsign.collect.winreg_local import RecordedRegistry, collect_registry
from smbsign.engine.evaluate import evaluate
from smbsign.engine.facts import infer_os_family, merge_facts, samba_role
from smbsign.errors import UsageError
from smbsign.model import HostFacts, Layer, OsFamily, Provenance, Role, SettingValue, Status
from smbsign.regpath import setting_id

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "fixtures" / "collect" / "winreg" / "member-2022.fail.json"


def _samba(param: str, value: str) -> SettingValue:
    prov = Provenance("smbconf", "smb.conf", "line 2", Layer.LOCAL)
    return SettingValue("h", f"samba:{param}", value, "samba", prov)


# ------------------------------------------------------------------ facts


def test_command_line_wins_and_the_conflict_is_noted() -> None:
    ev = HostFacts("h", OsFamily.WINDOWS, 22631, "Enterprise", Role.WORKSTATION, sources=("a.reg",))
    cli = HostFacts("h", build=26100, role=Role.WORKSTATION)
    merged = merge_facts("h", cli, [ev])
    assert merged.facts.build == 26100 and merged.facts.edition == "Enterprise"
    assert merged.facts.os_family is OsFamily.WINDOWS
    assert merged.notes == (
        "evidence says build 22631 (a.reg), the command line says 26100: using 26100",
    )
    assert "build: command line" in merged.facts.sources
    assert "edition: a.reg" in merged.facts.sources


def test_conflicting_evidence_keeps_the_first_and_says_so() -> None:
    a = HostFacts("h", build=20348, sources=("a.json",))
    b = HostFacts("h", build=17763, smb1_installed=False, sources=("b.reg",))
    merged = merge_facts("h", None, [a, b])
    assert merged.facts.build == 20348 and merged.facts.smb1_installed is False
    assert merged.notes == (
        "conflicting evidence for build: 20348 (a.json) vs 17763 (b.reg); using 20348",
    )


@pytest.mark.parametrize(
    ("values", "role"),
    [
        ([_samba("server role", "active directory domain controller")], Role.DOMAIN_CONTROLLER),
        ([_samba("server role", "member server")], Role.MEMBER_SERVER),
        ([_samba("server role", "auto"), _samba("security", "ads")], Role.MEMBER_SERVER),
        ([_samba("security", "user")], Role.STANDALONE),
        ([_samba("server role", "classic primary domain controller")], None),
        ([_samba("server role", "auto"), _samba("domain logons", "yes")], None),
        ([], None),
    ],
)
def test_samba_role(values: list[SettingValue], role: Role | None) -> None:
    assert samba_role(values)[0] is role
    merged = merge_facts("h", None, [], values)
    assert merged.facts.role is role


def test_os_family_inference() -> None:
    reg = SettingValue(
        "h",
        setting_id("HKLM\\X", "Y"),
        1,
        "REG_DWORD",
        Provenance("regfile", "a.reg", "line 2", Layer.LOCAL),
    )
    assert infer_os_family([reg]) is OsFamily.WINDOWS
    assert infer_os_family([_samba("server signing", "required")]) is OsFamily.SAMBA
    assert infer_os_family([reg, _samba("server signing", "required")]) is None
    assert infer_os_family([]) is None


def test_option_parsers() -> None:
    assert parse_role("DC") is Role.DOMAIN_CONTROLLER
    assert parse_role("member-server") is Role.MEMBER_SERVER
    assert parse_os_family("Samba") is OsFamily.SAMBA
    assert parse_edition("home") == "Core" and parse_edition("Pro") == "Professional"
    assert parse_edition("ServerDatacenter") == "ServerDatacenter"
    for bad in (
        lambda: parse_role("x"),
        lambda: parse_os_family("x"),
        lambda: parse_edition("a b"),
    ):
        with pytest.raises(UsageError):
            bad()


# ------------------------------------------------------------------ --local


def test_windows_local_path_with_a_recorded_registry() -> None:
    catalog = load_catalog()
    wanted = registry_wanted(catalog.controls.values())
    keys = {k.lower() for k, _ in wanted}
    assert "hklm\\system\\currentcontrolset\\services\\mrxsmb10" in keys  # SMB1 client state
    reader = RecordedRegistry.from_json(SNAPSHOT.read_bytes(), where=str(SNAPSHOT))
    result = collect_registry(reader, "fs01", wanted, path="registry (live)")
    assert result.facts is not None and result.facts.build == 20348
    merged = merge_facts(
        "fs01", HostFacts("fs01", os_family=OsFamily.WINDOWS), [result.facts], result.values
    )
    found = {f.control: f for f in evaluate(result.values, [], merged.facts, catalog)}
    assert found["smb-server-signing-required"].status is Status.PASS
    assert found["smb-client-signing-required"].status is Status.FAIL
    src = found["smb-server-signing-required"].source
    assert src is not None and src.kind == "winreg" and src.layer is Layer.LOCAL


def test_linux_local_with_real_testparm(tmp_path: Path) -> None:
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\n\tworkgroup = LAB\n\tserver signing = mandatory\n")
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "--local",
            "--samba-conf",
            str(conf),
            "--no-probe",
            "--host",
            "nas1",
            "-f",
            "json",
        ],
    )
    assert res.exception is None or isinstance(res.exception, SystemExit)
    found = {f["control"]: f for f in json.loads(res.stdout)["findings"]}
    f = found["smb-server-signing-required"]
    assert f["host"] == "nas1" and f["status"] == "pass"
    assert f["source"]["kind"] == "testparm" and f["source"]["layer"] == "effective"
    assert any(n.startswith("the configuration agrees") for n in f["notes"])
    assert found["smb-server-spn-hardening"]["status"] == "not_applicable"  # Windows only


def test_linux_local_invalid_config_is_an_error(tmp_path: Path) -> None:
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\n\tserver signing = bogus\n")
    res = CliRunner().invoke(
        app, ["audit", "--local", "--samba-conf", str(conf), "--no-probe", "-f", "json"]
    )
    assert res.exit_code == 1
    errors = [f for f in json.loads(res.stdout)["findings"] if f["control"] == "evidence-error"]
    kinds = {e["source"]["kind"] for e in errors}
    assert "testparm" in kinds  # testparm rejects the config: "config invalid", never default
    assert all(e["status"] == "error" for e in errors)


def test_local_missing_samba_conf_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["audit", "--local", "--samba-conf", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "no such Samba config" in res.stderr


def test_windows_local_audit_through_winreg(monkeypatch: pytest.MonkeyPatch) -> None:
    """``smbsign audit --local`` as on Windows: the live-registry reader (``WinregReader``)
    over a stand-in ``winreg`` module holding a recorded snapshot (tests/unit/fake_winreg.py;
    no Windows host runs here). The values the catalog checks are read through ``OpenKey`` /
    ``QueryValueEx`` in the 64-bit view; absent keys are simply absent."""
    import fake_winreg

    fake = fake_winreg.module(SNAPSHOT)
    monkeypatch.setitem(sys.modules, "winreg", fake)
    monkeypatch.setattr(sys, "platform", "win32")  # for this call only
    res = CliRunner().invoke(
        app, ["audit", "--local", "--no-probe", "--host", "fs01", "-f", "json", "--no-store"]
    )
    assert res.exit_code == 1, res.stderr
    found = {f["control"]: f for f in json.loads(res.stdout)["findings"]}
    srv = found["smb-server-signing-required"]
    assert srv["status"] == "pass" and srv["observed"] == 1
    assert srv["source"] == {
        "kind": "winreg",
        "path": "registry",
        "location": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters"
        "\\RequireSecuritySignature",
        "layer": "local",
        "gpo": None,  # schema 1.1: only the domain view (smbsign ad) names the deciding GPO
    }
    assert found["smb-client-signing-required"]["status"] == "fail"  # 0 in the snapshot
    assert found["samba-client-ipc-signing-required"]["status"] == "not_applicable"
    # facts from the live registry: build 20348, ServerStandard, ProductType ServerNT
    assert (
        "20348/ServerStandard/member_server"
        in found["smb-server-spn-hardening"]["source"]["location"]
    )
    opened = {sub.lower() for _, sub in fake.calls}
    assert "system\\currentcontrolset\\services\\mrxsmb10" in opened  # SMB1 client state asked


def test_windows_local_audit_access_denied_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import fake_winreg

    denied = frozenset({"system\\currentcontrolset\\services\\lanmanserver\\parameters"})
    monkeypatch.setitem(sys.modules, "winreg", fake_winreg.module(SNAPSHOT, denied))
    monkeypatch.setattr(sys, "platform", "win32")  # for this call only
    res = CliRunner().invoke(app, ["audit", "--local", "--no-probe", "-f", "json", "--no-store"])
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    found = {f["control"]: f for f in json.loads(res.stdout)["findings"]}
    assert found["evidence-error"]["status"] == "error"
    assert "Access is denied" in found["evidence-error"]["reason"]
    srv = found["smb-server-signing-required"]  # its key could not be read: never a default
    assert srv["status"] == "unknown", srv


def test_every_registry_collector_kind_implies_windows() -> None:
    """Evidence from any registry source (local, remote, hive, files) makes a host Windows."""
    from smbsign.engine.facts import family_of_kinds
    from smbsign.model import OsFamily

    for kind in ("regfile", "gpttmpl", "secedit", "registrypol", "winreg", "winreg_remote", "hive"):
        assert family_of_kinds([kind]) is OsFamily.WINDOWS, kind
    assert family_of_kinds(["smbconf", "testparm"]) is OsFamily.SAMBA
    assert family_of_kinds(["winreg_remote", "smbconf"]) is None

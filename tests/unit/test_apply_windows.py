"""Windows applier: snapshot -> typed writes -> verify -> rollback, on a recorded registry.

No Windows host runs here: these tests use :class:`MemoryRegistry` loaded from
``tests/fixtures/registry/win2022_member.recorded.json`` (the documented state of a Windows
Server 2022 member server, see its ``_comment``), behind the same ``RegistryWriter``
interface the local ``winreg`` writer implements. What they prove is the applier's logic
(what is snapshotted, written, verified and restored), not Windows itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smbsign.catalog import load_catalog
from smbsign.collect import regfile
from smbsign.errors import RemediationError
from smbsign.remediate.apply.base import apply_safely
from smbsign.remediate.apply.windows import MemoryRegistry, WindowsApplier, rollback_windows
from smbsign.remediate.plan import TargetKind, build_plan
from smbsign.remediate.snapshot import SnapshotStore

RECORDING = Path(__file__).parents[1] / "fixtures" / "registry" / "win2022_member.recorded.json"
SERVER = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters"
CLIENT = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
AUDIT = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer"
IDS = [
    "smb-server-signing-required",
    "smb-client-signing-required",
    "smb-client-plaintext-password-disabled",
    "smb-server-audit-unsigned-clients",
    "smb1-client-disabled",
]


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry.from_json(RECORDING.read_text())


@pytest.fixture
def plan():
    catalog = load_catalog()
    return build_plan(list(catalog.controls.values()), TargetKind.WINDOWS_SERVER, control_ids=IDS)


def values(reg: MemoryRegistry) -> list[dict]:
    return reg.dump()["values"]


def test_apply_writes_typed_values_and_snapshots_the_previous_ones(registry, plan, tmp_path):
    store = SnapshotStore(tmp_path / "snaps")
    result = apply_safely(WindowsApplier(registry, store), plan)
    assert result.verification.ok
    server = registry.read(SERVER, "RequireSecuritySignature")
    assert (server.type, server.data) == ("REG_DWORD", 1)
    plain = registry.read(CLIENT, "EnablePlainTextPassword")
    assert (plain.type, plain.data) == ("REG_DWORD", 0)  # the REG_SZ "0" is now a real DWORD
    depend = registry.read(
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation", "DependOnService"
    )
    assert (depend.type, depend.data) == ("REG_MULTI_SZ", ("Bowser", "MRxSmb20", "NSI"))
    assert registry.read(AUDIT, "AuditClientDoesNotSupportSigning").data == 1

    assert result.snapshot is not None
    manifest = json.loads((result.snapshot.path / "manifest.json").read_text())
    prior = {(v["key"].lower(), v["name"]): v for v in manifest["values"]}
    assert prior[(SERVER.lower(), "RequireSecuritySignature")] | {} == {
        "control": "smb-server-signing-required",
        "key": SERVER,
        "name": "RequireSecuritySignature",
        "key_existed": True,
        "present": True,
        "type": "REG_DWORD",
        "data": 0,
    }
    assert prior[(CLIENT.lower(), "RequireSecuritySignature")]["present"] is False
    assert prior[(CLIENT.lower(), "EnablePlainTextPassword")]["type"] == "REG_SZ"
    audit = prior[(AUDIT.lower(), "AuditClientDoesNotSupportSigning")]
    assert audit["present"] is False and audit["key_existed"] is False


def test_rollback_restores_every_value_exactly(registry, plan, tmp_path):
    before = values(registry)
    store = SnapshotStore(tmp_path / "snaps")
    result = apply_safely(WindowsApplier(registry, store), plan)
    assert values(registry) != before
    assert result.snapshot is not None
    safety = rollback_windows(result.snapshot, registry, store)
    assert values(registry) == before  # absent values deleted, REG_SZ "0" back, MRxSmb10 back
    # the state being replaced was saved first, so the rollback can be undone too
    saved = {(p.key, p.name): p for p in safety.priors()}
    assert saved[(SERVER, "RequireSecuritySignature")].data == 1


def test_a_failed_write_rolls_back_what_was_already_written(registry, plan, tmp_path):
    before = values(registry)
    registry.fail_writes = {"EnablePlainTextPassword"}  # third value of the plan
    store = SnapshotStore(tmp_path / "snaps")
    with pytest.raises(RemediationError) as err:
        apply_safely(WindowsApplier(registry, store), plan)
    message = str(err.value)
    assert "Access is denied" in message and "original restored" in message
    assert "\n" not in message
    registry.fail_writes = set()
    assert values(registry) == before
    assert any(w[1] == "RequireSecuritySignature" for w in registry.writes)  # it did write first


def test_second_run_changes_nothing_and_takes_no_snapshot(registry, plan, tmp_path):
    store = SnapshotStore(tmp_path / "snaps")
    apply_safely(WindowsApplier(registry, store), plan)
    writes = len(registry.writes)
    again = apply_safely(WindowsApplier(registry, store), plan)
    assert again.snapshot is None and not again.preview.changed
    assert len(registry.writes) == writes
    assert len(store.list()) == 1


@pytest.mark.parametrize(("level", "written"), [(2, 2), (0, 1)])
def test_a_minimum_level_is_raised_but_never_lowered(registry, tmp_path, level, written):
    """SPN target name validation passes at >= 1 (reference.md §1.3): 2 is kept, 0 becomes 1."""
    registry.write(SERVER, "SmbServerNameHardeningLevel", "REG_DWORD", level)
    catalog = load_catalog()
    spn = build_plan(
        list(catalog.controls.values()),
        TargetKind.WINDOWS_SERVER,
        control_ids=["smb-server-spn-hardening"],
    )
    store = SnapshotStore(tmp_path / "snaps")
    result = apply_safely(WindowsApplier(registry, store), spn)
    assert registry.read(SERVER, "SmbServerNameHardeningLevel").data == written
    assert result.verification.ok
    assert (result.snapshot is None) is (level == 2)  # nothing to change, no snapshot


def test_preview_lists_each_difference(registry, plan):
    preview = WindowsApplier(registry, SnapshotStore(Path("/nonexistent"))).preview(plan)
    assert (
        f"{SERVER.replace('HKLM', 'HKLM', 1)}\\RequireSecuritySignature: 0 (REG_DWORD) -> "
        "1 (REG_DWORD)" in preview.diff
    )
    assert "EnablePlainTextPassword: 0 (REG_SZ) -> 0 (REG_DWORD)" in preview.diff
    assert "RequireSecuritySignature: (absent) -> 1 (REG_DWORD)" in preview.diff


def test_undo_reg_from_a_snapshot_written_by_the_powershell_script(tmp_path):
    """The generated PowerShell writes the same manifest; `rollback --format reg` reads it."""
    snap = tmp_path / "snaps" / "20260101T000000Z-windows-registry-0a1b2c3d"
    snap.mkdir(parents=True)
    (snap / "manifest.json").write_text(
        json.dumps(
            {
                "smbsign_snapshot": 1,
                "kind": "windows-registry",
                "id": snap.name,
                "created": "2026-01-01T00:00:00Z",
                "host": "FS01",
                "tool": "smbsign 0.1.0",
                "reason": "before smbsign-fix.ps1",
                "values": [
                    {
                        "control": "smb-server-signing-required",
                        "key": SERVER,
                        "name": "RequireSecuritySignature",
                        "key_existed": True,
                        "present": True,
                        "type": "REG_DWORD",
                        "data": 4294967295,
                    },
                    {
                        "control": "smb-client-signing-required",
                        "key": CLIENT,
                        "name": "RequireSecuritySignature",
                        "key_existed": True,
                        "present": False,
                        "type": None,
                        "data": None,
                    },
                    {
                        "control": "smb1-client-disabled",
                        "key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation",
                        "name": "DependOnService",
                        "key_existed": True,
                        "present": True,
                        "type": "REG_MULTI_SZ",
                        "data": ["Bowser", "MRxSmb20", "MRxSmb10", "NSI"],
                    },
                ],
                "cmdlets": [
                    {
                        "control": "smb-server-signing-required",
                        "cmdlet": "Set-SmbServerConfiguration",
                        "getter": "Get-SmbServerConfiguration",
                        "parameter": "RequireSecuritySignature",
                        "previous": False,
                    }
                ],
            }
        )
    )
    out = tmp_path / "undo"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from smbsign.cli import main; main()",
            "rollback",
            str(snap),
            "--format",
            "reg",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = (out / "smbsign-undo.reg").read_bytes()
    assert data.startswith(b"\xff\xfe") and b"\r\x00\n\x00" in data
    parsed = regfile.collect(data, "smbsign-undo.reg", "FS01")
    assert not parsed.errors
    got = {v.setting: (v.value, v.value_type, v.deleted) for v in parsed.values}
    base = "hklm\\system\\currentcontrolset\\services\\"
    assert got[base + "lanmanserver\\parameters\\requiresecuritysignature"] == (
        0xFFFFFFFF,
        "REG_DWORD",
        False,
    )
    assert got[base + "lanmanworkstation\\parameters\\requiresecuritysignature"][2] is True
    assert got[base + "lanmanworkstation\\dependonservice"][:2] == (
        ("Bowser", "MRxSmb20", "MRxSmb10", "NSI"),
        "REG_MULTI_SZ",
    )


def test_a_windows_snapshot_is_not_restored_here(tmp_path, registry, plan):
    store = SnapshotStore(tmp_path / "snaps")
    result = apply_safely(WindowsApplier(registry, store), plan)
    assert result.snapshot is not None
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from smbsign.cli import main; main()",
            "rollback",
            str(result.snapshot.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if sys.platform != "win32":
        assert proc.returncode == 2
        assert "--format reg" in proc.stderr and "Traceback" not in proc.stderr


def test_every_type_a_snapshot_can_record_maps_back_to_its_code():
    """Rollback writes back any type it saved, odd ones included (REG_NONE, big-endian,
    REG_UNKNOWN_0x..), instead of failing on a type it does not know."""
    from smbsign.codecs.regdata import type_name
    from smbsign.remediate.snapshot import type_code

    for code in [*range(12), 0x20, 0xFFFF]:
        assert type_code(type_name(code)) == code
    with pytest.raises(RemediationError, match="unknown registry value type"):
        type_code("REG_UNKNOWN_0xzz")
    with pytest.raises(RemediationError):
        type_code("STRING")


def _undo(tmp_path: Path, values: object) -> subprocess.CompletedProcess[str]:
    snap = tmp_path / "snaps" / "20260101T000000Z-windows-registry-00000000"
    snap.mkdir(parents=True)
    (snap / "manifest.json").write_text(
        json.dumps({"smbsign_snapshot": 1, "kind": "windows-registry", "values": values})
    )
    cli = [sys.executable, "-c", "from smbsign.cli import main; main()"]
    return subprocess.run(
        [*cli, "rollback", str(snap), "--format", "reg", "-o", str(tmp_path / "undo")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_undo_reg_writes_back_odd_types_a_snapshot_recorded(tmp_path):
    odd = [
        {"key": SERVER, "name": "Odd", "present": True, "type": t, "data": "0a0b"}
        for t in ("REG_NONE", "REG_DWORD_BIG_ENDIAN", "REG_UNKNOWN_0x20")
    ]
    proc = _undo(tmp_path, odd)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "undo" / "smbsign-undo.reg").read_bytes().decode("utf-16")
    for code in ("hex(0):0a,0b", "hex(5):0a,0b", "hex(20):0a,0b"):
        assert f'"Odd"={code}\r\n' in text


@pytest.mark.parametrize(
    "values",
    [
        "not a list",
        [{"key": SERVER, "name": "X", "present": True, "type": "REG_DWORD", "data": "abc"}],
        [{"key": SERVER, "name": "X", "present": True, "type": "BOGUS", "data": "00"}],
        [{"name": "X", "present": False}],
    ],
)
def test_a_malformed_snapshot_is_one_line_not_a_traceback(tmp_path, values):
    proc = _undo(tmp_path, values)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "internal error" not in lines[0], proc.stderr
    assert not (tmp_path / "undo" / "smbsign-undo.reg").exists()

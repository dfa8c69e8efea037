"""`smbsign fix` command line: plans from real audit output, formats on disk, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from smbsign.cli import main; main()"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def audit_output(tmp_path: Path) -> dict[str, Path]:
    """Real `smbsign audit` output (JSON and JSONL) for a Samba server that signs on SMB1 only."""
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\n\tserver role = standalone server\n\tserver signing = auto\n")
    out = {}
    for fmt in ("json", "jsonl"):
        proc = run("audit", str(conf), "--format", fmt)
        assert proc.returncode == 1, proc.stderr  # findings: not compliant
        out[fmt] = tmp_path / f"findings.{fmt}"
        out[fmt].write_text(proc.stdout)
    return out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_fix_from_audit_findings_plans_the_failed_controls(audit_output, fmt: str) -> None:
    proc = run("fix", "--from", str(audit_output[fmt]), "--target", "samba")
    assert proc.returncode == 0, proc.stderr
    assert "change   smb-server-signing-required" in proc.stdout
    assert "change   samba-client-ipc-signing-required" not in proc.stdout  # it passed
    assert "(stage default, from findings" in proc.stdout


def test_format_all_writes_every_samba_or_windows_format(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("fix", "--format", "all", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "ansible",
        "dsc",
        "gpo",
        "intune",
        "plan.json",
        "powershell",
        "reg",
    ]
    plan = json.loads((out / "plan.json").read_text())
    assert plan["target"] == "windows-server"
    assert [c["control"] for c in plan["changes"]] == [
        "smb-client-signing-required",
        "smb-server-signing-required",
    ]
    samba = tmp_path / "samba"
    proc = run("fix", "--target", "samba", "--format", "all", "-o", str(samba))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in samba.iterdir()) == ["plan.json", "smbconf"]


def test_staged_audit_plan_names_the_audit_policies(tmp_path: Path) -> None:
    proc = run(
        "fix",
        "--stage",
        "audit",
        "--target",
        "windows-client",
        "--format",
        "reg",
        "-o",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "smbsign-fix.reg").read_bytes().decode("utf-16")
    assert '"AuditClientDoesNotSupportSigning"=dword:00000001' in text
    assert '"AuditServerDoesNotSupportSigning"=dword:00000001' in text
    assert "RequireSecuritySignature" not in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--yes"], "--yes only makes sense with --apply"),
        (["--format", "reg"], "--format needs -o DIR"),
        (["--format", "smbconf", "-o", "X"], "does not apply to --target windows-server"),
        (["--format", "nope", "-o", "X"], "choose one of"),
        (["--controls", "no-such-control"], "unknown control id"),
        (["--from", "F", "--controls", "smb-server-signing-required"], "not both"),
        (["--apply"], "--apply needs --samba"),
        (["--samba", "/etc/x.conf", "--target", "windows-client"], "--target samba"),
        (["--samba", "/nonexistent/smb.conf", "--apply"], "no such file"),
        (
            ["--samba", "/etc/hostname", "--apply", "--verify", "1.2.3.4:99999"],
            "expected ADDR or ADDR:PORT",
        ),
        (["--from", "/nonexistent.json"], "cannot read"),
        (["--samba", "/etc/hostname", "--apply", "--verify", "[::1"], "expected ADDR"),
        (["--samba", "/etc/hostname", "--apply", "--verify", "[::1]445"], "expected ADDR"),
        (["--controls", ""], "--controls is empty"),
        (["--controls", " , "], "--controls is empty"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], needle: str) -> None:
    proc = run("fix", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b'{"no_findings": []}',
        b'[{"control": 1, "status": "fail"}]',
        b"\xff\xfe\x00garbage",
        b'{"type":"finding","host":"h"}\n',
        b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the JSON decoder's stack
        b'{"control": "c", "status": "fail"}\n' + b"[" * 100_000 + b"\n",
    ],
)
def test_malformed_findings_are_a_usage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "findings.json"
    path.write_bytes(content)
    proc = run("fix", "--from", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\xff\xfe[\x00g\x00l\x00o\x00b\x00a\x00l\x00]\x00", "NUL bytes"),  # UTF-16
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "NUL bytes"),  # a binary
    ],
)
def test_samba_apply_refuses_a_file_that_is_not_a_text_smb_conf(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    """Before anything (no diff of binary garbage, no snapshot): one line, exit 2."""
    conf = tmp_path / "smb.conf"
    conf.write_bytes(content)
    snaps = tmp_path / "snaps"
    proc = run("fix", "--samba", str(conf), "--apply", "--yes", "--snapshot-dir", str(snaps))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and str(conf) in lines[0]
    assert conf.read_bytes() == content and not snaps.exists()


def test_files_of_an_earlier_run_are_pointed_out_not_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    both = "smb-server-signing-required,smb1-server-disabled"
    assert run("fix", "--controls", both, "--format", "ansible", "-o", str(out)).returncode == 0
    old_role = out / "roles" / "smb1_server_disabled" / "README.md"
    assert old_role.is_file()
    proc = run(
        "fix", "--controls", "smb-server-signing-required", "--format", "ansible", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "not from this run" in proc.stdout and "smb1_server_disabled" in proc.stdout
    assert old_role.is_file()  # the user's directory is never cleaned behind their back
    fresh = run("fix", "--format", "ansible", "-o", str(tmp_path / "new"))
    assert "not from this run" not in fresh.stdout


SINGLE_FORMATS = [
    ("powershell", "windows-server", "smbsign-fix.ps1"),
    ("ansible", "windows-server", "galaxy.yml"),
    ("gpo", "windows-server", "Import-SmbsignGpo.ps1"),
    ("reg", "windows-server", "smbsign-fix.reg"),
    ("intune", "windows-server", "smbsign-intune.json"),
    ("dsc", "windows-server", "SmbsignSigning.ps1"),
    ("smbconf", "samba", "smbsign-global.conf"),
]


@pytest.mark.parametrize(("fmt", "target", "marker"), SINGLE_FORMATS)
def test_one_format_is_written_into_the_directory_given(
    tmp_path: Path, fmt: str, target: str, marker: str
) -> None:
    """#11 item 21: `--format F -o out/F` writes out/F/<files>, not out/F/F/<files>."""
    out = tmp_path / "out" / fmt
    proc = run("fix", "--target", target, "--format", fmt, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / marker).is_file(), sorted(p.name for p in out.iterdir())
    assert (out / "plan.json").is_file()
    assert not (out / fmt).exists()
    assert f"under {out}" in proc.stdout


def test_single_formats_cover_every_format() -> None:
    from smbsign.remediate.render import FORMATS

    assert {f for f, _, _ in SINGLE_FORMATS} == set(FORMATS)


def _scan_records() -> list[object]:
    """Real scan records: two relayable hosts (one offers SMB1 unsigned), one that requires
    signing, one answered but undetermined, one error and one closed port."""
    from smbsign.model import (
        ScanRecord,
        ScanStatus,
        Smb1Observation,
        Smb1Signing,
        Smb2Observation,
    )

    no1 = Smb1Observation(offered=False, reason="dialect index 0xFFFF")
    none1 = Smb1Observation(offered=None)
    smb2 = Smb2Observation(dialect="3.1.1", dialect_revision=0x311, security_mode=0x01)
    req2 = Smb2Observation(dialect="3.1.1", dialect_revision=0x311, security_mode=0x03)
    smb1 = Smb1Observation(offered=True, signing=Smb1Signing.DISABLED, security_mode=0x03)
    ok, err, closed = ScanStatus.OK, ScanStatus.ERROR, ScanStatus.CLOSED
    return [
        ScanRecord("192.0.2.10", 445, ok, False, no1, smb2, "signing not required"),
        ScanRecord("2001:db8::2", 445, ok, False, smb1, req2, "SMB1 unsigned"),
        ScanRecord("192.0.2.2", 445, ok, True, no1, req2, "signing required"),
        ScanRecord("192.0.2.3", 445, ok, None, none1, None, "undetermined"),
        ScanRecord("192.0.2.4", 445, err, None, none1, None, "protocol_error: x"),
        ScanRecord("192.0.2.5", 445, closed, None, none1, None, "closed: refused"),
    ]


@pytest.fixture
def scan_output(tmp_path: Path) -> dict[str, Path]:
    """`smbsign scan --format json` and `--format jsonl` output, written by the scan writers."""
    import io

    from smbsign.scan.output import JsonlWriter, JsonWriter, Tally

    out = {}
    for fmt, cls in (("json", JsonWriter), ("jsonl", JsonlWriter)):
        buf = io.StringIO()
        writer = cls(buf)
        tally = Tally()
        for rec in _scan_records():
            writer.write(rec)  # type: ignore[arg-type]
            tally.add(rec)  # type: ignore[arg-type]
        writer.close(tally.summary(complete=True))
        out[fmt] = tmp_path / f"scan.{fmt}"
        out[fmt].write_text(buf.getvalue())
    return out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_fix_from_scan_records_plans_server_signing_for_relayable_hosts(
    scan_output: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    """#11 item 20: scan output is a valid --from; relayable hosts by address, SMB1 unsigned
    -> smb1-server-disabled, unknown/error hosts counted in a note, OS not guessed."""
    out = tmp_path / f"out-{fmt}"
    proc = run("fix", "--from", str(scan_output[fmt]), "--format", "reg", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "change   smb-server-signing-required: " in proc.stdout
    assert "[192.0.2.10, 2001:db8::2]" in proc.stdout
    assert "change   smb1-server-disabled: " in proc.stdout and "[2001:db8::2]" in proc.stdout
    assert "(stage default, from scan records" in proc.stdout
    assert "1 with signing unknown" in proc.stdout and "1 with an error" in proc.stdout
    assert "not whether it runs Windows or Samba" in proc.stdout
    assert "192.0.2.2" not in proc.stdout  # already requires signing
    plan = json.loads((out / "plan.json").read_text())
    hosts = {c["control"]: c["hosts"] for c in plan["changes"]}
    assert hosts == {
        "smb-server-signing-required": ["192.0.2.10", "2001:db8::2"],
        "smb1-server-disabled": ["2001:db8::2"],
    }
    assert any("signing unknown" in n for n in plan["notes"])
    samba = run("fix", "--from", str(scan_output[fmt]), "--target", "samba")
    assert samba.returncode == 0 and "change   smb-server-signing-required" in samba.stdout


@pytest.mark.parametrize(
    "content",
    [
        b'{"kind": "smbsign.scan", "records": [{"target": "h"}]}',
        b'{"target":"a\\u001b[2J","port":445,"status":"ok","signing_required":false,'
        b'"relayable":true,"smb1":{"offered":false},"smb2":null}\n',
        b'{"target":"a","port":445,"status":"closed","signing_required":null,'
        b'"relayable":true,"smb1":{"offered":false},"smb2":null}\n',
        b'{"target":"a","port":445,"status":"ok","signing_required":"no",'
        b'"relayable":false,"smb1":{"offered":false},"smb2":null}\n',
    ],
)
def test_malformed_scan_records_are_a_usage_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "scan.jsonl"
    path.write_bytes(content)
    proc = run("fix", "--from", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "scan record" in lines[0] and "\x1b" not in lines[0], lines

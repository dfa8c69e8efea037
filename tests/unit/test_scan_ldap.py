"""``scan --protocols``: options, the probe wrapper, tally, relay list and outputs (issue #12).

The LDAP servers are the synthesised Windows-like DCs of ``ldapwire_fakeserver`` on loopback
(Samba is measured in tests/lab/test_ldap_lab.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import jsonschema
import pytest

pytest.importorskip("impacket")

from ldapwire_fakeserver import VALID_USER, WindowsLikeDc, dc_handler, self_signed, serve
from test_apply_samba_faults import closed_port

from smbsign.cli.scan_ldap import LdapPlan, ldap_plan, relay_bytes, wrap_probe
from smbsign.collect.winreg_remote import Credentials
from smbsign.errors import UsageError
from smbsign.model import (
    ChannelBinding,
    LdapObservation,
    LdapSigning,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
)
from smbsign.scan.ldap_probe import LdapProbeOptions, probe_ldap
from smbsign.scan.output import CSV_COLUMNS, Tally, load_schema, make_writer, relay_urls_bytes
from smbsign.scan.protocols import parse_protocols, with_ldap
from smbsign.scan.runner import RunOptions, error_record, run_scan
from smbsign.scan.targets import Target

SCAN = [sys.executable, "-c", "from smbsign.cli import main; main()", "scan"]


def _smb(address: str, required: bool | None) -> ScanRecord:
    if required is None:
        return ScanRecord(address, 445, ScanStatus.CLOSED, None, Smb1Observation(None), None)
    return ScanRecord(address, 445, ScanStatus.OK, required, Smb1Observation(False), None)


def _obs(signing: LdapSigning, binding: ChannelBinding) -> LdapObservation:
    return LdapObservation(signing, binding, "unauthenticated", "ldap: x; ldaps: y")


# ------------------------------------------------------------------------------ options


def test_parse_protocols() -> None:
    assert parse_protocols("ldaps, SMB") == ("smb", "ldaps")
    assert parse_protocols("smb,ldap,ldaps,ldap") == ("smb", "ldap", "ldaps")
    for bad in ("", "http", "smb;ldap", ","):
        with pytest.raises(UsageError, match="--protocols"):
            parse_protocols(bad)


def test_ldap_plan_smb_only_reads_no_secret_and_refuses_user() -> None:
    plan = ldap_plan("smb", None, None, connect_timeout=2, read_timeout=3)
    assert plan == LdapPlan(("smb",)) and not plan.ldap
    with pytest.raises(UsageError, match="go with --protocols ldap"):
        ldap_plan("smb", "LAB\\alice", None, connect_timeout=2, read_timeout=3)


def test_ldap_plan_credentials_like_audit_remote(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SMBSIGN_PASSWORD", raising=False)
    monkeypatch.delenv("SMBSIGN_NTHASH", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no prompt
    with pytest.raises(UsageError, match="scan --user needs a password"):
        ldap_plan("ldap", "LAB\\alice", None, connect_timeout=2, read_timeout=3)
    monkeypatch.setenv("SMBSIGN_PASSWORD", "S3cret!")
    plan = ldap_plan("smb,ldaps", "LAB\\alice", None, connect_timeout=2, read_timeout=3)
    assert plan.opts is not None and plan.opts.credentials == Credentials(
        "alice", "LAB", password="S3cret!"
    )
    assert not plan.opts.ldap and plan.opts.ldaps
    assert "S3cret" not in repr(plan)  # secrets never in a repr (logs, tracebacks)
    pw = tmp_path / "pw"
    pw.write_text("FromFile\n")
    plan = ldap_plan("ldap", "alice@LAB", pw, connect_timeout=2, read_timeout=3)
    assert plan.opts is not None and plan.opts.credentials is not None
    assert plan.opts.credentials.password == "FromFile"


# ------------------------------------------------------------------ tally, relay list


def test_tally_relay_targets_sorted_deduplicated_and_exit_code() -> None:
    tally = Tally()
    tally.add(_smb("10.0.0.9", True))
    assert tally.exit_code() == 0
    dc = ScanRecord(
        "10.0.0.9",
        445,
        ScanStatus.OK,
        True,
        Smb1Observation(False),
        None,
        ldap=_obs(LdapSigning.NOT_REQUIRED, ChannelBinding.NEVER),
    )
    tally.add(dc)
    tally.add(dc)  # --all-ports: the same host twice
    tally.add(_smb("10.0.0.10", False))
    tally.add(ScanRecord(**{**_fields(dc), "target": "fd00::5"}))
    unknown = _obs(LdapSigning.UNKNOWN, ChannelBinding.UNKNOWN)
    tally.add(ScanRecord(**{**_fields(dc), "target": "10.0.0.2", "ldap": unknown}))
    assert tally.exit_code() == 1
    assert tally.relay_targets() == [
        ("ldap", "10.0.0.9"),
        ("ldaps", "10.0.0.9"),
        ("smb", "10.0.0.10"),
        ("ldap", "fd00::5"),
        ("ldaps", "fd00::5"),
    ]
    data = relay_urls_bytes(tally.relay_targets()).decode()
    assert data == (
        "ldap://10.0.0.9\nldaps://10.0.0.9\nsmb://10.0.0.10\nldap://[fd00::5]\nldaps://[fd00::5]\n"
    )
    # what ntlmrelayx -tf does with each line (impacket targetsutils.processTarget: a line
    # with :// is urlparse()d; scheme picks the client, .hostname is connected to)
    parsed = [urllib.parse.urlparse(line) for line in data.splitlines()]
    assert [(u.scheme, u.hostname, u.port) for u in parsed][-1] == ("ldaps", "fd00::5", None)
    plan = LdapPlan(("smb", "ldap", "ldaps"), LdapProbeOptions())
    assert relay_bytes(tally, "ntlmrelayx", plan).decode() == data
    assert relay_bytes(tally, "plain", plan) == b"10.0.0.10\n"  # plain: SMB hosts as before
    assert relay_bytes(tally, "ntlmrelayx", LdapPlan(("smb",))) == b"10.0.0.10\n"
    assert "2 signing NOT required" in tally.ldap_line()
    assert tally.ldap_unknown == 1


def _fields(rec: ScanRecord) -> dict[str, object]:
    return {name: getattr(rec, name) for name in rec.__dataclass_fields__}


def test_not_probed_smb_is_not_an_unknown_smb_host() -> None:
    tally = Tally()
    rec = error_record("10.0.0.3", 445, "not_probed: smb not in --protocols", None)
    tally.add(
        ScanRecord(**{**_fields(rec), "ldap": _obs(LdapSigning.REQUIRED, ChannelBinding.ALWAYS)})
    )
    assert tally.unknown == 0 and tally.exit_code() == 0


def test_csv_ldap_columns_only_when_asked() -> None:
    rec = ScanRecord(
        "10.0.0.9", 445, ScanStatus.OK, True, Smb1Observation(False), None,
        ldap=_obs(LdapSigning.REQUIRED, ChannelBinding.NO_TLS),
    )  # fmt: skip
    plain, with_ldap_ = io.StringIO(), io.StringIO()
    make_writer("csv", plain).write(rec)
    make_writer("csv", with_ldap_, ldap=True).write(rec)
    assert plain.getvalue().splitlines()[0] == ",".join(CSV_COLUMNS)
    head, row = with_ldap_.getvalue().splitlines()
    assert head.endswith("ldap_signing,ldap_channel_binding,ldap_method,ldap_reason")
    assert row.endswith("required,no_tls,unauthenticated,ldap: x; ldaps: y")
    table = io.StringIO()
    make_writer("table", table).write(rec)
    assert "ldap signing required, ldaps channel binding no tls" in table.getvalue()


# ------------------------------------------------------- the runner with the wrapper


def test_runner_with_ldap_probe_against_windows_like_dc(tmp_path: Path) -> None:
    """SMB answered: LDAP probed and attached; SMB dead: no LDAP probe (one record each)."""
    dc = WindowsLikeDc(server_integrity=1, enforce_channel_binding=0)
    creds = Credentials(VALID_USER, "LAB", password="pw")

    async def main() -> list[ScanRecord]:
        async with (
            serve(dc_handler(dc, tls=False)) as p389,
            serve(dc_handler(dc, tls=True), tls=self_signed(tmp_path)) as p636,
        ):
            opts = LdapProbeOptions(
                ldap_port=p389, ldaps_port=p636, credentials=creds, read_timeout=2
            )

            async def smb(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
                return _smb(address, True if address == "127.0.0.1" else None)

            out: list[ScanRecord] = []
            probe = with_ldap(smb, opts, probe_ldap)
            targets = [Target("127.0.0.1", None), Target("127.0.0.2", None)]
            await run_scan(targets, probe, out.append, RunOptions(concurrency=2))
            return sorted(out, key=lambda r: r.target)

    live, dead = asyncio.run(main())
    assert live.ldap is not None and dead.ldap is None
    assert live.ldap.signing is LdapSigning.NOT_REQUIRED
    assert live.ldap.channel_binding is ChannelBinding.NEVER
    assert live.signing_required is True  # the SMB verdict is untouched


def test_wrap_probe_is_identity_for_smb_only() -> None:
    async def smb(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        return _smb(address, True)

    assert wrap_probe(smb, LdapPlan(("smb",))) is smb


# ------------------------------------------------------------------------------- CLI


def test_cli_ldap_only_closed_ports_honest_verdicts(tmp_path: Path) -> None:
    """Nothing listens on 127.0.0.1:389/636 here: signing unknown, LDAPS no_tls; the record
    validates against the schema and says SMB was not probed."""
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [
            *SCAN,
            "127.0.0.1",
            "--protocols",
            "ldap,ldaps",
            "--format",
            "json",
            "-o",
            str(out),
            "--no-store",
            "--connect-timeout",
            "1",
            "--read-timeout",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if _listening(389) or _listening(636):
        pytest.skip("something listens on 127.0.0.1:389/636 here")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, {**load_schema(), "$ref": "#/$defs/document"})
    (rec,) = doc["records"]
    assert rec["reason"].startswith("not_probed")
    assert rec["ldap"]["signing"] == "unknown"
    assert rec["ldap"]["channel_binding"] == "no_tls"
    assert "ldap: 1 host probed" in proc.stderr


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocols", "smb,http"], "bad --protocols"),
        (["--user", "alice"], "go with --protocols ldap"),
        (["--protocols", "ldap", "--password-file", "/nonexistent"], "goes with --user"),
    ],
)
def test_cli_usage_errors_one_line(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [*SCAN, "127.0.0.1", "--ports", str(closed_port()), "--no-store", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ldap_probe_bug_keeps_the_smb_verdict() -> None:
    async def smb(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        return _smb(address, False)

    async def broken(address: str, opts: LdapProbeOptions) -> LdapObservation:
        raise RuntimeError("bug")

    rec = asyncio.run(with_ldap(smb, LdapProbeOptions(), broken)("10.0.0.4", 445))
    assert rec.relayable and rec.ldap is not None
    assert rec.ldap.signing is LdapSigning.UNKNOWN
    assert rec.ldap.reason == "internal_error: RuntimeError"


def test_all_ports_probes_ldap_once_per_address() -> None:
    calls: list[str] = []

    async def smb(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        return ScanRecord(**{**_fields(_smb(address, True)), "port": port})

    async def fake(address: str, opts: LdapProbeOptions) -> LdapObservation:
        calls.append(address)
        return _obs(LdapSigning.REQUIRED, ChannelBinding.ALWAYS)

    async def main() -> list[ScanRecord]:
        out: list[ScanRecord] = []
        probe = with_ldap(smb, LdapProbeOptions(), fake)
        opts = RunOptions(ports=(445, 139), all_ports=True, concurrency=1)
        await run_scan([Target("10.0.0.7", None)], probe, out.append, opts)
        return out

    records = asyncio.run(main())
    assert [r.port for r in records] == [445, 139]
    assert all(r.ldap is not None for r in records) and calls == ["10.0.0.7"]


def test_a_check_not_asked_for_is_not_counted_unknown() -> None:
    tally = Tally()
    only_ldap = LdapObservation(
        LdapSigning.REQUIRED,
        ChannelBinding.UNKNOWN,
        "unauthenticated",
        "ldap: an anonymous NTLM bind without signing: strongerAuthRequired; ldaps: not probed",
    )
    only_ldaps = LdapObservation(
        LdapSigning.UNKNOWN, ChannelBinding.ALWAYS, "unauthenticated", "ldap: not probed; ldaps: x"
    )
    for obs in (only_ldap, only_ldaps):
        tally.add(
            ScanRecord("10.0.0.5", 445, ScanStatus.OK, True, Smb1Observation(False), None, ldap=obs)
        )
    assert tally.ldap_hosts == 2 and tally.ldap_unknown == 0

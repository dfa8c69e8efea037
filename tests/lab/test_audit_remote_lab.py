"""`smbsign audit --remote` against a real MS-RRP server: Samba 4.17's winreg pipe.

Not Windows: smbd (through samba-dcerpcd's rpcd_winreg) serves the winreg pipe from its own
registry.tdb, written here offline with the real ``net -s CONF registry`` before the audit.
The lab user is ``root`` in that server's private passdb only (Samba grants the registry to
root; on Windows it takes an administrator). The real CLI runs as a separate process in the
lab's client namespace with the password in ``SMBSIGN_PASSWORD``, never on argv.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from Cryptodome.Hash import MD4

from smbsign.lab.lab import Lab, smbsign_argv

pytestmark = pytest.mark.lab

HOST = "rreg"
USER = "root"
PASSWORD = "Lab-Rrp-0nly!"  # a throwaway lab password (this server's passdb only)
SERVER = r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters"
WORKSTATION = r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanWorkstation\Parameters"
CONTROLS = "smb-server-signing-required,smb-server-signing-enabled,smb-client-signing-required"


def _net(lab: Lab, *args: str) -> None:
    conf = str(lab.conf_path(HOST))
    proc = lab.run_in_host(HOST, ["net", "-s", conf, "registry", *args])
    assert proc.returncode == 0, proc.stderr or proc.stdout


def _start(lab: Lab, name: str, conf: dict[str, str]) -> None:
    """Start a lab Samba host and give ``USER`` the lab password in its own passdb."""
    lab.start_server(name, conf)
    proc = lab.run_in(
        lab.namespace(name),
        ["smbpasswd", "-c", str(lab.conf_path(name)), "-s", "-a", USER],
        30,
        f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def rreg(lab: Lab) -> Iterator[str]:
    """A Samba host whose registry holds a signing value of each kind the audit must read."""
    _start(lab, HOST, {"server signing": "mandatory"})
    _net(lab, "createkey", SERVER)
    _net(lab, "setvalue", SERVER, "RequireSecuritySignature", "dword", "1")
    _net(lab, "setvalue", SERVER, "EnableSecuritySignature", "sz", "1")  # wrong type
    _net(lab, "createkey", WORKSTATION)  # the key, without RequireSecuritySignature
    yield lab.address(HOST)
    lab.stop_server(HOST)


def _audit(
    lab: Lab, mp: pytest.MonkeyPatch, target: str, password: str, *extra: str, nthash: str = ""
) -> tuple[int, list[Any], str]:
    """Run the CLI in the client namespace; the secret travels in its environment only."""
    argv = [*smbsign_argv(), "audit", "--remote", target, "--user", f"LAB\\{USER}"]
    argv += ["--controls", CONTROLS, "--format", "json", "--no-store", *extra]
    for name, secret in (("SMBSIGN_PASSWORD", password), ("SMBSIGN_NTHASH", nthash)):
        if secret:
            mp.setenv(name, secret)
        else:
            mp.delenv(name, raising=False)
    proc = lab.run_in_client(argv, timeout=120)
    for secret in filter(None, (password, nthash, PASSWORD)):
        assert secret not in " ".join(argv)
        assert secret not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["findings"], proc.stderr


def _by_control(findings: list[Any]) -> dict[str, Any]:
    return {f["control"]: f for f in findings}


def test_reads_values_over_rrp(lab: Lab, rreg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, findings, _ = _audit(lab, monkeypatch, rreg, PASSWORD)
    got = _by_control(findings)
    assert code == 1  # not everything passes
    required = got["smb-server-signing-required"]
    assert required["status"] == "pass"
    assert required["observed"] == 1
    assert required["source"]["kind"] == "winreg_remote"
    assert required["source"]["path"] == f"\\\\{rreg}\\winreg"
    assert required["source"]["location"].lower() == f"{SERVER}\\RequireSecuritySignature".lower()
    assert required["source"]["layer"] == "local"
    enabled = got["smb-server-signing-enabled"]  # REG_SZ "1": Windows ignores it
    assert enabled["status"] == "unknown"
    assert enabled["observed"] == "REG_SZ:1"
    assert "REG_SZ" in enabled["reason"] and "ignored" in enabled["reason"]
    client = got["smb-client-signing-required"]  # absent; no build in Samba's registry
    assert client["status"] == "unknown"
    assert client["source"]["kind"] == "default"
    assert "default is unknown" in client["reason"]


def test_password_file(
    lab: Lab, rreg: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    _, findings, _ = _audit(lab, monkeypatch, rreg, "unused", "--password-file", str(secret))
    assert _by_control(findings)["smb-server-signing-required"]["status"] == "pass"


def test_nt_hash(lab: Lab, rreg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = MD4.new(PASSWORD.encode("utf-16-le")).hexdigest()  # the NT hash ([MS-NLMP] 3.3.1)
    _, findings, _ = _audit(lab, monkeypatch, rreg, "", nthash=digest)
    assert _by_control(findings)["smb-server-signing-required"]["status"] == "pass"


def test_session_is_signed_when_server_only_allows_it(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SMB 2.1 with ``server signing = auto`` leaves signing to the client, which requires it.

    smbd (log level 5) logs "signed SMB2 message" for each signed response. An unsigned session
    gets one (the final SESSION_SETUP response, [MS-SMB2] 3.3.5.5.3); a signed one gets every
    response after it, dozens for one audit.
    """
    name = "rreg-smb21"
    _start(lab, name, {"server max protocol": "SMB2_10", "log level": "5"})
    try:
        _, findings, _ = _audit(lab, monkeypatch, lab.address(name), PASSWORD)
        assert not [f for f in findings if f["status"] == "error"]
        log = (lab.conf_path(name).parent / "log" / "log.smbd").read_text(errors="replace")
        assert log.count("signed SMB2 message") > 10
    finally:
        lab.stop_server(name)


def test_wrong_password_is_an_error(lab: Lab, rreg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, findings, _ = _audit(lab, monkeypatch, rreg, "not-the-password")
    assert code == 1
    errors = [f for f in findings if f["status"] == "error"]
    assert len(errors) == 1
    assert "logon failed" in errors[0]["reason"]
    assert "\n" not in errors[0]["reason"]
    assert all(f["status"] in ("error", "unknown") for f in findings)


def test_closed_port_is_an_error(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    code, findings, _ = _audit(lab, monkeypatch, lab.address("closed"), PASSWORD)
    assert code == 1
    errors = [f for f in findings if f["status"] == "error"]
    assert len(errors) == 1
    assert "connection refused" in errors[0]["reason"]
    assert all(f["status"] in ("error", "unknown") for f in findings)

"""Remote registry reader (MS-RRP) error mapping and credentials, with a fake RRP layer.

The fake stands in for impacket's RRP session (no Windows host runs here); the real peer
test is tests/lab/test_audit_remote_lab.py (Samba's winreg server). The impacket adapter's
connect-error wording is checked against a closed loopback port (real sockets).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smbsign.cli import app
from smbsign.cli.audit_remote import credentials, parse_remote, parse_user, remote_targets
from smbsign.codecs.regdata import REG_DWORD, REG_MULTI_SZ, REG_SZ, encode_data
from smbsign.collect.winreg_remote import (
    KIND,
    Credentials,
    RemoteRegistryReader,
    collect_remote,
    impacket_connect,
)
from smbsign.errors import UsageError
from smbsign.model import Layer

SERVER = r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters"
POLICY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows\LanmanWorkstation"
SECRET = "S3cret-never-shown"


class FakeRrpError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"fake RRP error {code}")
        self.code = code


class FakeRrp:
    """HKLM as {subkey lower: {value lower: (type, raw)}}; failures injected per key/value."""

    def __init__(
        self,
        keys: dict[str, dict[str, tuple[int, bytes]]],
        *,
        deny_keys: tuple[str, ...] = (),
        deny_values: tuple[str, ...] = (),
        broken: bool = False,
    ) -> None:
        self.keys = {k.lower(): {n.lower(): v for n, v in vals.items()} for k, vals in keys.items()}
        self.deny_keys = {k.lower() for k in deny_keys}
        self.deny_values = {v.lower() for v in deny_values}
        self.broken = broken
        self.opened: list[str] = []
        self.closed_keys: list[str] = []
        self.closed = False
        self.calls = 0

    def open_key(self, subkey: str) -> Any:
        self.calls += 1
        if self.broken:
            raise ConnectionResetError("reset by peer")
        low = subkey.lower()
        if low in self.deny_keys:
            raise FakeRrpError(5)
        if low not in self.keys and not any(k.startswith(low + "\\") for k in self.keys):
            raise FakeRrpError(2)
        self.opened.append(low)
        return low

    def query_value(self, handle: Any, name: str) -> tuple[int, bytes]:
        if name.lower() in self.deny_values:
            raise FakeRrpError(5)
        got = self.keys.get(handle, {}).get(name.lower())
        if got is None:
            raise FakeRrpError(2)
        return got

    def enum_key(self, handle: Any, index: int) -> str | None:
        prefix = handle + "\\"
        kids = sorted({k[len(prefix) :].split("\\")[0] for k in self.keys if k.startswith(prefix)})
        return kids[index] if index < len(kids) else None

    def close_key(self, handle: Any) -> None:
        self.closed_keys.append(handle)

    def close(self) -> None:
        self.closed = True


def _key(path: str) -> str:
    return path.split("\\", 1)[1]


def _fake(**kw: Any) -> FakeRrp:
    return FakeRrp(
        {
            _key(SERVER): {
                "RequireSecuritySignature": (REG_DWORD, encode_data(REG_DWORD, 1)),
                "EnableSecuritySignature": (REG_SZ, encode_data(REG_SZ, "1")),
                "NullSessionPipes": (REG_MULTI_SZ, encode_data(REG_MULTI_SZ, ("a", "b"))),
                "Broken": (REG_DWORD, b"\x01\x00"),
            },
            _key(POLICY): {"RequireSecuritySignature": (REG_DWORD, encode_data(REG_DWORD, 0))},
        },
        **kw,
    )


WANTED = [
    (SERVER, "RequireSecuritySignature"),
    (SERVER, "EnableSecuritySignature"),
    (SERVER, "NullSessionPipes"),
    (POLICY, "RequireSecuritySignature"),
    (r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanWorkstation\Parameters", "Missing"),
]


def test_values_provenance_and_absent() -> None:
    fake = _fake()
    result = collect_remote("host1", WANTED, lambda: fake)
    assert result.errors == ()
    by_id = {f"{v.setting.rsplit(chr(92), 1)[1]}@{v.provenance.layer.value}": v
             for v in result.values}  # fmt: skip
    required = by_id["requiresecuritysignature@local"]
    assert (required.value, required.value_type) == (1, "REG_DWORD")
    assert required.provenance.kind == KIND
    assert required.provenance.path == "\\\\host1\\winreg"
    assert required.provenance.location == f"{SERVER}\\RequireSecuritySignature"
    assert by_id["requiresecuritysignature@gpo"].provenance.layer is Layer.GPO
    assert by_id["enablesecuritysignature@local"].value == "1"  # NUL terminator dropped
    assert by_id["enablesecuritysignature@local"].value_type == "REG_SZ"
    assert by_id["nullsessionpipes@local"].value == ("a", "b")
    assert not any("missing" in v.setting for v in result.values)  # absent, no error
    assert fake.closed and sorted(fake.closed_keys) == sorted(set(fake.opened))


def test_access_denied_is_an_error_never_absent() -> None:
    fake = _fake(deny_keys=(_key(POLICY),), deny_values=("EnableSecuritySignature",))
    result = collect_remote("h", WANTED, lambda: fake)
    messages = [e.message for e in result.errors]
    assert len(messages) == 2
    assert all("access denied" in m for m in messages)
    assert all(e.kind == KIND and e.path == "\\\\h\\winreg" for e in result.errors)
    read = {v.setting.lower() for v in result.values}
    assert not any("policies" in s for s in read)
    assert not any(s.endswith("enablesecuritysignature") for s in read)
    assert fake.closed


def test_bad_dword_size_is_an_error() -> None:
    result = collect_remote("h", [(SERVER, "Broken")], _fake)
    assert len(result.errors) == 1
    assert "expected 4" in result.errors[0].message
    assert result.values == ()


def test_broken_transport_errors_every_value_and_closes() -> None:
    fake = _fake(broken=True)
    result = collect_remote("h", WANTED, lambda: fake)
    assert result.values == ()
    assert len(result.errors) >= len(WANTED)
    assert all("connection failed (reset by peer)" in e.message for e in result.errors)
    assert fake.calls == 1  # a dead session is not asked again (no timeout per value)
    assert fake.closed


def test_connect_failure_is_one_error() -> None:
    def refuse() -> FakeRrp:
        raise OSError("h port 445: logon failed (wrong user name or password)")

    result = collect_remote("h", WANTED, refuse)
    assert result.values == () and result.facts is None
    [err] = result.errors
    assert (err.kind, err.path) == (KIND, "\\\\h\\winreg")
    assert err.message == "h port 445: logon failed (wrong user name or password)"


def test_subkeys_and_other_hives() -> None:
    reader = RemoteRegistryReader(_fake())
    assert reader.subkeys(r"HKLM\SOFTWARE\Policies\Microsoft\Windows") == ("lanmanworkstation",)
    assert reader.subkeys(r"HKLM\NOPE") == ()
    assert reader.get(r"HKCU\Software\X", "Y") is None  # only HKLM is read remotely
    reader.close()


# impacket's nmb leaves the socket of a refused connect to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_closed_loopback_port_one_line_error() -> None:
    pytest.importorskip("impacket")
    with socket.socket() as s:  # a port nothing listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        creds = Credentials("u", password=SECRET)
        result = collect_remote(
            "127.0.0.1", WANTED, impacket_connect("127.0.0.1", creds, port=port)
        )
    [err] = result.errors
    assert err.message == f"127.0.0.1 port {port}: connection refused"


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials("u", "D", password=SECRET, nthash="a" * 32)
    assert SECRET not in repr(creds) and "a" * 32 not in repr(creds)


# ------------------------------------------------------------------- CLI side


def test_credential_sources(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("from-file\r\nsecond line\n")
    env = {"SMBSIGN_PASSWORD": "from-env", "SMBSIGN_NTHASH": "b" * 32}
    assert credentials("D\\u", pw, env=env).password == "from-file"
    assert credentials("D\\u", None, env=env).password == "from-env"
    hashed = credentials("u@d.example", None, env={"SMBSIGN_NTHASH": f"{'c' * 32}:{'B' * 32}"})
    assert (hashed.user, hashed.domain, hashed.nthash, hashed.password) == (
        "u", "d.example", "b" * 32, "")  # fmt: skip
    with pytest.raises(UsageError, match="SMBSIGN_PASSWORD") as exc:
        credentials("u", None, env={}, interactive=False)
    with pytest.raises(UsageError, match="32 hex") as exc:
        credentials("u", None, env={"SMBSIGN_NTHASH": SECRET}, interactive=False)
    assert SECRET not in str(exc.value)
    with pytest.raises(UsageError, match="cannot read"):
        credentials("u", tmp_path / "missing", env={})
    with pytest.raises(UsageError, match="needs --user"):
        credentials(None, None, env=env)


def test_parse_user_and_remote() -> None:
    assert parse_user("CORP\\alice") == ("CORP", "alice")
    assert parse_user("alice@corp.example") == ("corp.example", "alice")
    assert parse_user("alice") == ("", "alice")
    with pytest.raises(UsageError):
        parse_user("CORP\\")
    assert parse_remote("a, b ,a,[fd00::1]") == ["a", "b", "fd00::1"]
    for bad in ("", " , ", "a b", "host/x", "\\\\h\\share"):
        with pytest.raises(UsageError):
            parse_remote(bad)
    with pytest.raises(UsageError, match="go with --remote"):
        remote_targets(None, "u", None)


def test_cli_without_password_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMBSIGN_PASSWORD", raising=False)
    monkeypatch.delenv("SMBSIGN_NTHASH", raising=False)
    result = CliRunner().invoke(
        app, ["audit", "--remote", "192.0.2.1", "--user", "u", "--no-store"], input=""
    )
    assert result.exit_code == 2
    assert "needs a password" in result.output
    assert "Traceback" not in result.output

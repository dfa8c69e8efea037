"""``smbsign ad``: one-line errors and exit codes without a DC (loopback only)."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from smbsign.cli import app

RUNNER = CliRunner()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def invoke(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    res = RUNNER.invoke(app, list(argv), env=env or {})
    return res.exit_code, res.output


def test_unreachable_dc_is_one_line_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import smbsign.ad.ldap as ldap

    monkeypatch.setattr(ldap, "LDAP_PORT", closed_port())
    orig = ldap.LdapDirectory.__init__

    def init(self: ldap.LdapDirectory, dc: str, creds: object, **kw: object) -> None:
        orig(self, dc, creds, timeout=2.0, port=ldap.LDAP_PORT)  # type: ignore[arg-type]

    monkeypatch.setattr(ldap.LdapDirectory, "__init__", init)
    code, out = invoke(
        "ad",
        "audit",
        "--dc",
        "127.0.0.1",
        "--user",
        "LAB\\auditor",
        "--no-store",
        env={"SMBSIGN_PASSWORD": "Secret-123"},
    )
    assert code == 3
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unreachable" in lines[0] and "Traceback" not in out
    assert "Secret-123" not in out


def test_usage_errors_exit_2() -> None:
    code, out = invoke(
        "ad",
        "audit",
        "--dc",
        "127.0.0.1",
        "--user",
        "a",
        "-f",
        "xml",
        env={"SMBSIGN_PASSWORD": "x"},
    )
    assert code == 2 and "unknown --format" in out
    code, out = invoke("ad", "computers", "--dc", "127.0.0.1", "--user", "a")
    assert code == 2 and "ad computers needs a password" in out
    code, out = invoke(
        "ad", "computers", "--dc", "bad host", "--user", "a", env={"SMBSIGN_PASSWORD": "x"}
    )
    assert code == 2 and "--dc" in out


def test_bind_error_messages_name_the_cause() -> None:
    from smbsign.ad.ldap import bind_error
    from smbsign.collect.winreg_remote import Credentials

    creds = Credentials("u", "D", password="hunter2")
    diag = (
        "Error in bindRequest -> invalidCredentials: 80090308: LdapErr: DSID-0C0903A9, "
        "comment: AcceptSecurityContext error, data {}, v1db1 hunter2"
    )
    assert "wrong user name or password" in str(bind_error("DC x", diag.format("52e"), creds))
    assert "locked out" in str(bind_error("DC x", diag.format("775"), creds))
    other = str(bind_error("DC x", "weird failure hunter2", creds))
    assert "hunter2" not in other and "\n" not in other

"""``smbsign audit --wazuh`` end to end against the fake Wazuh manager (tests/unit/wazuh_fake.py),
then ``smbsign fix --from`` on its findings.

Response shapes: the Wazuh 4.x API specification (wazuh/wazuh ``api/api/spec/spec.yaml`` at
v4.14.7), the checks from that release's ``ruleset/sca/windows/cis_win11_enterprise.yml``
(tests/fixtures/wazuh_api/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner
from wazuh_fake import PASSWORD, USER, Manager, fake_manager

from smbsign.cli import app
from smbsign.cli.audit_wazuh import wazuh_source
from smbsign.errors import UsageError

pytest.importorskip("cryptography")


@pytest.fixture
def manager(tmp_path: Path):  # type: ignore[no-untyped-def]
    with fake_manager(tmp_path) as m:
        yield m


def _pwfile(tmp_path: Path, text: str = PASSWORD) -> Path:
    pw = tmp_path / "pw"
    pw.write_text(text + "\n", encoding="utf-8")
    return pw


def _audit(m: Manager, tmp_path: Path, *extra: str, pw: str = PASSWORD) -> Result:
    pw_file = str(_pwfile(tmp_path, pw))
    args = ["audit", "--wazuh", m.url, "--user", USER, "--password-file", pw_file]
    return CliRunner().invoke(app, [*args, "-f", "json", "--no-store", *extra])


def _by_host(stdout: str) -> dict[str, dict[str, dict[str, object]]]:
    out: dict[str, dict[str, dict[str, object]]] = {}
    for f in json.loads(stdout)["findings"]:
        out.setdefault(f["host"], {})[f["control"]] = f
    return out


def test_audit_then_fix_plans_only_for_the_failed_agents(
    manager: Manager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified TLS (the manager's CA in SSL_CERT_FILE): each Windows agent is a host; Wazuh's
    failed sign-always checks on WIN11-ENT-01 (23H2 Enterprise, where an absent value is 0)
    fail, WIN11-ENT-02 passes, the never-scanned agent is an ``error``; ``fix --from`` then
    plans the changes for WIN11-ENT-01 only."""
    monkeypatch.setenv("SSL_CERT_FILE", manager.cafile)
    res = _audit(manager, tmp_path)
    assert res.exit_code == 1, res.stderr
    assert "--insecure" not in res.stderr
    got = _by_host(res.stdout)
    assert list(got) == ["WIN11-ENT-01", "WIN11-ENT-02", "WIN11-NEW"]
    one, two = got["WIN11-ENT-01"], got["WIN11-ENT-02"]
    for control in ("smb-client-signing-required", "smb-server-signing-required"):
        assert one[control]["status"] == "fail"
        assert two[control]["status"] == "pass"
        src = one[control]["source"]
        assert isinstance(src, dict) and src["kind"] == "wazuh_export"
        assert src["path"] == f"{manager.url}/sca/001/checks/cis_win11_enterprise"
        assert str(src["location"]).startswith("agent 001: check 260")
    assert got["WIN11-NEW"]["evidence-error"]["status"] == "error"
    assert "no SCA results" in str(got["WIN11-NEW"]["evidence-error"]["reason"])
    assert PASSWORD not in res.stdout + res.stderr
    assert not any(t in res.stdout + res.stderr for t in manager.issued)

    findings = tmp_path / "wazuh.json"
    findings.write_text(res.stdout, encoding="utf-8")
    out = tmp_path / "fix"
    fix = CliRunner().invoke(
        app, ["fix", "--from", str(findings), "--format", "ansible", "-o", str(out)]
    )
    assert fix.exit_code == 0, fix.stderr
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    hosts = {c["control"]: c["hosts"] for c in plan["changes"]}
    assert hosts == {
        "smb-client-signing-required": ["WIN11-ENT-01"],
        "smb-server-signing-required": ["WIN11-ENT-01"],
        "smb-server-spn-hardening": ["WIN11-ENT-01"],
    }
    assert (out / "roles" / "smb_server_signing_required" / "tasks" / "main.yml").is_file()
    inventory = (out / "inventory.ini").read_text(encoding="utf-8")
    assert "WIN11-ENT-01" in inventory
    assert "WIN11-ENT-02" not in inventory and "WIN11-NEW" not in inventory


def test_the_stored_run_holds_neither_password_nor_token(manager: Manager, tmp_path: Path) -> None:
    """The run lands in the history store (argv, findings): the password file's path is there,
    the password and the JWTs are not."""
    db = tmp_path / "h.sqlite"
    pw_file = str(_pwfile(tmp_path))
    args = ["audit", "--wazuh", manager.url, "--user", USER, "--password-file", pw_file]
    res = CliRunner().invoke(app, [*args, "--insecure", "-f", "json", "--db", f"sqlite:///{db}"])
    assert res.exit_code == 1, res.stderr
    assert "recorded audit run" in res.stderr
    stored = db.read_bytes()
    assert b"WIN11-ENT-01" in stored
    assert manager.issued
    for secret in (PASSWORD, *manager.issued):
        assert secret.encode() not in stored


def test_insecure_says_so_in_one_line(manager: Manager, tmp_path: Path) -> None:
    res = _audit(manager, tmp_path, "--insecure")
    assert res.exit_code == 1, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if "--insecure" in ln]
    assert lines == [
        "smbsign: warning: --insecure: the Wazuh manager's TLS certificate is not verified"
    ]


def test_an_untrusted_certificate_is_a_runtime_error(manager: Manager, tmp_path: Path) -> None:
    res = _audit(manager, tmp_path)
    assert res.exit_code == 3
    assert res.stderr.startswith("smbsign: error: https://127.0.0.1:")
    assert "TLS certificate not trusted" in res.stderr and len(res.stderr.splitlines()) == 1


def test_wrong_password_is_a_usage_error_in_one_line(manager: Manager, tmp_path: Path) -> None:
    res = _audit(manager, tmp_path, "--insecure", pw="not-the-password")
    assert res.exit_code == 2
    assert res.stderr.splitlines()[-1] == (
        "smbsign: error: the Wazuh API refused user 'wazuh-ro' (401: wrong user name or password)"
    )
    assert "not-the-password" not in res.stderr + res.stdout


def test_a_500_while_listing_agents_is_a_runtime_error(manager: Manager, tmp_path: Path) -> None:
    manager.faults["/agents"] = ["500"]
    res = _audit(manager, tmp_path, "--insecure")
    assert res.exit_code == 3
    assert res.stderr.splitlines()[-1] == (
        "smbsign: error: GET /agents: HTTP 500: Error 1000 - Wazuh Internal Error"
    )
    assert "Traceback" not in res.stderr


def test_a_truncated_answer_for_one_agent_is_its_error(manager: Manager, tmp_path: Path) -> None:
    """The other agents are judged; the one whose answer was cut short gets an ``error``
    finding and no verdict from defaults alone is a pass."""
    manager.faults["/sca/001/checks/cis_win11_enterprise"] = ["truncate"]
    res = _audit(manager, tmp_path, "--insecure")
    assert res.exit_code == 1, res.stderr
    got = _by_host(res.stdout)
    err = got["WIN11-ENT-01"]["evidence-error"]
    assert err["status"] == "error" and "truncated response" in str(err["reason"])
    assert all(f["status"] != "pass" for f in got["WIN11-ENT-01"].values())
    assert got["WIN11-ENT-02"]["smb-server-signing-required"]["status"] == "pass"


def test_the_secret_comes_from_the_environment_never_argv(manager: Manager) -> None:
    env = {"SMBSIGN_PASSWORD": PASSWORD}
    src = wazuh_source(manager.url, USER, None, False, env=env)
    assert src is not None and src.secret == PASSWORD and PASSWORD not in repr(src)
    with pytest.raises(UsageError, match="SMBSIGN_PASSWORD"):
        wazuh_source(manager.url, USER, None, False, env={}, interactive=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wazuh", "https://127.0.0.1:1"], "--wazuh needs --user"),
        (["--wazuh", "http://127.0.0.1:1", "--user", "u"], "https://"),
        (["--insecure", "x.reg"], "--insecure goes with --wazuh"),
        (
            ["--wazuh", "https://127.0.0.1:1", "--remote", "h", "--user", "u"],
            "run them separately",
        ),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["audit", *args, "--no-store"], env={"SMBSIGN_PASSWORD": "x"})
    assert res.exit_code == 2 and message in res.stderr

"""The Wazuh manager API client against a real HTTPS server on loopback (tests/unit/wazuh_fake.py).

Response shapes: the Wazuh 4.x API specification (wazuh/wazuh ``api/api/spec/spec.yaml`` at
v4.14.7: ``POST /security/user/authenticate`` -> ``data.token``; ``GET /agents``, ``GET
/sca/{agent_id}``, ``GET /sca/{agent_id}/checks/{policy_id}`` -> ``data.affected_items`` and
``data.total_affected_items``; 401 ``{title, detail}``); tests/fixtures/wazuh_api/README.md says
what each fixture holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wazuh_fake import PASSWORD, USER, Manager, fake_manager

from smbsign.collect.wazuh_api import (
    Limits,
    WazuhAuthError,
    WazuhError,
    fetch_agents_sca,
    parse_url,
)
from smbsign.errors import UsageError

pytest.importorskip("cryptography")


@pytest.fixture
def manager(tmp_path: Path):  # type: ignore[no-untyped-def]
    with fake_manager(tmp_path) as m:
        yield m


def _read(m: Manager, **kw: object) -> list:  # type: ignore[type-arg]
    kw.setdefault("cafile", m.cafile)
    return list(fetch_agents_sca(m.url, USER, PASSWORD, **kw))  # type: ignore[arg-type]


def _queries(m: Manager, path: str) -> list[str]:
    return [p.split("?", 1)[1] for _, p, _ in m.requests if p.split("?", 1)[0] == path]


def test_reads_the_windows_agents_and_their_checks_over_several_pages(manager: Manager) -> None:
    """``/agents`` (3 Windows agents out of 5) and the 11 checks of agent 001 come back in pages
    of 2 (offset 0, 2, ... until ``total_affected_items``); Linux agents and the manager are
    left out; an agent never scanned has no policy."""
    got = _read(manager, limits=Limits(page_size=2))
    assert [(a.agent_id, a.name) for a in got] == [
        ("001", "WIN11-ENT-01"),
        ("002", "WIN11-ENT-02"),
        ("005", "WIN11-NEW"),
    ]
    assert _queries(manager, "/agents") == [
        "os.platform=windows&offset=0&limit=2",
        "os.platform=windows&offset=2&limit=2",
    ]
    checks = _queries(manager, "/sca/001/checks/cis_win11_enterprise")
    assert [q.split("&")[0] for q in checks] == [f"offset={n}" for n in range(0, 12, 2)]
    first = got[0]
    assert not first.error and [p.policy_id for p in first.policies] == ["cis_win11_enterprise"]
    pol = first.policies[0]
    assert len(pol.checks) == 11 and len({c["id"] for c in pol.checks}) == 11
    assert pol.url == f"{manager.url}/sca/001/checks/cis_win11_enterprise"
    assert {c["id"]: c["result"] for c in pol.checks}[26031] == "failed"
    assert got[2].policies == () and not got[2].error
    assert manager.logins == 1


def test_an_expired_token_is_renewed_once_and_the_call_repeated(manager: Manager) -> None:
    """A 401 on a call made with a token (the API's answer to an expired JWT) logs in again
    once and repeats the call: nothing is lost."""
    manager.faults["/sca/002/checks/cis_win11_enterprise"] = ["expire"]
    got = _read(manager)
    assert manager.logins == 2
    assert [len(a.policies[0].checks) for a in got[:2]] == [11, 11]
    assert not any(a.error for a in got)


def test_a_second_401_after_a_fresh_token_fails_in_one_line(manager: Manager) -> None:
    manager.faults["/agents"] = ["expire", "expire"]
    with pytest.raises(WazuhError, match=r"GET /agents: 401 again after a fresh token") as exc:
        _read(manager)
    assert manager.logins == 2 and "\n" not in str(exc.value)


def test_refused_credentials_are_a_usage_error_without_the_password(manager: Manager) -> None:
    """401 on ``POST /security/user/authenticate`` ("Invalid credentials"): exit 2 in the CLI."""
    with pytest.raises(WazuhAuthError, match="refused user 'wazuh-ro'") as exc:
        list(fetch_agents_sca(manager.url, USER, "wrong-password", cafile=manager.cafile))
    assert isinstance(exc.value, UsageError)
    assert "wrong-password" not in str(exc.value) and PASSWORD not in str(exc.value)
    assert [r[0] for r in manager.requests] == ["POST"]


def test_a_500_listing_agents_stops_the_read(manager: Manager) -> None:
    manager.faults["/agents"] = ["500"]
    with pytest.raises(WazuhError, match=r"^GET /agents: HTTP 500: Error 1000 - Wazuh Internal"):
        _read(manager)


def test_a_500_on_one_agents_checks_is_that_agents_error(manager: Manager) -> None:
    """The other agents are still read; the failing one carries the error (an ``error`` finding
    in ``audit``, never a pass)."""
    manager.faults["/sca/001/checks/cis_win11_enterprise"] = ["500"]
    got = {a.agent_id: a for a in _read(manager)}
    assert got["001"].error.startswith("GET /sca/001/checks/cis_win11_enterprise: HTTP 500")
    assert got["001"].policies == ()
    assert len(got["002"].policies[0].checks) == 11


def test_a_truncated_body_is_an_error_in_one_line(manager: Manager) -> None:
    """A Content-Length larger than what arrives before the connection closes."""
    manager.faults["/agents"] = ["truncate"]
    with pytest.raises(WazuhError, match=r"^GET /agents: truncated response \(\d+ bytes"):
        _read(manager)
    manager.faults["/sca/002"] = ["truncate"]
    got = {a.agent_id: a for a in _read(manager)}
    assert "truncated response" in got["002"].error and not got["001"].error


def test_an_answer_that_is_not_json_or_too_large_is_an_error(manager: Manager) -> None:
    manager.faults["/agents"] = ["notjson"]
    with pytest.raises(WazuhError, match=r"GET /agents: the answer is not JSON"):
        _read(manager)
    manager.faults["/agents"] = ["huge"]
    with pytest.raises(WazuhError, match=r"GET /agents: response larger than 1 MiB"):
        _read(manager, limits=Limits(max_response_bytes=2**20))


def test_page_count_and_time_are_bounded(manager: Manager) -> None:
    with pytest.raises(WazuhError, match=r"GET /agents: more than 1 pages: stopped"):
        _read(manager, limits=Limits(page_size=1, max_pages=1))
    with pytest.raises(WazuhError, match=r"took longer than 0 s"):
        _read(manager, limits=Limits(deadline=0.0))


def test_the_certificate_is_verified_unless_told_not_to(manager: Manager) -> None:
    """A self-signed manager certificate is refused by default (the CA is not trusted) and
    accepted with ``verify_tls=False`` (``--insecure``) or with its CA given."""
    with pytest.raises(WazuhError, match=r"TLS certificate not trusted"):
        list(fetch_agents_sca(manager.url, USER, PASSWORD))
    assert manager.logins == 0
    assert len(list(fetch_agents_sca(manager.url, USER, PASSWORD, verify_tls=False))) == 3
    assert len(_read(manager)) == 3


def test_neither_password_nor_token_reaches_a_message(manager: Manager) -> None:
    """Every failure message is checked for the password and the token."""
    messages: list[str] = []
    for path, fault in (
        ("/agents", "500"),
        ("/agents", "truncate"),
        ("/security/user/authenticate", "500"),
    ):
        manager.faults[path] = [fault]
        with pytest.raises(WazuhError) as exc:
            _read(manager)
        messages.append(str(exc.value))
    manager.faults["/agents"] = ["expire", "expire"]
    with pytest.raises(WazuhError) as exc:
        _read(manager)
    messages.append(str(exc.value))
    for path in ("/security/user/authenticate", "/agents"):  # the server echoes them back
        manager.faults[path] = ["echo"]
        with pytest.raises(WazuhError, match=r"HTTP 500: cannot use \S+ \*\*\*") as exc:
            _read(manager)
        messages.append(str(exc.value))
    assert manager.issued and all(
        secret not in msg for msg in messages for secret in (PASSWORD, *manager.issued)
    )
    assert all(len(msg.splitlines()) == 1 for msg in messages)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:55000", "https://"),
        ("https://wazuh:secret@127.0.0.1:55000", "never in the URL"),
        ("https://127.0.0.1:55000/?pretty=true", r"without \?query"),
        ("https://127.0.0.1:99999", "URL like"),
        ("https://", "URL like"),
    ],
)
def test_a_bad_url_is_a_usage_error(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_url(url)


def test_the_default_port_and_a_path_prefix() -> None:
    assert parse_url("https://wazuh.example").base == "https://wazuh.example:55000"
    assert parse_url("https://[::1]:8443/wazuh/").base == "https://[::1]:8443/wazuh"

"""Wazuh manager API client: Windows agents and their SCA check results (docs/wazuh.md).

Calls (Wazuh 4.x REST API, ``api/api/spec/spec.yaml`` of wazuh/wazuh):

- ``POST /security/user/authenticate`` with HTTP basic auth -> ``{"data": {"token": JWT}}``;
  every later call sends ``Authorization: Bearer JWT``. Tokens expire (900 s by default):
  a 401 on a later call re-authenticates once and repeats that call; a second 401 fails.
- ``GET /agents?os.platform=windows`` (RBAC action ``agent:read``);
- ``GET /sca/{agent_id}`` -> the agent's policies (``sca:read``);
- ``GET /sca/{agent_id}/checks/{policy_id}`` -> the checks with ``result``, ``rules``,
  ``condition`` and ``compliance``, the fields of the dashboard's SCA export.

Every listing is paged with ``offset``/``limit`` until ``total_affected_items`` items came back.
Bounds (:class:`Limits`): response size, pages per listing, agents, and a deadline for the whole
read. HTTPS only, the certificate verified unless ``verify_tls`` is false; no redirect is
followed. The password and the token never appear in a message, an exception or a URL kept in
the results. Failures reading one agent's SCA data are that agent's ``error`` (the others are
still read); failures authenticating or listing agents raise :class:`WazuhError`.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from smbsign.errors import SmbsignError, UsageError

MiB = 2**20
_AGENT_ID = re.compile(r"^[0-9]{3,9}$")  # "001"; the manager itself is "000"
_POLICY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]%-]{1,255}$")


class WazuhError(SmbsignError):
    """The manager could not be read (one line, no secret)."""


class WazuhAuthError(UsageError):
    """The manager refused the user name and password (a usage error: exit 2)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of one read; the defaults fit a large manager (100,000 agents)."""

    max_response_bytes: int = 16 * MiB
    page_size: int = 500  # the spec's advice: "not to exceed 500 elements"
    max_pages: int = 1000  # per listing
    max_agents: int = 100_000
    deadline: float = 3600.0  # seconds for the whole read


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One SCA policy of an agent: its summary item and its checks as the API returned them."""

    policy_id: str
    name: str
    url: str  # the checks endpoint (no credentials, no query)
    checks: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class AgentResult:
    """One Windows agent; ``error`` is set when its SCA data could not be read."""

    agent_id: str
    name: str
    agent: Mapping[str, Any]  # the /agents item (os, ip, status, ...)
    url: str  # the agent's /sca endpoint
    policies: tuple[PolicyResult, ...] = ()
    error: str = ""


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    prefix: str  # path prefix, "" or "/wazuh"

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.prefix}"


def parse_url(url: str) -> _Target:
    """``https://HOST[:PORT][/PREFIX]`` (port 55000 by default); anything else is a usage error."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError("--wazuh needs a URL like https://wazuh.example:55000") from None
    if parts.scheme.lower() != "https":
        raise UsageError("--wazuh needs an https:// URL (the Wazuh API is served over TLS)")
    if parts.username is not None or parts.password is not None:
        raise UsageError("--wazuh: put the user in --user, never in the URL")
    if parts.query or parts.fragment:
        raise UsageError("--wazuh takes the manager's base URL, without ?query or #fragment")
    host = parts.hostname or ""
    if not _HOST.match(host):
        raise UsageError("--wazuh needs a URL like https://wazuh.example:55000")
    prefix = parts.path.rstrip("/")
    if prefix and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", prefix):
        raise UsageError("--wazuh: unexpected characters in the URL path")
    return _Target(host, port or 55000, prefix)


def tls_context(verify: bool, cafile: str | None = None) -> ssl.SSLContext:
    """The default verifying context (system CAs, or ``cafile``), or one that verifies nothing."""
    ctx = ssl.create_default_context(cafile=cafile)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _Unauthorized(Exception):
    """A 401 on a call made with a token (the token may have expired)."""


class _AgentFailure(Exception):
    """An HTTP status or body failure on a per-agent call (one line)."""


@dataclass
class _Session:
    target: _Target
    user: str
    secret: str = field(repr=False)
    ctx: ssl.SSLContext
    timeout: float
    limits: Limits
    started: float = field(default_factory=time.monotonic)
    token: str = field(default="", repr=False)
    conn: http.client.HTTPSConnection | None = None

    # ------------------------------------------------------------------ transport

    def _connection(self, timeout: float) -> http.client.HTTPSConnection:
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                self.target.host, self.target.port, timeout=timeout, context=self.ctx
            )
        else:
            self.conn.timeout = timeout
            if self.conn.sock is not None:
                self.conn.sock.settimeout(timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _remaining(self) -> float:
        left = self.limits.deadline - (time.monotonic() - self.started)
        if left <= 0:
            raise WazuhError(
                f"reading the Wazuh API took longer than {self.limits.deadline:g} s: stopped"
            )
        return left

    def _send(self, method: str, path: str, auth: str) -> tuple[int, bytes]:
        """One request; (status, body). Transport failures raise :class:`WazuhError`."""
        timeout = min(self.timeout, self._remaining())
        headers = {"Authorization": auth, "Accept": "application/json", "Connection": "keep-alive"}
        where = f"{method} {path.split('?', 1)[0]}"
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn = self._connection(timeout)
            try:
                conn.request(method, self.target.prefix + path, headers=headers)
                resp = conn.getresponse()
                body = resp.read(self.limits.max_response_bytes + 1)
                if len(body) > self.limits.max_response_bytes:
                    self.close()
                    raise WazuhError(
                        f"{where}: response larger than "
                        f"{self.limits.max_response_bytes // MiB} MiB: stopped"
                    )
                missing = resp.length or 0  # Content-Length said more than arrived before EOF
                if resp.will_close or missing:
                    self.close()
            except http.client.IncompleteRead as exc:  # a chunked body cut short
                self.close()
                body, missing = exc.partial, 1
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise WazuhError(f"{where}: the manager closed the connection") from None
                continue
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise WazuhError(
                    f"{self.target.base}: TLS certificate not trusted ({exc.verify_message}); "
                    "give the CA in SSL_CERT_FILE, or --insecure to skip the check"
                ) from None
            except (ssl.SSLError, http.client.HTTPException) as exc:
                self.close()
                raise WazuhError(f"{where}: {type(exc).__name__}: {_clean(str(exc))}") from None
            except TimeoutError:
                self.close()
                raise WazuhError(f"{where}: no answer within {timeout:g} s") from None
            except OSError as exc:
                self.close()
                raise WazuhError(
                    f"{self.target.base}: cannot connect: {exc.strerror or type(exc).__name__}"
                ) from None
            if missing:
                raise _Truncated(
                    f"{where}: truncated response ({len(body)} bytes, then the connection closed)"
                )
            return resp.status, body
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------------- auth

    def authenticate(self) -> None:
        raw = f"{self.user}:{self.secret}".encode()
        basic = "Basic " + base64.b64encode(raw).decode("ascii")
        path = "/security/user/authenticate"
        try:
            status, body = self._send("POST", path, basic)
        except _Truncated as exc:
            raise WazuhError(str(exc)) from None
        if status == 401:
            raise WazuhAuthError(
                f"the Wazuh API refused user {self.user!r} (401: wrong user name or password)"
            )
        doc = _json(status, body, f"POST {path}", WazuhError, (self.secret, basic[6:]))
        token = doc.get("data", {}).get("token") if isinstance(doc.get("data"), dict) else None
        if not isinstance(token, str) or not token or not token.isascii() or "\n" in token:
            raise WazuhError(f"POST {path}: no token in the answer (data.token)")
        self.token = token

    def get(self, path: str, fail: type[Exception]) -> dict[str, Any]:
        """GET ``path`` with the token; re-authenticate once on a 401."""
        if not self.token:
            self.authenticate()
        for attempt in (1, 2):
            try:
                status, body = self._send("GET", path, f"Bearer {self.token}")
            except _Truncated as exc:
                raise fail(str(exc)) from None
            if status != 401:
                where = f"GET {path.split('?', 1)[0]}"
                return _json(status, body, where, fail, (self.secret, self.token))
            if attempt == 1:
                self.authenticate()  # the token expired: once
        raise WazuhError(
            f"GET {path.split('?', 1)[0]}: 401 again after a fresh token (is the clock of the "
            "manager right? does the user have the permission?)"
        )

    def pages(self, path: str, query: Mapping[str, str], fail: type[Exception]) -> list[Any]:
        """Every item of a paged listing (``data.affected_items``)."""
        items: list[Any] = []
        for _ in range(self.limits.max_pages):
            q = {**query, "offset": str(len(items)), "limit": str(self.limits.page_size)}
            doc = self.get(f"{path}?{urlencode(q)}", fail)
            data = doc.get("data")
            got = data.get("affected_items") if isinstance(data, dict) else None
            total = data.get("total_affected_items") if isinstance(data, dict) else None
            if not isinstance(got, list) or not isinstance(total, int) or isinstance(total, bool):
                raise fail(f"GET {path}: not a Wazuh listing (data.affected_items)")
            items.extend(got)
            if not got or len(items) >= total:
                return items
        raise fail(f"GET {path}: more than {self.limits.max_pages} pages: stopped")


class _Truncated(Exception):
    """The body ended before its announced length (one line)."""


def _clean(text: str) -> str:
    return " ".join(text.split())[:200]


def _json(
    status: int, body: bytes, where: str, fail: type[Exception], hide: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The JSON object of a 200 answer; anything else raises ``fail`` with one line (the
    server's ``detail``, with any of the ``hide`` strings masked: a server may echo them)."""
    if status != 200:
        detail = ""
        try:
            doc = json.loads(body)
            if isinstance(doc, dict):
                detail = str(doc.get("detail") or doc.get("title") or "")
        except (ValueError, RecursionError):
            pass
        for secret in hide:
            detail = detail.replace(secret, "***") if secret else detail
        hint = {403: " (the API user needs agent:read and sca:read)"}.get(status, "")
        reason = f": {_clean(detail)}" if detail else ""
        raise fail(f"{where}: HTTP {status}{reason}{hint}")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise fail(f"{where}: the answer is not JSON ({type(exc).__name__})") from None
    except RecursionError:
        raise fail(f"{where}: the answer is JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise fail(f"{where}: the answer is not a JSON object")
    return doc


def _agent_sca(s: _Session, agent_id: str) -> tuple[PolicyResult, ...]:
    path = f"/sca/{agent_id}"
    out: list[PolicyResult] = []
    for item in s.pages(path, {}, _AgentFailure):
        pid = item.get("policy_id") if isinstance(item, dict) else None
        if not isinstance(pid, str) or not _POLICY_ID.match(pid):
            raise _AgentFailure(f"GET {path}: a policy without a usable policy_id")
        checks_path = f"/sca/{agent_id}/checks/{quote(pid, safe='')}"
        checks = s.pages(checks_path, {}, _AgentFailure)
        name = item.get("name")
        out.append(
            PolicyResult(
                policy_id=pid,
                name=name if isinstance(name, str) else pid,
                url=s.target.base + checks_path,
                checks=tuple(c for c in checks if isinstance(c, dict)),
            )
        )
    return tuple(out)


def fetch_agents_sca(
    url: str,
    user: str,
    secret: str,
    *,
    verify_tls: bool = True,
    cafile: str | None = None,
    timeout: float = 30.0,
    limits: Limits = Limits(),
) -> Iterator[AgentResult]:
    """The Windows agents of the manager at ``url`` with their SCA results, one at a time.

    Raises :class:`WazuhAuthError` for refused credentials, :class:`WazuhError` when the
    manager cannot be read at all (connection, TLS, the agent listing, the deadline), and
    :class:`~smbsign.errors.UsageError` for a bad URL.
    """
    target = parse_url(url)
    s = _Session(target, user, secret, tls_context(verify_tls, cafile), timeout, limits)
    try:
        s.authenticate()
        agents = s.pages("/agents", {"os.platform": "windows"}, WazuhError)
        if len(agents) > limits.max_agents:
            raise WazuhError(f"GET /agents: more than {limits.max_agents} agents: stopped")
        for item in agents:
            if not isinstance(item, dict):
                continue
            os_info = item.get("os")
            if not isinstance(os_info, dict) or str(os_info.get("platform", "")) != "windows":
                continue  # the filter is the server's; checked again here
            agent_id = item.get("id")
            if not isinstance(agent_id, str) or not _AGENT_ID.match(agent_id):
                continue
            name = item.get("name")
            label = name if isinstance(name, str) and name.strip() else f"agent {agent_id}"
            sca_url = f"{target.base}/sca/{agent_id}"
            try:
                policies = _agent_sca(s, agent_id)
            except _AgentFailure as exc:
                yield AgentResult(agent_id, label, item, sca_url, error=str(exc))
                continue
            yield AgentResult(agent_id, label, item, sca_url, policies)
    finally:
        s.close()

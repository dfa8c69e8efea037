"""``smbsign audit --wazuh URL --user NAME``: SCA results of Windows agents from the Wazuh API.

The secret comes as for ``--remote`` (:mod:`smbsign.cli.audit_remote`): ``--password-file``
(first line), else ``SMBSIGN_PASSWORD``, else a hidden prompt when stdin is a terminal; never
from argv. Each agent becomes a host whose SCA checks are checklists with results, judged
exactly as a dashboard export (:mod:`smbsign.cli.audit_checklists`); an agent whose results
cannot be read, or that has none, gets an ``error`` (docs/wazuh.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smbsign.cli.audit_checklists import Checklist
from smbsign.cli.audit_gather import HostEvidence
from smbsign.cli.audit_remote import PASSWORD_ENV, _read_password_file, prompt_secret
from smbsign.errors import UsageError
from smbsign.model import CollectError

KIND = "wazuh_api"
NO_RESULTS = "Wazuh has no SCA results for this agent (not scanned yet, or no policy ran)"


@dataclass(frozen=True, slots=True)
class WazuhSource:
    """Where and as whom to read the Wazuh API; ``repr`` never shows the secret."""

    url: str
    user: str
    secret: str = field(repr=False)
    insecure: bool = False


def wazuh_source(
    url: str | None,
    user: str | None,
    password_file: Path | None,
    insecure: bool,
    *,
    remote: str | None = None,
    env: Mapping[str, str] | None = None,
    interactive: bool | None = None,
) -> WazuhSource | None:
    """``--wazuh``/``--user``/``--password-file``/``--insecure``; usage errors raise."""
    if url is None:
        if insecure:
            raise UsageError("--insecure goes with --wazuh")
        return None
    if remote is not None:
        raise UsageError("--wazuh and --remote each need their own --user: run them separately")
    from smbsign.collect.wazuh_api import parse_url  # http.client and ssl: only when used

    parse_url(url)  # a bad URL is a usage error before any secret is asked for
    name = (user or "").strip()
    if not name or not name.isprintable() or ":" in name:
        raise UsageError("--wazuh needs --user NAME (a Wazuh API user, without ':')")
    env = os.environ if env is None else env
    if password_file is not None:
        secret = _read_password_file(password_file)
    elif env.get(PASSWORD_ENV):
        secret = env[PASSWORD_ENV]
    else:
        secret = prompt_secret(
            f"Wazuh API password for {name}",
            f"--wazuh needs the API user's password: set {PASSWORD_ENV}, give "
            "--password-file, or run in a terminal to be asked",
            interactive,
        )
    return WazuhSource(url.strip(), name, secret, insecure)


def gather_wazuh(source: WazuhSource) -> dict[str, HostEvidence]:
    """Evidence per Windows agent, agents in the manager's order."""
    from smbsign.collect.wazuh_api import fetch_agents_sca
    from smbsign.importers.wazuh_api import agent_evidence

    if source.insecure:
        sys.stderr.write(
            "smbsign: warning: --insecure: the Wazuh manager's TLS certificate is not verified\n"
        )
    out: dict[str, HostEvidence] = {}
    for agent in fetch_agents_sca(
        source.url, source.user, source.secret, verify_tls=not source.insecure
    ):
        got = agent_evidence(agent)
        host = got.host if got.host not in out else f"agent-{agent.agent_id}"
        ev = out.setdefault(host, HostEvidence(host))
        error = got.error or ("" if got.policies else NO_RESULTS)
        if error:
            ev.facts.append(got.facts)
            ev.errors.append(CollectError(host, agent.url, KIND, error))
            continue
        ev.checklists.extend(Checklist(url, pol, got.facts) for url, pol in got.policies)
    return out

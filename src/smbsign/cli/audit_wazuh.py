"""``smbsign audit --wazuh URL --user NAME``: SCA results of Windows agents from the Wazuh API.

The secret comes as for ``--remote`` (:mod:`smbsign.cli.audit_remote`): ``--password-file``
(first line), else ``SMBSIGN_PASSWORD``, else a hidden prompt when stdin is a terminal; never
from argv. Each agent becomes a host whose SCA checks are checklists with results, judged
exactly as a dashboard export (:class:`smbsign.audit.sources.WazuhApiSource`); an agent whose
results cannot be read, or that has none, gets an ``error`` (docs/wazuh.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from smbsign.audit.sources import WazuhApiSource
from smbsign.cli.audit_remote import PASSWORD_ENV, _read_password_file, prompt_secret
from smbsign.errors import UsageError


def wazuh_source(
    url: str | None,
    user: str | None,
    password_file: Path | None,
    insecure: bool,
    *,
    remote: str | None = None,
    env: Mapping[str, str] | None = None,
    interactive: bool | None = None,
) -> WazuhApiSource | None:
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
    return WazuhApiSource(url.strip(), name, secret, insecure)


def insecure_warning(source: WazuhApiSource) -> str | None:
    """The warning line ``--insecure`` earns (printed before the manager is read)."""
    if not source.insecure:
        return None
    return "smbsign: warning: --insecure: the Wazuh manager's TLS certificate is not verified"

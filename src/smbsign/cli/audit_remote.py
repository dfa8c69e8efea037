"""``smbsign audit --remote``: target list and NTLM credentials, never from argv (docs/audit.md).

The user name comes from ``--user [DOMAIN\\]user`` (not a secret). The secret comes, first
found wins, from ``--password-file FILE`` (its first line), the ``SMBSIGN_PASSWORD``
environment variable, the ``SMBSIGN_NTHASH`` environment variable (32 hex digits, or
``LM:NT``) or, when stdin is a terminal, a hidden prompt on stderr. No message here ever
includes a secret. Kerberos is not supported.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import typer

from smbsign.collect.winreg_remote import Credentials
from smbsign.errors import UsageError

PASSWORD_ENV = "SMBSIGN_PASSWORD"  # noqa: S105 - the variable name, not a password
NTHASH_ENV = "SMBSIGN_NTHASH"
MAX_PASSWORD_FILE = 4096
MAX_REMOTE_HOSTS = 1024
_HOST = re.compile(r"^[A-Za-z0-9._:\[\]%-]{1,253}$")
_NTHASH = re.compile(r"^(?:[0-9a-fA-F]{32}:)?([0-9a-fA-F]{32})$")


def parse_remote(text: str) -> list[str]:
    """Host names or IP addresses of ``--remote a,b,c`` (order kept, duplicates dropped)."""
    hosts = [h.strip() for h in text.split(",") if h.strip()]
    if not hosts:
        raise UsageError("--remote needs at least one host name or address")
    if len(hosts) > MAX_REMOTE_HOSTS:
        raise UsageError(f"--remote takes at most {MAX_REMOTE_HOSTS} hosts")
    for host in hosts:
        if not _HOST.match(host):
            raise UsageError(f"--remote: not a host name or address: {host[:60]!r}")
    return list(dict.fromkeys(h.strip("[]") for h in hosts))


def parse_user(text: str) -> tuple[str, str]:
    """``(domain, user)`` of ``DOMAIN\\user``, ``user@domain`` or ``user``."""
    text = text.strip()
    if not text or not text.isprintable():
        raise UsageError("--user needs a user name ([DOMAIN\\]user) without control characters")
    if "\\" in text:
        domain, _, user = text.partition("\\")
    elif "@" in text:
        user, _, domain = text.rpartition("@")
    else:
        domain, user = "", text
    if not user:
        raise UsageError("--user needs a user name ([DOMAIN\\]user)")
    return domain, user


def _read_password_file(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PASSWORD_FILE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read --password-file {str(path)!r}: {exc.strerror}") from None
    if len(data) > MAX_PASSWORD_FILE:
        raise UsageError(f"--password-file {str(path)!r} is larger than {MAX_PASSWORD_FILE} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"--password-file {str(path)!r} is not UTF-8 text") from None
    line = text.split("\n", 1)[0].rstrip("\r")
    if not line:
        raise UsageError(f"--password-file {str(path)!r}: the first line is empty")
    return line


def credentials(
    user: str | None,
    password_file: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    purpose: str = "--remote",
) -> Credentials:
    """Credentials for ``purpose`` (``--remote``, ``scan --protocols ldap``) from the sources
    in the module docstring."""
    if user is None:
        raise UsageError(f"{purpose} needs --user [DOMAIN\\]user")
    domain, name = parse_user(user)
    env = os.environ if env is None else env
    if password_file is not None:
        return Credentials(name, domain, password=_read_password_file(password_file))
    if env.get(PASSWORD_ENV):
        return Credentials(name, domain, password=env[PASSWORD_ENV])
    if env.get(NTHASH_ENV):
        m = _NTHASH.match(env[NTHASH_ENV].strip())
        if m is None:
            raise UsageError(f"{NTHASH_ENV} must be 32 hex digits (or LM:NT)")
        return Credentials(name, domain, nthash=m.group(1).lower())
    label = f"{domain}\\{name}" if domain else name
    secret = prompt_secret(
        f"Password for {label}",
        f"{purpose} needs a password: set {PASSWORD_ENV} (or {NTHASH_ENV}), "
        "give --password-file, or run in a terminal to be asked",
        interactive,
    )
    return Credentials(name, domain, password=secret)


def prompt_secret(label: str, needed: str, interactive: bool | None = None) -> str:
    """A hidden prompt on stderr when stdin is a terminal, else the usage error ``needed``."""
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        raise UsageError(needed)
    secret: str = typer.prompt(label, hide_input=True, err=True)
    return secret


def remote_targets(
    remote: str | None, user: str | None, password_file: Path | None
) -> tuple[list[str], Credentials | None]:
    """``--remote``/``--user``/``--password-file`` as (hosts, credentials); usage errors raise."""
    if remote is None:
        if user is not None or password_file is not None:
            raise UsageError("--user and --password-file go with --remote")
        return [], None
    hosts = parse_remote(remote)
    return hosts, credentials(user, password_file)

"""``smbsign scan --protocols smb,ldap,ldaps [--user U] [--password-file F]`` (docs/ldap.md).

The CLI side of the LDAP checks: options, credentials (the same sources as ``audit
--remote``: ``--user``, then ``--password-file``, ``SMBSIGN_PASSWORD``, ``SMBSIGN_NTHASH`` or a
hidden prompt; never argv), the probe wrapper and the relay list with ``ldap://`` /
``ldaps://`` targets. With only ``smb`` asked for nothing here changes the scan's output.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from smbsign.cli.audit_remote import credentials
from smbsign.collect.winreg_remote import Credentials
from smbsign.errors import UsageError
from smbsign.output.relay import relay_list_bytes, relay_urls_bytes
from smbsign.output.summary import Tally
from smbsign.scan.ldap_probe import LdapProbeOptions, probe_ldap
from smbsign.scan.protocols import parse_protocols, with_ldap
from smbsign.scan.runner import Probe

__all__ = ["LdapPlan", "ldap_plan", "relay_bytes", "report_lines", "wrap_probe"]

ProtocolsOption = Annotated[
    str,
    typer.Option(
        "--protocols",
        help="smb (default), ldap (LDAP signing on 389), ldaps (channel binding on 636), "
        "comma-separated.",
    ),
]
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        metavar="[DOMAIN\\]USER",
        help="LDAP checks only: bind as this account where an anonymous check cannot decide "
        "(secret from --password-file, SMBSIGN_PASSWORD, SMBSIGN_NTHASH or a prompt).",
        show_default=False,
    ),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        metavar="FILE",
        help="The --user password (first line).",
        show_default=False,
    ),
]


@dataclass(frozen=True, slots=True)
class LdapPlan:
    """What ``--protocols`` asked for; ``opts`` is None when no LDAP check runs."""

    protocols: tuple[str, ...]
    opts: LdapProbeOptions | None = field(default=None, repr=False)

    @property
    def smb(self) -> bool:
        return "smb" in self.protocols

    @property
    def ldap(self) -> bool:
        return self.opts is not None


def ldap_plan(
    protocols: str,
    user: str | None,
    password_file: Path | None,
    *,
    connect_timeout: float,
    read_timeout: float,
) -> LdapPlan:
    """Parse the options; read the secret only when an LDAP check will use it."""
    protos = parse_protocols(protocols)
    wants_ldap = "ldap" in protos or "ldaps" in protos
    if not wants_ldap:
        if user is not None or password_file is not None:
            raise UsageError("--user and --password-file go with --protocols ldap or ldaps")
        return LdapPlan(protos)
    if importlib.util.find_spec("impacket") is None:
        raise UsageError("--protocols ldap/ldaps needs impacket: pip install 'smbsign[remote]'")
    creds: Credentials | None = None
    if user is not None:
        creds = credentials(user, password_file, purpose="scan --user")
    elif password_file is not None:
        raise UsageError("--password-file goes with --user")
    opts = LdapProbeOptions(
        ldap="ldap" in protos,
        ldaps="ldaps" in protos,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # signing and channel binding run side by side; channel binding makes up to three
        # binds, each a connect and two replies
        host_deadline=3 * (connect_timeout + 2 * read_timeout) + 1.0,
        credentials=creds,
    )
    return LdapPlan(protos, opts)


def wrap_probe(smb: Probe, plan: LdapPlan) -> Probe:
    """The scan's probe with the LDAP checks added (``smb`` unchanged without them)."""
    if plan.opts is None:
        return smb
    return with_ldap(smb if plan.smb else None, plan.opts, probe_ldap)


def relay_bytes(tally: Tally, fmt: str, plan: LdapPlan) -> bytes:
    """The relay list: SMB-only as before; with LDAP, ntlmrelayx gets one URL a line."""
    if plan.ldap and fmt == "ntlmrelayx":
        return relay_urls_bytes(tally.relay_targets())
    return relay_list_bytes(tally.relay_addresses(), fmt=fmt)


def report_lines(tally: Tally, plan: LdapPlan, fmt: str, relay_list: Path | None) -> None:
    """The stderr lines LDAP adds to the scan's summary."""
    if not plan.ldap:
        return
    sys.stderr.write(f"smbsign: {tally.ldap_line()}\n")
    if relay_list is not None and fmt != "ntlmrelayx" and tally.ldap_relay:
        sys.stderr.write(
            "smbsign: note: the plain relay list holds SMB hosts only; "
            "--relay-format ntlmrelayx also lists ldap:// and ldaps:// targets\n"
        )

"""Frozen value types shared by every part of smbsign.

Everything that crosses a module boundary is one of these: scan records from the
prober, setting values with provenance from collectors, host facts, and findings
from the engine. They are plain frozen dataclasses (no behaviour beyond small
derived properties) so that reporters, the store and remediation all read the
same shapes. JSON field names are public interface (see ``docs/schema.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# --------------------------------------------------------------------------- scan


class ScanStatus(StrEnum):
    """Outcome of probing one host:port (public JSON values, issue #2)."""

    OK = "ok"  # an SMB server answered a NEGOTIATE we could parse
    CLOSED = "closed"  # TCP RST / connection refused
    FILTERED = "filtered"  # no answer to SYN within the connect timeout
    NOT_SMB = "not_smb"  # connected, but what came back is not SMB
    ERROR = "error"  # anything else (no route, SMB error status, read timeout, ...)


class Smb1Signing(StrEnum):
    """SMB1 server signing state from NEGOTIATE SecurityMode [MS-CIFS 2.2.4.52.2]."""

    REQUIRED = "required"  # 0x08 and 0x04
    ENABLED = "enabled"  # 0x04 without 0x08
    DISABLED = "disabled"  # 0x04 clear


@dataclass(frozen=True, slots=True)
class Smb1Observation:
    """What the host said about SMB1.

    ``offered`` is True when the server accepted the ``NT LM 0.12`` dialect, False when it
    refused it (DialectIndex 0xFFFF, an SMB2 reply or a disconnect), None when not known.
    """

    offered: bool | None
    signing: Smb1Signing | None = None
    security_mode: int | None = None
    capabilities: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Smb2Observation:
    """SMB2/3 NEGOTIATE response fields [MS-SMB2 2.2.4]."""

    dialect: str  # "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1" or "2.???" (0x02FF wildcard)
    dialect_revision: int
    security_mode: int  # raw SecurityMode
    capabilities: int = 0
    server_guid: str = ""
    cipher: str | None = None  # from the ENCRYPTION context (telemetry only)
    signing_algorithm: str | None = None  # from the SIGNING context (telemetry only)
    preauth_hash: str | None = None

    @property
    def signing_required(self) -> bool:
        """Only bit 0x0002 carries information [MS-SMB2 3.3.5.4]."""
        return bool(self.security_mode & 0x0002)


class LdapSigning(StrEnum):
    """LDAP signing on 389 from an NTLM bind that does not sign (issue #12, docs/ldap.md)."""

    REQUIRED = "required"  # refused with resultCode 8 strongerAuthRequired
    NOT_REQUIRED = "not_required"  # the unsigned bind succeeded
    UNKNOWN = "unknown"


class ChannelBinding(StrEnum):
    """LDAPS channel-binding enforcement from NTLM binds without / with a wrong token."""

    ALWAYS = "always"  # no token: resultCode 49, data 80090346
    WHEN_SUPPORTED = "when_supported"  # no token accepted, a wrong token refused
    NEVER = "never"  # a wrong token accepted
    NO_TLS = "no_tls"  # 636 closed or the TLS handshake refused
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class LdapObservation:
    """What the host's LDAP (389) and LDAPS (636) said; ``method`` says if credentials were used."""

    signing: LdapSigning
    channel_binding: ChannelBinding
    method: str  # "unauthenticated" or "authenticated"
    reason: str

    @property
    def relay_ldap(self) -> bool:
        """Relay to ldap:// works: signing provably not required."""
        return self.signing is LdapSigning.NOT_REQUIRED

    @property
    def relay_ldaps(self) -> bool:
        """Relay to ldaps:// works: a wrong channel-binding token was accepted."""
        return self.channel_binding is ChannelBinding.NEVER


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One probed host:port. ``signing_required`` is None unless proven either way."""

    target: str  # the address probed (IPv6 without brackets, with %scope if link-local)
    port: int
    status: ScanStatus
    signing_required: bool | None
    smb1: Smb1Observation
    smb2: Smb2Observation | None
    reason: str = ""
    hostname: str | None = None  # the name the user gave, when the target was a name
    transport: str = "direct_tcp"  # "direct_tcp" (445) or "netbios" (139)
    elapsed_ms: float = 0.0
    ldap: LdapObservation | None = None  # only with scan --protocols ldap/ldaps (issue #12)

    @property
    def relayable(self) -> bool:
        """True only when the host provably does not require signing on some protocol."""
        return self.status is ScanStatus.OK and self.signing_required is False


# -------------------------------------------------------------------------- audit


class Layer(StrEnum):
    """Configuration layer a value came from, highest precedence first (docs/reference.md §4.1)."""

    MDM = "mdm"
    GPO = "gpo"  # domain GPO (GptTmpl.inf or Registry.pol)
    LOCAL = "local"  # local registry / local security policy / smb.conf
    EFFECTIVE = "effective"  # what the running system reports (Get-Smb*Configuration, testparm)
    WIRE = "wire"  # what the server said on the network
    DEFAULT = "default"  # built-in default for this OS/edition/role


class Status(StrEnum):
    """Finding status (public JSON values, issue #3)."""

    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


class Role(StrEnum):
    WORKSTATION = "workstation"
    MEMBER_SERVER = "member_server"
    DOMAIN_CONTROLLER = "domain_controller"
    STANDALONE = "standalone"


class OsFamily(StrEnum):
    WINDOWS = "windows"
    SAMBA = "samba"


@dataclass(frozen=True, slots=True)
class GpoRef:
    """The domain GPO and link that decided a value (``source.gpo``, the domain view, #9).

    ``link`` is the DN of the container (site, domain or OU) the deciding link is on.
    """

    guid: str
    name: str
    link: str
    enforced: bool


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a value came from.

    ``kind`` names the collector (``regfile``, ``gpttmpl``, ``secedit``, ``registrypol``,
    ``pwsh_json``, ``smbconf``, ``testparm``, ``winreg``, ``hive``, ``wire``, ``default``);
    ``location`` is a line number (``line 12``), a byte offset or a registry path; ``gpo`` is
    set when the value was read from a domain GPO resolved for this host (``smbsign ad``).
    """

    kind: str
    path: str
    location: str
    layer: Layer
    gpo: GpoRef | None = None


@dataclass(frozen=True, slots=True)
class SettingValue:
    """One observed configuration value.

    ``setting`` is a canonical id: for registry values the full path with hive, in the
    casing of docs/reference.md §1.1 (``HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\
    Parameters\\RequireSecuritySignature``) and compared case-insensitively; for Samba
    ``samba:<parameter name>`` in canonical lower-case spaced form; for cmdlet output
    ``pwsh:<Cmdlet>:<Property>``.
    ``value_type`` is ``REG_DWORD``, ``REG_SZ``, ..., ``bool``, ``samba`` or ``int``.
    ``deleted`` marks an explicit deletion (``"Name"=-``, ``**del.``).
    """

    host: str
    setting: str
    value: int | str | bool | tuple[str, ...] | bytes | None
    value_type: str
    provenance: Provenance
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class CollectError:
    """A source that could not be read; becomes an ``error`` finding, never a crash."""

    host: str
    path: str
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What is known of a host; None means unknown (and may make a default unknown)."""

    host: str
    os_family: OsFamily | None = None
    build: int | None = None  # Windows CurrentBuild, e.g. 26100
    edition: str | None = None  # Windows EditionID, e.g. "Enterprise", "Professional", "Core"
    role: Role | None = None
    product_name: str | None = None
    samba_version: str | None = None
    smb1_installed: bool | None = None
    sources: tuple[str, ...] = ()  # where each fact came from, for the report


@dataclass(frozen=True, slots=True)
class Finding:
    """Verdict for one control on one host."""

    host: str
    control: str
    status: Status
    observed: str | int | bool | None
    expected: str
    source: Provenance | None
    reason: str
    title: str = ""
    severity: str = ""
    weight: int = 0
    notes: tuple[str, ...] = field(default=())
    roles: tuple[str, ...] = ()  # domain view: base role, then exchange_server / sccm_site_system
    drift: bool | None = None  # domain view --scan: policy and wire disagree (None: not compared)
    container: str | None = None  # domain view: DN of the OU/container holding the computer

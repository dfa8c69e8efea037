"""The lab's host catalog, and the ground truth derived from each host's smb.conf.

A host is data: a name, the ``[global]`` parameters that differ from the lab's base
smb.conf (``samba.BASE_GLOBALS``) and its last address octet. What a credential-less
NEGOTIATE probe must see is *derived* from those parameters by :func:`derive_truth`, a
small pure function that follows Samba 4.17's own rules, never typed in per host:

- ``server signing`` words → enum: docs/reference.md §4.3 (SAMBA ``lib/param/param_table.c``).
- ``default`` means off below the AD DC roles: reference.md §3.3 (``lpcfg_server_signing_allowed``).
- SMB2 SecurityMode 0x01, plus 0x02 when required ("for SMB2 signing cannot be disabled"):
  docs/reference.md §4.3, observed in docs/reference.md §4.6.
- SMB1 SecurityMode 0x03, +0x04 when signing is offered (auto/desired/mandatory), +0x08 when
  mandatory; SMB1 only when ``server min protocol`` ≤ NT1: docs/reference.md §4.6.
- An SMB2 reply needs ``server max protocol`` ≥ SMB2_02; NT1-only servers drop an SMB2
  NEGOTIATE: reference.md §4.6, §5.7. Protocol names and the ``SMB2``/``SMB3`` aliases (SMB2_10,
  SMB3_11): smb.conf(5) "server max protocol"; ``testparm`` prints ``SMB3`` for ``SMB3_11``.
- Verdict mapping (required / not required / SMB1 disabled → relayable): docs/reference.md §5.9, §7.

The word tables are kept apart from ``collect/smbconf.py`` on purpose: the ground truth must
not share code with what it checks. tests/unit/test_lab_hosts.py checks them against the real
``testparm`` and against the docs/reference.md §4.6 observations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from smbsign.errors import LabError
from smbsign.model import ScanStatus, Smb1Signing


class Signing(StrEnum):
    """Parsed ``server signing`` (SAMBA ``enum_smb_signing_vals``, docs/reference.md §4.3)."""

    DEFAULT = "default"
    OFF = "off"
    IF_REQUIRED = "if_required"
    DESIRED = "desired"
    REQUIRED = "required"


_SIGNING_WORDS: dict[str, Signing] = {
    "default": Signing.DEFAULT,
    **dict.fromkeys(("no", "false", "0", "off", "disabled"), Signing.OFF),
    **dict.fromkeys(
        ("if_required", "yes", "true", "1", "on", "enabled", "auto"), Signing.IF_REQUIRED
    ),
    "desired": Signing.DESIRED,
    **dict.fromkeys(("required", "mandatory", "force", "forced", "enforced"), Signing.REQUIRED),
}


class Protocol(IntEnum):
    """Samba protocol levels in order (``enum protocol_types``)."""

    CORE = 1
    COREPLUS = 2
    LANMAN1 = 3
    LANMAN2 = 4
    NT1 = 5
    SMB2_02 = 6
    SMB2_10 = 7
    SMB3_00 = 8
    SMB3_02 = 9
    SMB3_11 = 10


_PROTOCOL_WORDS: dict[str, Protocol] = {
    **{p.name: p for p in Protocol},
    "SMB2": Protocol.SMB2_10,  # smb.conf(5): "By default SMB2 selects the SMB2_10 variant"
    "SMB3": Protocol.SMB3_11,  # smb.conf(5): "By default SMB3 selects the SMB3_11 variant"
}

# Wire names of the SMB2 dialects a probe offers (docs/reference.md §5.4).
DIALECT_NAMES: dict[Protocol, str] = {
    Protocol.SMB2_02: "2.0.2",
    Protocol.SMB2_10: "2.1",
    Protocol.SMB3_00: "3.0",
    Protocol.SMB3_02: "3.0.2",
    Protocol.SMB3_11: "3.1.1",
}

STANDALONE_ROLES = ("standalone server", "standalone", "auto")


class HostKind(StrEnum):
    SAMBA = "samba"  # smbd with the host's smb.conf
    CLOSED = "closed"  # address, no listener: the kernel answers RST
    FILTERED = "filtered"  # nft drops tcp/445 and tcp/139 silently


@dataclass(frozen=True, slots=True)
class LabHost:
    """One lab host: ``conf`` holds the [global] parameters that differ from the base."""

    name: str
    kind: HostKind
    octet: int
    conf: tuple[tuple[str, str], ...] = ()
    description: str = ""

    @property
    def conf_map(self) -> dict[str, str]:
        return {_norm(k): v for k, v in self.conf}


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The parameters of a host's smb.conf that decide its NEGOTIATE answers."""

    signing: Signing
    min_protocol: Protocol
    max_protocol: Protocol
    ports: tuple[int, ...]
    role: str

    @property
    def signing_required(self) -> bool:
        # DEFAULT is "off" for the standalone roles accepted by parse_config (reference.md §3.3).
        return self.signing is Signing.REQUIRED

    @property
    def smb1_offered(self) -> bool:
        return self.min_protocol <= Protocol.NT1 <= self.max_protocol

    @property
    def smb2_offered(self) -> bool:
        return self.max_protocol >= Protocol.SMB2_02


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """What a scan of the host must report (field names follow ``ScanRecord``)."""

    status: ScanStatus
    port: int | None
    signing_required: bool | None
    smb1_offered: bool | None
    smb1_signing: Smb1Signing | None
    smb1_security_mode: int | None
    smb2_security_mode: int | None
    smb2_dialect: str | None  # the server's pick for smbsign's offer on ``port`` (probe_dialect)
    reason: str = ""

    @property
    def relayable(self) -> bool:
        """Relay-list membership (docs/reference.md §7): proven not required on some protocol."""
        return self.status is ScanStatus.OK and self.signing_required is False

    @property
    def expected_label(self) -> str:
        """Short human wording of the expected verdict (demo table)."""
        if self.status is not ScanStatus.OK:
            return self.status.value
        if self.signing_required:
            return "required"
        if self.smb1_signing is Smb1Signing.DISABLED:
            return "SMB1 signing disabled"
        return "not required"


def _norm(name: str) -> str:
    """smb.conf parameter names: case-insensitive, whitespace irrelevant (reference.md §4.3)."""
    return " ".join(name.lower().split())


def parse_signing(word: str) -> Signing:
    try:
        return _SIGNING_WORDS[word.strip().lower()]
    except KeyError:
        raise LabError(f"invalid 'server signing' value {word!r}") from None


def parse_protocol(word: str, *, default: Protocol) -> Protocol:
    key = word.strip().upper()
    if key == "DEFAULT":
        return default
    try:
        return _PROTOCOL_WORDS[key]
    except KeyError:
        raise LabError(f"invalid protocol value {word!r}") from None


def parse_config(conf: Mapping[str, str]) -> ServerConfig:
    """Read the deciding parameters; defaults are Samba 4.17's (``testparm -s -v``,
    reference.md §4.4)."""
    c = {_norm(k): v for k, v in conf.items()}
    role = " ".join(c.get("server role", "standalone server").lower().split())
    if role not in STANDALONE_ROLES:
        # smbd refuses the DC roles unless started by `samba` (docs/reference.md §4.5).
        raise LabError(f"server role {role!r} is not supported in the lab (standalone only)")
    ports_text = c.get("smb ports", "445 139").replace(",", " ")
    try:
        ports = tuple(int(p) for p in ports_text.split())
    except ValueError:
        raise LabError(f"invalid 'smb ports' value {ports_text!r}") from None
    if not ports or any(not 0 < p < 65536 for p in ports):
        raise LabError(f"invalid 'smb ports' value {ports_text!r}")
    cfg = ServerConfig(
        signing=parse_signing(c.get("server signing", "default")),
        min_protocol=parse_protocol(
            c.get("server min protocol", "SMB2_02"), default=Protocol.SMB2_02
        ),
        max_protocol=parse_protocol(c.get("server max protocol", "SMB3"), default=Protocol.SMB3_11),
        ports=ports,
        role=role,
    )
    if cfg.min_protocol > cfg.max_protocol:
        raise LabError("server min protocol is above server max protocol")
    return cfg


def smb1_security_mode(cfg: ServerConfig) -> int:
    """SMB1 NEGOTIATE SecurityMode of an NT1 server (docs/reference.md §4.6, MS-CIFS 2.2.4.52.2)."""
    mode = 0x03  # USER_SECURITY | ENCRYPT_PASSWORDS
    if cfg.signing in (Signing.IF_REQUIRED, Signing.DESIRED, Signing.REQUIRED):
        mode |= 0x04
    if cfg.signing is Signing.REQUIRED:
        mode |= 0x08
    return mode


def negotiated_dialect(cfg: ServerConfig, offered: Sequence[Protocol]) -> str | None:
    """Highest offered dialect inside [min, max] protocol, or None (no common dialect)."""
    common = [p for p in offered if cfg.min_protocol <= p <= cfg.max_protocol]
    return DIALECT_NAMES[max(common)] if common else None


ALL_DIALECTS = tuple(DIALECT_NAMES)
# On port 139 the probe offers 2.0.2-3.0.2 without contexts (docs/reference.md §5.1: MS-SMB2 2.1
# allows NetBIOS only up to 3.0.2) and offers 3.1.1 only if that finds no common dialect.
NETBIOS_DIALECTS = tuple(p for p in DIALECT_NAMES if p <= Protocol.SMB3_02)


def probe_dialect(cfg: ServerConfig, port: int) -> str | None:
    """The dialect the server picks for smbsign's probe on ``port`` (reference.md §5.1, §5.4)."""
    if port == 139:
        return negotiated_dialect(cfg, NETBIOS_DIALECTS) or negotiated_dialect(cfg, ALL_DIALECTS)
    return negotiated_dialect(cfg, ALL_DIALECTS)


def derive_truth(host: LabHost, ports: Sequence[int] = (445,)) -> GroundTruth:
    """Ground truth for a scan of ``ports`` (in order, first answering port wins)."""
    if host.kind is HostKind.CLOSED:
        return _unreached(ScanStatus.CLOSED, ports)
    if host.kind is HostKind.FILTERED:
        return _unreached(ScanStatus.FILTERED, ports)
    cfg = parse_config(host.conf_map)
    port = next((p for p in ports if p in cfg.ports), None)
    if port is None:
        return _unreached(ScanStatus.CLOSED, ports)
    smb1_mode = smb1_security_mode(cfg) if cfg.smb1_offered else None
    smb1_signing: Smb1Signing | None = None
    if smb1_mode is not None:
        smb1_signing = (
            Smb1Signing.REQUIRED
            if smb1_mode & 0x08
            else Smb1Signing.ENABLED
            if smb1_mode & 0x04
            else Smb1Signing.DISABLED
        )
    return GroundTruth(
        status=ScanStatus.OK,
        port=port,
        signing_required=cfg.signing_required,
        smb1_offered=cfg.smb1_offered,
        smb1_signing=smb1_signing,
        smb1_security_mode=smb1_mode,
        smb2_security_mode=(0x01 | (0x02 if cfg.signing_required else 0))
        if cfg.smb2_offered
        else None,
        smb2_dialect=probe_dialect(cfg, port) if cfg.smb2_offered else None,
    )


def _unreached(status: ScanStatus, ports: Sequence[int]) -> GroundTruth:
    return GroundTruth(
        status=status,
        port=ports[0] if ports else None,
        signing_required=None,
        smb1_offered=None,
        smb1_signing=None,
        smb1_security_mode=None,
        smb2_security_mode=None,
        smb2_dialect=None,
        reason=status.value,
    )


def _samba(octet: int, name: str, description: str, **conf: str) -> LabHost:
    pairs = tuple((k.replace("_", " "), v) for k, v in conf.items())
    return LabHost(name, HostKind.SAMBA, octet, pairs, description)


# The catalog (issue #2 item 5). `server min protocol = SMB3` would mean SMB3_11, so the
# "SMB3 only" host names SMB3_00 explicitly. An AD DC role is not in the lab: smbd refuses
# to run it standalone (docs/reference.md §4.5); its bits are recorded in docs/reference.md §4.6.
CATALOG: tuple[LabHost, ...] = (
    _samba(10, "default", "standalone, smb.conf defaults"),
    _samba(11, "mandatory", "server signing = mandatory", server_signing="mandatory"),
    _samba(
        12,
        "smb1-disabled",
        "SMB1 enabled, signing disabled",
        server_min_protocol="NT1",
        server_signing="disabled",
    ),
    _samba(13, "smb1-only", "SMB1 only", server_min_protocol="NT1", server_max_protocol="NT1"),
    _samba(
        14,
        "smb1-only-mandatory",
        "SMB1 only, signing mandatory",
        server_min_protocol="NT1",
        server_max_protocol="NT1",
        server_signing="mandatory",
    ),
    _samba(15, "smb3-only", "SMB3 only (3.0 and up)", server_min_protocol="SMB3_00"),
    _samba(
        16,
        "smb311-mandatory",
        "SMB 3.1.1 only, signing mandatory",
        server_min_protocol="SMB3_11",
        server_signing="mandatory",
    ),
    _samba(
        17,
        "port139-mandatory",
        "port 139 only, signing mandatory",
        smb_ports="139",
        server_signing="mandatory",
    ),
    _samba(
        18,
        "smb1-auto",
        "SMB1 enabled, signing auto",
        server_min_protocol="NT1",
        server_signing="auto",
    ),
    LabHost("closed", HostKind.CLOSED, 30, (), "address, no listener (RST)"),
    LabHost("filtered", HostKind.FILTERED, 31, (), "nft drops tcp/445 and tcp/139"),
)


def catalog_host(name: str, catalog: Sequence[LabHost] = CATALOG) -> LabHost:
    for host in catalog:
        if host.name == name:
            return host
    raise LabError(f"no lab host named {name!r}")

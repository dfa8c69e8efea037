"""Strict schema of the control catalog (``controls/*.yaml``) and framework files.

A control is data: what to check, where the value lives, what state to put it in, and
what changing it may break; also which side of the host it configures (``side``), which
protocol it governs (``protocol``) and the data each checked setting accepts (``allowed``), so
that no code guesses them from key names (docs/catalog.md "Side, protocol and allowed
values"). Unknown keys are rejected (``extra="forbid"``) so that a typo in a YAML file is an
error, not a silently ignored setting. Framework mappings live only
in ``frameworks/*.yaml`` (requirement -> control ids), never inside a control.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RegType = Literal["REG_DWORD", "REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ", "REG_BINARY", "REG_QWORD"]
Severity = Literal["critical", "high", "medium", "low", "info"]
RoleName = Literal["workstation", "member_server", "domain_controller", "standalone"]
OsName = Literal["windows", "samba"]
#: The component a control configures: the SMB (LDAP) server or the SMB client of the host.
Side = Literal["server", "client"]
#: What the setting governs: ``smb`` every SMB dialect (SMB1 and SMB 2.x/3.x), ``smb1`` SMB1
#: only (the "(if ... agrees)" values, docs/reference.md §2.1, and SMB1 itself), ``ldap`` LDAP
#: (room for the domain controller's LDAP signing / channel binding controls).
Protocol = Literal["smb", "smb1", "ldap"]


class Expect(_Strict):
    """An expectation on a scalar value. Exactly one of the fields is set."""

    equals: int | str | bool | None = None
    at_least: int | None = None
    one_of: tuple[int | str, ...] | None = None

    def describe(self) -> str:
        if self.equals is not None:
            return f"= {self.equals}"
        if self.at_least is not None:
            return f">= {self.at_least}"
        return "one of " + ", ".join(str(v) for v in self.one_of or ())


class AllowedValue(_Strict):
    """One datum the setting gives meaning to, and that meaning (a source in the YAML)."""

    value: int | str | bool
    meaning: str = Field(min_length=1)


#: The data a setting accepts, ordered from the weakest to the strongest where that applies
#: (importers normalise checklists over it; the fixture matrix takes its failing case from it).
Allowed = tuple[AllowedValue, ...]


class RegistryOverride(_Strict):
    """Another value of the same key that, when in force, decides the check instead.

    Windows Server 2025's ``LDAPServerEnforceIntegrity``: 1 (or absent, by its default)
    requires LDAP signing whatever ``LDAPServerIntegrity`` says, 0 leaves it to that value
    (docs/reference.md §11.1). ``enforces`` is the datum that makes the check pass,
    ``defers`` the one that leaves it to the checked value; any other datum is not judged.
    ``min_build``: builds before it do not have the value (it is then ignored).
    """

    value: str
    type: Literal["REG_DWORD"] = "REG_DWORD"
    enforces: int
    defers: int
    min_build: int | None = None
    default_key: str | None = None
    allowed: Allowed = ()


class RegistryCheck(_Strict):
    """A registry value. ``key`` includes the hive (``HKLM\\...``).

    ``policy_key`` names the ``Software\\Policies`` location an ADMX policy writes, when
    it differs from ``key`` (that value wins over ``key``, docs/reference.md §4.1).
    ``overridden_by`` names a value of the same key that decides instead when in force.
    """

    key: str
    value: str
    type: RegType = "REG_DWORD"
    expected: Expect
    policy_key: str | None = None
    allowed: Allowed = ()
    overridden_by: RegistryOverride | None = None


class SambaCheck(_Strict):
    """A Samba ``[global]`` parameter; ``passing`` lists canonical enum values that pass."""

    parameter: str
    passing: tuple[str, ...]
    section: str = "global"
    allowed: Allowed = ()


class CmdletCheck(_Strict):
    """A property of ``Get-SmbServerConfiguration`` / ``Get-SmbClientConfiguration``."""

    cmdlet: Literal["Get-SmbServerConfiguration", "Get-SmbClientConfiguration"]
    property: str
    expected: Expect
    allowed: Allowed = ()


WireCheck = Literal[
    "smb_server_signing_required",
    "smb1_server_disabled",
    "smb1_server_signing_enabled",
    "ldap_server_signing_required",
    "ldap_server_channel_binding",
]


class Check(_Strict):
    registry: RegistryCheck | None = None
    samba: SambaCheck | None = None
    cmdlet: CmdletCheck | None = None
    # A wire observation that proves the effective state (only server-side controls).
    wire: WireCheck | None = None
    # True for the "(if ... agrees)" settings: they change nothing on SMB2+ (reference.md §2.1).
    smb1_only: bool = False


class DesiredRegistry(_Strict):
    key: str
    value: str
    type: RegType = "REG_DWORD"
    data: int | str
    # Which GPO file carries it: Security Options live in GptTmpl.inf, ADMX policies in
    # Registry.pol (docs/reference.md §1.3).
    gpo_file: Literal["GptTmpl.inf", "Registry.pol"] = "GptTmpl.inf"
    restart: Literal["none", "service", "reboot"] = "none"


class DesiredSamba(_Strict):
    parameter: str
    value: str
    section: str = "global"


class DesiredCmdlet(_Strict):
    cmdlet: Literal["Set-SmbServerConfiguration", "Set-SmbClientConfiguration"]
    parameter: str
    value: bool | int | str


class DesiredSecurityOption(_Strict):
    """SecurityPolicyDsc ``SecurityOption`` name and value (docs/reference.md §6.6)."""

    dsc_name: str
    dsc_value: str


class DesiredIntune(_Strict):
    """Policy CSP OMA-URI setting (docs/reference.md §6.5)."""

    oma_uri: str
    format: Literal["int", "chr"] = "int"
    value: int | str
    min_os: str = ""


class Desired(_Strict):
    """Structured desired state; every renderer reads only this."""

    registry: tuple[DesiredRegistry, ...] = ()
    samba: tuple[DesiredSamba, ...] = ()
    cmdlet: DesiredCmdlet | None = None
    security_option: DesiredSecurityOption | None = None
    intune: DesiredIntune | None = None


class Consideration(_Strict):
    """What enforcing the control may break (blast radius).

    ``targets`` names the OS families the note concerns (empty: every family of the control)
    and ``roles`` the roles (empty: every role); remediation output for a target shows only
    the notes for that target (a Samba snippet never carries a Group Policy note).
    """

    topic: Literal[
        "smb1_peers",
        "guest_access",
        "nas_printers",
        "file_share_witness",
        "performance",
        "legacy_clients",
        "group_policy",
        "restart",
        "other",
    ]
    text: str
    targets: tuple[OsName, ...] = ()
    roles: tuple[RoleName, ...] = ()


class Reference(_Strict):
    title: str
    url: str


class Applicability(_Strict):
    os_families: tuple[OsName, ...]
    roles: tuple[RoleName, ...] = (
        "workstation",
        "member_server",
        "domain_controller",
        "standalone",
    )
    min_build: int | None = None  # e.g. 26100 for the 24H2 / Server 2025 audit policies


class Control(_Strict):
    """One control. ``id`` is set from the file name by the loader, never written in YAML."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=5, max_length=140)
    rationale: str
    severity: Severity
    weight: int = Field(ge=1, le=10)
    applies_to: Applicability
    # Which side of the host and which protocol the control concerns (catalog data, never
    # guessed from key names; catalog/integrity.py checks the keys agree).
    side: Side
    protocol: Protocol
    check: Check
    desired: Desired
    # "enforce" controls require signing; "audit" controls are the staged first step.
    stage: Literal["enforce", "audit", "harden"] = "enforce"
    enforces_signing: bool = False
    impact: str = ""
    considerations: tuple[Consideration, ...] = ()
    references: tuple[Reference, ...] = ()
    # What a missing value means, per setting identity; resolved through defaults.yaml.
    default_key: str | None = None

    @field_validator("rationale")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


class Requirement(_Strict):
    id: str
    title: str = ""
    controls: tuple[str, ...] = Field(min_length=1)
    # Framework-specific detail (Wazuh check id and version range, benchmark section, ...).
    detail: dict[str, str] = Field(default_factory=dict)


class Framework(_Strict):
    """One framework file. ``id`` is set from the file name by the loader."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    version: str = ""
    url: str = ""
    requirements: tuple[Requirement, ...] = Field(min_length=1)

"""Control objects for remediation tests that must not depend on the shipped catalog.

Built from reference.md §1.1, §1.3 and §6.5/§6.6 (the same facts the catalog encodes). Tests that
check plan logic use these, so a catalog edit cannot silently change what they prove;
golden files use the real catalog (see tests/unit/test_render_golden.py).
"""

from __future__ import annotations

from smbsign.catalog.schema import (
    Applicability,
    Check,
    Consideration,
    Control,
    Desired,
    DesiredCmdlet,
    DesiredIntune,
    DesiredRegistry,
    DesiredSamba,
    DesiredSecurityOption,
    Expect,
    RegistryCheck,
    SambaCheck,
)

SERVER = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
CLIENT = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
SERVER_POL = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer"
CLIENT_POL = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation"
LPSO = "./Device/Vendor/MSFT/Policy/Config/LocalPoliciesSecurityOptions/"
ALL_ROLES = ("workstation", "member_server", "domain_controller", "standalone")


def _reg_check(key: str, value: str, data: int) -> Check:
    return Check(registry=RegistryCheck(key=key, value=value, expected=Expect(equals=data)))


def server_required() -> Control:
    return Control(
        id="smb-server-signing-required",
        title="SMB server requires signing",
        rationale="Relay of NTLM to SMB on this host is blocked only when signing is required.",
        severity="high",
        weight=9,
        side="server",
        protocol="smb",
        applies_to=Applicability(os_families=("windows", "samba")),
        check=_reg_check(SERVER, "RequireSecuritySignature", 1),
        desired=Desired(
            registry=(DesiredRegistry(key=SERVER, value="RequireSecuritySignature", data=1),),
            samba=(DesiredSamba(parameter="server signing", value="mandatory"),),
            cmdlet=DesiredCmdlet(
                cmdlet="Set-SmbServerConfiguration",
                parameter="RequireSecuritySignature",
                value=True,
            ),
            security_option=DesiredSecurityOption(
                dsc_name="Microsoft_network_server_Digitally_sign_communications_always",
                dsc_value="Enabled",
            ),
            intune=DesiredIntune(
                oma_uri=LPSO + "MicrosoftNetworkServer_DigitallySignCommunicationsAlways",
                value=1,
                min_os="Windows 10 1803",
            ),
        ),
        stage="enforce",
        enforces_signing=True,
        considerations=(
            Consideration(
                topic="nas_printers",
                text="Clients that cannot sign (old NAS, printers) can no longer connect.",
            ),
            Consideration(
                topic="guest_access",
                text="Guest and anonymous sessions cannot be signed (docs/reference.md §2.3).",
            ),
        ),
    )


def client_required() -> Control:
    return Control(
        id="smb-client-signing-required",
        title="SMB client requires signing",
        rationale="Outbound sessions are signed, so a man in the middle cannot tamper with them.",
        severity="medium",
        weight=6,
        side="client",
        protocol="smb",
        applies_to=Applicability(os_families=("windows", "samba")),
        check=_reg_check(CLIENT, "RequireSecuritySignature", 1),
        desired=Desired(
            registry=(DesiredRegistry(key=CLIENT, value="RequireSecuritySignature", data=1),),
            samba=(DesiredSamba(parameter="client signing", value="required"),),
            cmdlet=DesiredCmdlet(
                cmdlet="Set-SmbClientConfiguration",
                parameter="RequireSecuritySignature",
                value=True,
            ),
            security_option=DesiredSecurityOption(
                dsc_name="Microsoft_network_client_Digitally_sign_communications_always",
                dsc_value="Enabled",
            ),
            intune=DesiredIntune(
                oma_uri=LPSO + "MicrosoftNetworkClient_DigitallySignCommunicationsAlways",
                value=1,
                min_os="Windows 10 1809",
            ),
        ),
        stage="enforce",
        enforces_signing=True,
        considerations=(
            Consideration(
                topic="file_share_witness",
                text="File share witnesses and backup targets must support signing.",
            ),
        ),
    )


def server_audit() -> Control:
    return Control(
        id="smb-server-audit-unsigned-clients",
        title="Audit SMB clients that do not support signing",
        rationale="Logs the clients that would break before signing is required.",
        severity="low",
        weight=2,
        side="server",
        protocol="smb",
        applies_to=Applicability(os_families=("windows",), min_build=26100),
        check=_reg_check(SERVER_POL, "AuditClientDoesNotSupportSigning", 1),
        desired=Desired(
            registry=(
                DesiredRegistry(
                    key=SERVER_POL,
                    value="AuditClientDoesNotSupportSigning",
                    data=1,
                    gpo_file="Registry.pol",
                ),
            ),
            cmdlet=DesiredCmdlet(
                cmdlet="Set-SmbServerConfiguration",
                parameter="AuditClientDoesNotSupportSigning",
                value=True,
            ),
            intune=DesiredIntune(
                oma_uri="./Device/Vendor/MSFT/Policy/Config/LanmanServer/"
                "AuditClientDoesNotSupportSigning",
                value=1,
                min_os="Windows 11 24H2 (10.0.26100.3613)",
            ),
        ),
        stage="audit",
    )


def client_audit() -> Control:
    return Control(
        id="smb-client-audit-unsigned-servers",
        title="Audit SMB servers that do not support signing",
        rationale="Logs the servers that would break before client signing is required.",
        severity="low",
        weight=2,
        side="client",
        protocol="smb",
        applies_to=Applicability(os_families=("windows",), min_build=26100),
        check=_reg_check(CLIENT_POL, "AuditServerDoesNotSupportSigning", 1),
        desired=Desired(
            registry=(
                DesiredRegistry(
                    key=CLIENT_POL,
                    value="AuditServerDoesNotSupportSigning",
                    data=1,
                    gpo_file="Registry.pol",
                ),
            ),
            cmdlet=DesiredCmdlet(
                cmdlet="Set-SmbClientConfiguration",
                parameter="AuditServerDoesNotSupportSigning",
                value=True,
            ),
        ),
        stage="audit",
    )


def samba_ipc() -> Control:
    return Control(
        id="samba-client-ipc-signing-required",
        title="Samba client IPC$ connections require signing",
        rationale="winbind and RPC over IPC$ must not be relayable.",
        severity="medium",
        weight=5,
        side="client",
        protocol="smb",
        applies_to=Applicability(os_families=("samba",)),
        check=Check(samba=SambaCheck(parameter="client ipc signing", passing=("required",))),
        desired=Desired(samba=(DesiredSamba(parameter="client ipc signing", value="required"),)),
        stage="enforce",
        enforces_signing=True,
    )


def smb1_client_off() -> Control:
    return Control(
        id="smb1-client-disabled",
        title="SMB1 client driver disabled",
        rationale="SMB1 cannot require signing the way SMB2 does.",
        severity="medium",
        weight=5,
        side="client",
        protocol="smb1",
        applies_to=Applicability(os_families=("windows",), roles=ALL_ROLES),
        check=_reg_check("HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10", "Start", 4),
        desired=Desired(
            registry=(
                DesiredRegistry(
                    key="HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10",
                    value="Start",
                    data=4,
                    gpo_file="Registry.pol",
                    restart="reboot",
                ),
                DesiredRegistry(
                    key=CLIENT,
                    value="DependOnService",
                    type="REG_MULTI_SZ",
                    data="Bowser,MRxSmb20,NSI",
                    gpo_file="Registry.pol",
                    restart="reboot",
                ),
            ),
        ),
        stage="harden",
        considerations=(
            Consideration(topic="smb1_peers", text="SMB1-only servers become unreachable."),
        ),
    )


def dc_only() -> Control:
    return Control(
        id="dc-only-example",
        title="A domain-controller-only control",
        rationale="Exercises role filtering.",
        severity="high",
        weight=8,
        side="server",
        protocol="smb",
        applies_to=Applicability(os_families=("windows",), roles=("domain_controller",)),
        check=_reg_check(SERVER, "RequireSecuritySignature", 1),
        desired=Desired(
            registry=(DesiredRegistry(key=SERVER, value="RequireSecuritySignature", data=1),),
        ),
        enforces_signing=True,
    )


def sample_controls() -> list[Control]:
    return [
        server_required(),
        client_required(),
        server_audit(),
        client_audit(),
        samba_ipc(),
        smb1_client_off(),
    ]

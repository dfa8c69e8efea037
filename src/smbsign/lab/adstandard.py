"""The standard lab domain: one case per GPO precedence rule (MS-GPOL 3.2.5.1), as data.

The value is the server's "Digitally sign communications (always)" (``RequireSecuritySignature``
in GptTmpl.inf ``[Registry Values]``, ``4,1`` on / ``4,0`` off). Which GPO should decide each
computer, and why (what ``ad audit`` must find):

=========  =======================  ==========================================================
computer   OU                       expected deciding GPO / outcome
=========  =======================  ==========================================================
DC2        Domain Controllers       "DC Signing On": "DC Signing Off (computer disabled)" is
                                    link order 1 but its computer settings are disabled
SRV1       Servers                  "Servers Signing On" (link order 1 beats "Servers Signing
                                    Off", order 2); AD/SYSVOL version mismatch note
SRV2       Servers/Tier1            "Tier1 Signing Off": the child OU beats Servers; the
                                    disabled link "Tier1 Disabled Link On" (order 1) is ignored
WS1        Workstations             "WS Signing Enforced" (OU beats the domain's "Domain
                                    Signing Off")
WS2        Workstations/Tier2       "WS Signing Enforced": an enforced parent link applies under
                                    blocked inheritance and beats the child's "Tier2 Signing Off"
WS3        Workstations/Tier2       (same OU as WS2)
EXCH1      Exchange                 unknown: "Exchange WMI Signing On" has a WMI filter;
                                    "Ghost Policy" (order 2) has no SYSVOL folder
SCCM1      SCCM (Site Servers)      "SCCM Signing On (filtered)": Apply granted to the group
SCCM2      SCCM                     "Domain Signing Off": not in the filtered group
SCCM3      SCCM (Site Servers,      "Domain Signing Off": Apply denied to Signing Exempt
           Signing Exempt)
LOOSE1     CN=Computers             "Domain Signing Off" (only the domain's links apply)
=========  =======================  ==========================================================

Tier2 blocks inheritance, so the domain's non-enforced links do not reach WS2/WS3. DNS: SRV1
points at a lab smbd with ``server signing = mandatory`` (wire agrees), WS1 and SRV2 at one
with defaults (WS1 drifts: policy on, wire off; SRV2 agrees: policy off, wire off).
"""

from __future__ import annotations

from smbsign.codecs.regdata import REG_SZ, encode_data
from smbsign.codecs.registrypol import PolEntry
from smbsign.lab.addomain import (
    SIGNING_SERVER,
    ComputerSpec,
    DomainSpec,
    GpoSpec,
    LinkSpec,
)

ON = ((f"{SIGNING_SERVER}\\RequireSecuritySignature", "4,1"),)
OFF = ((f"{SIGNING_SERVER}\\RequireSecuritySignature", "4,0"),)
AUDITOR = "auditor"
SITE_SERVERS = "SCCM Site Servers"
EXEMPT = "Signing Exempt"
# Member smbd hosts the fixture starts (name -> [global] parameters).
MEMBERS: dict[str, dict[str, str]] = {
    "member-mandatory": {"server signing": "mandatory"},
    "member-default": {},
}
_SAMBA_POL = PolEntry(r"Software\Policies\Samba\smb_conf", "server signing", REG_SZ,
                      encode_data(REG_SZ, "mandatory"))  # fmt: skip


def standard_domain(addresses: dict[str, str]) -> DomainSpec:
    """The standard test domain; ``addresses`` maps MEMBERS names to their lab addresses."""
    g = GpoSpec
    gpos = (
        g("Domain Signing Off", OFF),
        g("DC Signing Off (computer disabled)", OFF, computer_settings_disabled=True),
        g("DC Signing On", ON),
        g("Servers Signing On", ON, version_mismatch=True),
        g("Servers Signing Off", OFF),
        g("Tier1 Disabled Link On", ON),
        g("Tier1 Signing Off", OFF, registry_pol=(_SAMBA_POL,)),
        g("WS Signing Enforced", ON),
        g("Tier2 Signing Off", OFF),
        g("Exchange WMI Signing On", ON, wmi_filter="Exchange servers only"),
        g("Ghost Policy", ON, sysvol_missing=True),
        g("SCCM Signing On (filtered)", ON, apply_only=(SITE_SERVERS,), deny_apply=(EXEMPT,)),
    )
    links = (
        LinkSpec("", "Domain Signing Off"),
        LinkSpec("Domain Controllers", "DC Signing Off (computer disabled)"),
        LinkSpec("Domain Controllers", "DC Signing On"),
        LinkSpec("Servers", "Servers Signing On"),
        LinkSpec("Servers", "Servers Signing Off"),
        LinkSpec("Servers/Tier1", "Tier1 Disabled Link On", disabled=True),
        LinkSpec("Servers/Tier1", "Tier1 Signing Off"),
        LinkSpec("Workstations", "WS Signing Enforced", enforced=True),
        LinkSpec("Workstations/Tier2", "Tier2 Signing Off"),
        LinkSpec("Exchange", "Exchange WMI Signing On"),
        LinkSpec("Exchange", "Ghost Policy"),
        LinkSpec("SCCM", "SCCM Signing On (filtered)"),
    )
    win11 = ("Windows 11 Enterprise", "10.0 (26100)")
    c = ComputerSpec
    computers = (
        c("DC2", "Domain Controllers", os="Windows Server 2022 Standard"),
        c("SRV1", "Servers", address=addresses["member-mandatory"]),
        c("SRV2", "Servers/Tier1", address=addresses["member-default"]),
        c(
            "WS1",
            "Workstations",
            address=addresses["member-default"],
            os=win11[0],
            os_version=win11[1],
        ),
        c("WS2", "Workstations/Tier2", os=win11[0], os_version=win11[1]),
        c("WS3", "Workstations/Tier2", os="Windows 10 Pro", os_version="10.0 (19045)"),
        c("EXCH1", "Exchange", os="Windows Server 2019 Standard", os_version="10.0 (17763)"),
        c("SCCM1", "SCCM", groups=(SITE_SERVERS,)),
        c("SCCM2", "SCCM"),
        c("SCCM3", "SCCM", groups=(SITE_SERVERS, EXEMPT)),
        c("LOOSE1", ""),
    )
    return DomainSpec(
        ous=(
            "Domain Controllers",
            "Servers",
            "Servers/Tier1",
            "Workstations",
            "Workstations/Tier2",
            "Exchange",
            "SCCM",
        ),
        blocked=("Workstations/Tier2",),
        groups=(SITE_SERVERS, EXEMPT),
        users=(AUDITOR,),
        gpos=gpos,
        links=links,
        computers=computers,
    )


def bench_domain(computers: int = 10_000, ous: int = 200, gpos: int = 50) -> DomainSpec:
    """A large domain for the benchmark: ``ous`` OUs (top-level OUs of 20 children each, every
    25th blocked), ``gpos`` GPOs alternating on/off, linked round-robin (every 7th enforced),
    ``computers`` computers spread over the OUs. Build it with ``build_domain(..., local=True)``.
    """
    names = tuple(
        f"Bench{i // 20}" if i % 20 == 0 else f"Bench{i // 20}/Sub{i % 20}" for i in range(ous)
    )
    gpo_specs = tuple(GpoSpec(f"Bench GPO {i}", ON if i % 2 else OFF) for i in range(gpos))
    links = tuple(
        LinkSpec(names[(i * 4) % ous], g.name, enforced=i % 7 == 0) for i, g in enumerate(gpo_specs)
    )
    comps = tuple(ComputerSpec(f"B{i:05d}", names[i % ous]) for i in range(computers))
    return DomainSpec(ous=names, blocked=names[5::25], gpos=gpo_specs, links=links, computers=comps)

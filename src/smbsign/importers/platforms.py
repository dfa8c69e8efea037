"""Which hosts a checklist is written for, as host facts the defaults table understands.

The linter asks "what does an absent value mean on the hosts this checklist targets?"; the
answer comes from ``catalog/defaults.yaml`` (reference.md §3), resolved for representative hosts
of the checklist's platform. A Wazuh policy names its platform by policy id (its requirement
gates on ``ProductName``, docs/reference.md §3.5); a HardeningKitty list by its file name; EDCA
controls target Exchange servers (roles Mailbox/Edge: a Windows Server build). Domain
controllers are left out on purpose: their server-signing "default" is the Default Domain
Controllers Policy (a GPO that writes the value), not a built-in default (docs/reference.md §3.1).
Builds: 19045 Windows 10 22H2, 22631 Windows 11 23H2, 26100 Windows 11 24H2 / Server 2025,
9200/9600/14393/17763/20348 Server 2012/2012 R2/2016/2019/2022.
"""

from __future__ import annotations

from dataclasses import dataclass

from smbsign.model import HostFacts, OsFamily, Role


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    hosts: tuple[HostFacts, ...]

    @property
    def client_os(self) -> bool:
        """True when every host is a workstation (Windows 10/11)."""
        return bool(self.hosts) and all(h.role is Role.WORKSTATION for h in self.hosts)


def _ws(build: int, *editions: str) -> tuple[HostFacts, ...]:
    return tuple(
        HostFacts(
            host=f"{build}/{e}",
            os_family=OsFamily.WINDOWS,
            build=build,
            edition=e,
            role=Role.WORKSTATION,
            sources=("checklist platform",),
        )
        for e in editions or ("Enterprise",)
    )


def _srv(*builds: int) -> tuple[HostFacts, ...]:
    return tuple(
        HostFacts(
            host=f"{b}/ServerStandard",
            os_family=OsFamily.WINDOWS,
            build=b,
            edition="ServerStandard",
            role=Role.MEMBER_SERVER,
            sources=("checklist platform",),
        )
        for b in builds
    )


PLATFORMS: dict[str, Platform] = {
    "win10": Platform("Windows 10 Enterprise", _ws(19045)),
    "win11": Platform("Windows 11 Enterprise (23H2, 24H2)", _ws(22631) + _ws(26100)),
    "win11_23h2": Platform("Windows 11 23H2 Enterprise", _ws(22631)),
    "win11_24h2": Platform(
        "Windows 11 24H2 (Enterprise, Pro, Home)", _ws(26100, "Enterprise", "Professional", "Core")
    ),
    "ws2012": Platform("Windows Server 2012", _srv(9200)),
    "ws2012r2": Platform("Windows Server 2012 R2", _srv(9600)),
    "ws2016": Platform("Windows Server 2016", _srv(14393)),
    "ws2019": Platform("Windows Server 2019", _srv(17763)),
    "ws2022": Platform("Windows Server 2022", _srv(20348)),
    "ws2025": Platform("Windows Server 2025", _srv(26100)),
    "windows_server": Platform("Windows Server 2016-2025", _srv(14393, 17763, 20348, 26100)),
}
#: Wazuh policy ids (``policy.id``) -> platform key.
WAZUH_POLICIES: dict[str, str] = {
    "cis_win10_enterprise": "win10",
    "cis_win11_enterprise": "win11",
    "cis_win2012_non_r2": "ws2012",
    "cis_win2012": "ws2012",  # the id cis_win2012_non_r2.yml itself declares (policy.id)
    "cis_win2012r2": "ws2012r2",
    "cis_win2016": "ws2016",
    "cis_win2019": "ws2019",
    "cis_win2022": "ws2022",
    "cis_win2025": "ws2025",
}
ANY_WINDOWS = Platform(
    "any Windows (platform not named)",
    _ws(19045) + _ws(22631) + _ws(26100, "Enterprise", "Core") + _srv(20348, 26100),
)


def platform(key: str) -> Platform:
    """The platform a checklist names (a platform key or a Wazuh policy id)."""
    return PLATFORMS.get(WAZUH_POLICIES.get(key, key), ANY_WINDOWS)

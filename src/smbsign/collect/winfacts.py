"""Windows host facts from registry values (docs/reference.md §3.5).

Build from ``HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`` ``CurrentBuild`` (never
from ``ProductName``, which says "Windows 10" on Windows 11), edition from ``EditionID``,
role from ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\ProductOptions`` ``ProductType``
(``WinNT`` workstation, ``ServerNT`` server, ``LanmanNT`` domain controller).
"""

from __future__ import annotations

from collections.abc import Mapping

from smbsign.codecs.regdata import RegValue
from smbsign.model import HostFacts, OsFamily, Role

CURRENT_VERSION = "hklm\\software\\microsoft\\windows nt\\currentversion"
PRODUCT_OPTIONS = "hklm\\system\\currentcontrolset\\control\\productoptions"

#: (key id, value name) pairs a registry reader should fetch to build facts.
FACT_VALUES: tuple[tuple[str, str], ...] = (
    (CURRENT_VERSION, "CurrentBuild"),
    (CURRENT_VERSION, "CurrentBuildNumber"),
    (CURRENT_VERSION, "UBR"),
    (CURRENT_VERSION, "EditionID"),
    (CURRENT_VERSION, "ProductName"),
    (CURRENT_VERSION, "InstallationType"),
    (PRODUCT_OPTIONS, "ProductType"),
)

PRODUCT_TYPES: dict[str, Role] = {
    "winnt": Role.WORKSTATION,
    "servernt": Role.MEMBER_SERVER,
    "lanmannt": Role.DOMAIN_CONTROLLER,
}


def _int(value: RegValue) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: RegValue) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def windows_facts(host: str, values: Mapping[str, RegValue], source: str) -> HostFacts | None:
    """Facts from ``values`` keyed by canonical setting id; None when none are present."""
    build = _int(values.get(f"{CURRENT_VERSION}\\currentbuild"))
    if build is None:
        build = _int(values.get(f"{CURRENT_VERSION}\\currentbuildnumber"))
    edition = _str(values.get(f"{CURRENT_VERSION}\\editionid"))
    product = _str(values.get(f"{CURRENT_VERSION}\\productname"))
    ptype = _str(values.get(f"{PRODUCT_OPTIONS}\\producttype"))
    role = PRODUCT_TYPES.get(ptype.lower()) if ptype else None
    if build is None and edition is None and product is None and role is None:
        return None
    return HostFacts(
        host=host,
        os_family=OsFamily.WINDOWS,
        build=build,
        edition=edition,
        role=role,
        product_name=product,
        sources=(source,),
    )

"""Imported checks -> catalog controls, by setting identity (pure; docs/reference.md §1.2, §8).

A check maps to the control whose registry value it *reads* (``check.registry`` key/value, or
the ADMX ``policy_key``) or whose SMB configuration cmdlet property it reads or sets
(``check.cmdlet``, ``desired.cmdlet``), compared as canonical ids (:mod:`smbsign.regpath`,
``model.cmdlet_setting``), never by the check's id or title: Wazuh ids drift between releases
and upstream rules sometimes read another value than their title says (reference.md §8). What the
catalog's framework files say about the same id (``wazuh-sca``: ``<policy>:<check id>``;
``edca``; CIS / Microsoft baseline / STIG ids for HardeningKitty lists) is looked up
separately, as a cross-check for the linter. What these lookups read of the catalog is indexed
once per catalog (:mod:`smbsign.importers.catalog_index`).
"""

from __future__ import annotations

from dataclasses import dataclass

from smbsign.catalog import Catalog
from smbsign.importers.catalog_index import CatalogIndex, catalog_index
from smbsign.importers.catalog_index import control_index as control_index  # its old home
from smbsign.importers.model import ImportedCheck, ImportedPolicy, Target
from smbsign.importers.platforms import WAZUH_POLICIES

#: Platform key -> the catalog's CIS benchmark framework file.
CIS_FRAMEWORKS: dict[str, str] = {
    "win10": "cis-windows-10",
    "win11": "cis-windows-11",
    "win11_23h2": "cis-windows-11",
    "win11_24h2": "cis-windows-11",
    "ws2012": "cis-windows-server-2012",
    "ws2012r2": "cis-windows-server-2012-r2",
    "ws2016": "cis-windows-server-2016",
    "ws2019": "cis-windows-server-2019",
    "ws2022": "cis-windows-server-2022",
    "ws2025": "cis-windows-server-2025",
}
NIST_FRAMEWORK = "nist-800-53"
NIST_KEYS = ("nist_800_53", "nist_sp_800-53", "800-53")


@dataclass(frozen=True, slots=True)
class MappedCheck:
    """A check with the control each of its targets reads (None: no control for it)."""

    check: ImportedCheck
    targets: tuple[tuple[Target, str | None], ...]
    listed: tuple[str, ...]  # controls the catalog's framework file names for this id
    listed_as: str  # "wazuh-sca cis_win2016:16030", "" when not listed

    @property
    def controls(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for _, c in self.targets if c))


def _framework_lookup(
    index: CatalogIndex, policy: ImportedPolicy, check: ImportedCheck
) -> tuple[tuple[str, ...], str]:
    candidates: list[tuple[str, str]] = []
    if policy.kind in ("wazuh_policy", "wazuh_export") and policy.policy_id:
        candidates.append(("wazuh-sca", f"{policy.policy_id}:{check.check_id}"))
    elif policy.kind == "edca":
        candidates.append(("edca", check.check_id))
    elif policy.kind == "hardeningkitty":
        name = policy.name.lower()
        if "msft" in name or "security_baseline" in name:
            candidates.append(("microsoft-baseline", check.check_id))
        elif "stig" in name:
            candidates.append(("disa-stig", check.check_id))
        elif "cis" in name and policy.platform in CIS_FRAMEWORKS:
            candidates.append((CIS_FRAMEWORKS[policy.platform], check.check_id))
    for fw_id, req_id in candidates:
        controls = index.requirement(fw_id, req_id)
        if controls is not None:
            return controls, f"{fw_id} {req_id}"
    return (), ""


def map_policy(policy: ImportedPolicy, catalog: Catalog) -> list[MappedCheck]:
    """Every check of ``policy`` with the controls its targets read."""
    index = catalog_index(catalog)
    settings = index.settings
    out = []
    for check in policy.checks:
        listed, listed_as = _framework_lookup(index, policy, check)
        out.append(
            MappedCheck(
                check,
                tuple((t, settings.get(t.setting.lower())) for t in check.targets),
                listed,
                listed_as,
            )
        )
    return out


def _index(catalog: Catalog | CatalogIndex) -> CatalogIndex:
    return catalog if isinstance(catalog, CatalogIndex) else catalog_index(catalog)


def cis_control(catalog: Catalog | CatalogIndex, platform: str, cis_id: str) -> tuple[str, ...]:
    """Controls the platform's CIS framework file maps ``cis_id`` to (() if not listed)."""
    if not cis_id:
        return ()
    fw_id = CIS_FRAMEWORKS.get(WAZUH_POLICIES.get(platform, platform), "")
    return _index(catalog).requirement(fw_id, cis_id) or ()


def nist_ids(catalog: Catalog | CatalogIndex, control_id: str) -> frozenset[str]:
    """NIST SP 800-53 ids the catalog maps ``control_id`` to."""
    return _index(catalog).requirements_naming(NIST_FRAMEWORK, control_id)


def nist_base(ident: str) -> str:
    """``SC-8(1)`` -> ``SC-8`` (enhancements compare with their base control)."""
    return ident.strip().split("(", 1)[0].strip().upper()

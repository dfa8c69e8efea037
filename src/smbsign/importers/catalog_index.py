"""What the mapping and the linter look up in a catalog, computed once per catalog (pure).

:func:`map_policy <smbsign.importers.mapping.map_policy>` and :func:`lint
<smbsign.importers.lint.lint>` ask the same questions of the catalog for every check of every
file: which control reads this setting id, which side a registry key belongs to, which control a
Security Options name is, what a framework requirement maps to, what a default is on a host.
The answers depend on the catalog only, so :func:`catalog_index` builds them once per catalog
and keeps the last few (keyed by the catalog's *identity*: a :class:`~smbsign.catalog.Catalog`
is immutable, and a catalog restricted with ``only`` is another object with its own index).
Nothing is built at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from smbsign.catalog import Catalog, resolve_default
from smbsign.catalog.schema import Control, Side
from smbsign.catalog.values import key_sides
from smbsign.importers import expect
from smbsign.importers.model import Expectation, cmdlet_setting
from smbsign.importers.platforms import Platform
from smbsign.model import HostFacts
from smbsign.regpath import setting_id

__all__ = ["CatalogIndex", "HostDefault", "catalog_index", "control_index", "name_key"]

#: How many catalogs keep their index (the packaged one, a restricted one, tests' own).
CACHED_CATALOGS = 4

_NOT_NAME = re.compile(r"[^a-z0-9]+")

#: A host, the default of a control's setting on it as an int (None: not known) and why.
HostDefault = tuple[HostFacts, int | None, str]


def name_key(name: str) -> str:
    """A Security Options name compared the way SecurityPolicyDsc spells it (``Microsoft
    network server: Digitally sign communications (always)`` ->
    ``microsoft_network_server_digitally_sign_communications_always``)."""
    return _NOT_NAME.sub("_", name.lower()).strip("_")


def control_index(controls: Mapping[str, Control]) -> dict[str, str]:
    """Canonical setting id -> control id: the registry value a control checks (and its ADMX
    ``policy_key``), and the SMB configuration cmdlet property it checks or sets."""
    index: dict[str, str] = {}
    for cid, control in controls.items():
        reg = control.check.registry
        if reg is not None:
            index.setdefault(setting_id(reg.key, reg.value), cid)
            if reg.policy_key:
                index.setdefault(setting_id(reg.policy_key, reg.value), cid)
        cmd = control.check.cmdlet
        if cmd is not None:
            index.setdefault(cmdlet_setting(cmd.cmdlet, cmd.property), cid)
        put = control.desired.cmdlet
        if put is not None:
            index.setdefault(cmdlet_setting(put.cmdlet, put.parameter), cid)
    return index


@dataclass(frozen=True, slots=True)
class CatalogIndex:
    """The catalog-derived lookups of the mapping and the linter (one catalog)."""

    catalog: Catalog
    #: Canonical setting id -> control id (:func:`control_index`).
    settings: Mapping[str, str]
    #: Canonical registry key -> side (:func:`smbsign.catalog.values.key_sides`).
    sides: Mapping[str, Side]
    #: :func:`name_key` of ``desired.security_option.dsc_name`` -> control id.
    names: Mapping[str, str]
    #: Framework id -> requirement id -> its controls (the first requirement of that id).
    requirements: Mapping[str, Mapping[str, tuple[str, ...]]]
    #: Framework id -> control id -> ids of the requirements that name it.
    naming: Mapping[str, Mapping[str, frozenset[str]]]
    # Answers computed on first use. Their keys are bounded: hosts and platforms are the
    # checklist platforms of importers.platforms (constants), settings the index's own.
    _defaults: dict[tuple[str, HostFacts], tuple[int | None, str]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _expectations: dict[tuple[str, str], Expectation | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    # (control id, id of the platform) -> (that platform, kept so that its id is not reused,
    # and the defaults on its hosts).
    _platforms: dict[tuple[str, int], tuple[Platform, tuple[HostDefault, ...]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def requirement(self, framework_id: str, requirement_id: str) -> tuple[str, ...] | None:
        """Controls of the framework's requirement ``requirement_id`` (None: not listed)."""
        return self.requirements.get(framework_id, {}).get(requirement_id)

    def requirements_naming(self, framework_id: str, control_id: str) -> frozenset[str]:
        """Ids of the framework's requirements that name ``control_id``."""
        return self.naming.get(framework_id, {}).get(control_id, frozenset())

    def default_on(self, control: Control, host: HostFacts) -> tuple[int | None, str]:
        """(default of ``control`` on ``host`` as an int, None when not known; explanation),
        from the catalog's defaults table."""
        key = (control.default_key or "", host)
        got = self._defaults.get(key)
        if got is None:
            res = resolve_default(key[0], host, table=self.catalog.defaults)
            got = (expect.parse_int(res.value) if res.known else None), res.reason
            self._defaults[key] = got
        return got

    def platform_defaults(self, control: Control, platform: Platform) -> tuple[HostDefault, ...]:
        """The default of ``control`` on each host of ``platform`` the control applies to
        (Windows, its roles and minimum build), in the platform's order."""
        key = (control.id, id(platform))
        got = self._platforms.get(key)
        if got is None or got[0] is not platform:
            hosts = (h for h in platform.hosts if _applies(control, h))
            got = platform, tuple((h, *self.default_on(control, h)) for h in hosts)
            self._platforms[key] = got
        return got[1]

    def control_expectation(self, control: Control, setting: str) -> Expectation | None:
        """The control's registry expectation normalised over ``setting``'s domain
        (:func:`smbsign.importers.expect.control_expectation`; None without a registry check)."""
        reg = control.check.registry
        if reg is None:
            return None
        key = (control.id, setting.lower())  # the domain is looked up lower-cased
        if key not in self._expectations:
            self._expectations[key] = expect.control_expectation(reg.expected, setting)
        return self._expectations[key]


def _applies(control: Control, host: HostFacts) -> bool:
    app = control.applies_to
    role_ok = host.role is None or host.role.value in app.roles
    build_ok = app.min_build is None or host.build is None or host.build >= app.min_build
    return "windows" in app.os_families and role_ok and build_ok


def build_index(catalog: Catalog) -> CatalogIndex:
    """Compute the index of ``catalog`` (use :func:`catalog_index`, which keeps it)."""
    controls = catalog.controls
    names = {
        name_key(c.desired.security_option.dsc_name): cid
        for cid, c in controls.items()
        if c.desired.security_option is not None
    }
    requirements: dict[str, Mapping[str, tuple[str, ...]]] = {}
    naming: dict[str, Mapping[str, frozenset[str]]] = {}
    for fw_id, fw in catalog.frameworks.items():
        by_id: dict[str, tuple[str, ...]] = {}
        named: dict[str, set[str]] = {}
        for req in fw.requirements:
            by_id.setdefault(req.id, tuple(req.controls))
            for cid in req.controls:
                named.setdefault(cid, set()).add(req.id)
        requirements[fw_id] = MappingProxyType(by_id)
        naming[fw_id] = MappingProxyType({c: frozenset(ids) for c, ids in named.items()})
    return CatalogIndex(
        catalog,
        MappingProxyType(control_index(controls)),
        MappingProxyType(dict(key_sides(controls.values()))),
        MappingProxyType(names),
        MappingProxyType(requirements),
        MappingProxyType(naming),
    )


class _Identity:
    """A catalog as a cache key: equal only to itself (the catalog is not hashable), and it
    holds the catalog, so its ``id`` is not reused while the entry lives."""

    __slots__ = ("catalog",)

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __hash__(self) -> int:
        return id(self.catalog)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.catalog is self.catalog


@lru_cache(maxsize=CACHED_CATALOGS)
def _cached(key: _Identity) -> CatalogIndex:
    return build_index(key.catalog)


def catalog_index(catalog: Catalog) -> CatalogIndex:
    """The index of ``catalog``, built on its first use and kept for the last
    :data:`CACHED_CATALOGS` catalogs."""
    return _cached(_Identity(catalog))


def clear_cache() -> None:
    """Forget every kept index (tests)."""
    _cached.cache_clear()

"""Small shapes the engine modules pass between them (no behaviour beyond lookups)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from smbsign.catalog.schema import Control
from smbsign.engine.readings import canonical_setting
from smbsign.model import HostFacts, OsFamily, Provenance, ScanRecord, SettingValue, Status
from smbsign.regpath import deletion_covers


class CatalogLike(Protocol):
    """What the engine needs of :class:`smbsign.catalog.Catalog`: the controls to judge and
    the defaults table loaded with them (never the packaged one behind the caller's back)."""

    @property
    def controls(self) -> Mapping[str, Control]: ...
    @property
    def defaults(self) -> DefaultsLike: ...


class DefaultLike(Protocol):
    """What the engine needs of :class:`smbsign.catalog.defaults.DefaultResolution`."""

    @property
    def known(self) -> bool: ...
    @property
    def value(self) -> object: ...
    @property
    def label(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def source(self) -> str: ...


class Resolver(Protocol):
    """``DefaultsTable.resolve`` of the catalog being judged: what an absent setting means.

    ``literal`` says whether the configuration has an explicit ``default`` (True) or no value
    (False); it matters for Samba ``server/client min protocol`` (catalog/defaults.yaml).
    """

    def __call__(
        self, default_key: str, facts: HostFacts, /, *, literal: bool | None = None
    ) -> DefaultLike: ...


class DefaultsLike(Protocol):
    """What the engine needs of :class:`smbsign.catalog.defaults.DefaultsTable`."""

    def resolve(
        self, default_key: str, facts: HostFacts, /, *, literal: bool | None = None
    ) -> DefaultLike: ...


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything known of one host, indexed for lookups by canonical setting id."""

    facts: HostFacts
    family: OsFamily | None
    observations: tuple[ScanRecord, ...]
    by_setting: Mapping[str, tuple[tuple[int, SettingValue], ...]]
    resolve: Resolver
    incomplete: tuple[str, ...] = ()  # paths that could not be read
    key_deletions: tuple[tuple[int, SettingValue], ...] = ()  # ``<key>\*`` markers

    @classmethod
    def build(
        cls,
        values: Sequence[SettingValue],
        observations: Sequence[ScanRecord],
        facts: HostFacts,
        family: OsFamily | None,
        resolve: Resolver,
        incomplete: Sequence[str] = (),
    ) -> Evidence:
        index: dict[str, list[tuple[int, SettingValue]]] = {}
        markers: list[tuple[int, SettingValue]] = []
        for order, sv in enumerate(values):
            if sv.deleted and sv.setting.endswith("\\*"):
                markers.append((order, sv))
            else:
                index.setdefault(canonical_setting(sv.setting), []).append((order, sv))
        return cls(
            facts=facts,
            family=family,
            observations=tuple(observations),
            by_setting={k: tuple(v) for k, v in index.items()},
            resolve=resolve,
            incomplete=tuple(incomplete),
            key_deletions=tuple(markers),
        )

    def lookup(self, *settings: str | None) -> list[tuple[int, SettingValue]]:
        """Values of any of ``settings`` (canonicalised), in input order, including the
        key-deletion markers that delete them (docs/collectors.md "Deletions")."""
        out: list[tuple[int, SettingValue]] = []
        for s in settings:
            if s:
                sid = canonical_setting(s)
                out.extend(self.by_setting.get(sid, ()))
                out.extend(m for m in self.key_deletions if deletion_covers(m[1], sid))
        return sorted(out, key=lambda p: p[0])


@dataclass(frozen=True, slots=True)
class Outcome:
    """A verdict before it becomes a :class:`~smbsign.model.Finding`.

    ``by_default`` marks a verdict that rests on the absence of a value (so it becomes
    ``unknown`` when some evidence could not be read).
    """

    status: Status
    observed: str | int | bool | None
    expected: str
    source: Provenance | None
    reason: str
    notes: tuple[str, ...] = field(default=())
    by_default: bool = False

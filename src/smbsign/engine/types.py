"""Small shapes the engine modules pass between them (no behaviour beyond lookups)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from smbsign.catalog.schema import Control
from smbsign.engine.readings import canonical_setting
from smbsign.model import HostFacts, OsFamily, Provenance, ScanRecord, SettingValue, Status


class CatalogLike(Protocol):
    """What the engine needs of :class:`smbsign.catalog.Catalog`."""

    @property
    def controls(self) -> Mapping[str, Control]: ...


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


Resolver = Callable[[str, HostFacts], DefaultLike]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything known of one host, indexed for lookups by canonical setting id."""

    facts: HostFacts
    family: OsFamily | None
    observations: tuple[ScanRecord, ...]
    by_setting: Mapping[str, tuple[tuple[int, SettingValue], ...]]
    resolve: Resolver
    incomplete: tuple[str, ...] = ()  # paths that could not be read

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
        for order, sv in enumerate(values):
            index.setdefault(canonical_setting(sv.setting), []).append((order, sv))
        return cls(
            facts=facts,
            family=family,
            observations=tuple(observations),
            by_setting={k: tuple(v) for k, v in index.items()},
            resolve=resolve,
            incomplete=tuple(incomplete),
        )

    def lookup(self, *settings: str | None) -> list[tuple[int, SettingValue]]:
        """Values of any of ``settings`` (canonicalised), in input order."""
        out: list[tuple[int, SettingValue]] = []
        for s in settings:
            if s:
                out.extend(self.by_setting.get(canonical_setting(s), ()))
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

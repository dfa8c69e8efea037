"""The value that applies when a setting is absent (``defaults.yaml``; docs/reference.md §3).

A default depends on OS family, build, edition and role (docs/reference.md §3.1-3.5). The table is
data; this module validates it and resolves one entry for one host:

* rules are tried in order, the first that holds gives the answer;
* a condition on a fact the host does not report is *undecided*; if an undecided rule before
  the matching one would answer differently, the default is unknown with a reason
  ("default depends on build/edition"), never a guess (docs/reference.md §3.4);
* a control has one ``default_key`` for its Windows and Samba checks, so an entry names its
  ``counterparts`` for the other OS family;
* Samba ``server/client min protocol``: an explicit ``default`` means "no minimum" while an
  absent parameter means SMB2_02 (observed, 4.17.12), so the caller must say which it has
  (``literal``); when it does not, the answer is unknown rather than a wrong pass.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smbsign.catalog._yaml import load_mapping, validation_message
from smbsign.catalog.schema import OsName, RoleName
from smbsign.errors import CatalogError
from smbsign.model import HostFacts, Role

_PLACEHOLDERS = frozenset({"build", "edition", "role", "samba_version"})
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Strict):
    """Conditions of one rule; all must hold. Unset conditions always hold."""

    roles: tuple[RoleName, ...] | None = None
    build_min: int | None = None
    build_max: int | None = None
    product: Literal["client", "server"] | None = None
    editions: tuple[str, ...] | None = None
    edition_prefixes: tuple[str, ...] | None = None
    smb1_installed: bool | None = None
    samba_min: str | None = Field(default=None, pattern=r"^\d+\.\d+(\.\d+)?$")
    samba_before: str | None = Field(default=None, pattern=r"^\d+\.\d+(\.\d+)?$")

    def describe(self) -> str:
        """Human-readable conditions (``always`` when there are none)."""
        parts = []
        if self.roles:
            parts.append("role " + "/".join(self.roles))
        if self.build_min is not None or self.build_max is not None:
            lo = "" if self.build_min is None else str(self.build_min)
            hi = "" if self.build_max is None else str(self.build_max)
            parts.append(
                f"build {lo}-{hi}" if lo and hi else f"build >= {lo}" if lo else f"build <= {hi}"
            )
        if self.product:
            parts.append(f"{self.product} SKU")
        if self.editions:
            parts.append("edition " + "/".join(self.editions))
        if self.edition_prefixes:
            parts.append("edition " + "/".join(p + "*" for p in self.edition_prefixes))
        if self.smb1_installed is not None:
            parts.append(
                "SMB1 feature " + ("installed" if self.smb1_installed else "not installed")
            )
        if self.samba_min:
            parts.append(f"Samba >= {self.samba_min}")
        if self.samba_before:
            parts.append(f"Samba < {self.samba_before}")
        return ", ".join(parts) or "always"


class Rule(_Strict):
    """One row: conditions -> value (or ``unknown`` with the reason it is not known)."""

    when: When = Field(default_factory=When)
    value: int | str | bool | None = None
    unknown: str | None = None
    label: str = Field(min_length=1)
    reason: str = ""
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _value_or_unknown(self) -> Rule:
        if (self.value is None) == (self.unknown is None):
            raise ValueError("exactly one of 'value' and 'unknown' must be set")
        if self.value is not None and not self.reason.strip():
            raise ValueError("a rule with a value needs a 'reason'")
        for text in (self.label, self.unknown or "", self.reason):
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
            if names - _PLACEHOLDERS:
                raise ValueError(f"unknown placeholder(s) {sorted(names - _PLACEHOLDERS)}")
        return self


class Entry(_Strict):
    os_family: OsName
    setting: str = Field(min_length=1)
    counterparts: dict[OsName, str] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = Field(min_length=1)
    literal_default: tuple[Rule, ...] | None = None


class _DefaultsFile(_Strict):
    version: Literal[1]
    anchors: dict[str, Any] | None = Field(default=None, alias="x-anchors")
    entries: dict[str, Entry]


@dataclass(frozen=True, slots=True)
class DefaultResolution:
    """What an absent setting means on one host."""

    known: bool
    value: int | str | bool | None  # None when not known
    label: str  # e.g. "default(26100/Enterprise/workstation)"
    reason: str  # why, or why unknown ("default depends on edition/build")
    source: str  # docs/reference.md citation / doc URL


def _version(text: str | None) -> tuple[int, int, int] | None:
    m = _VERSION.match(text or "")
    return None if m is None else (int(m[1]), int(m[2]), int(m[3] or 0))


def product_of(facts: HostFacts) -> str | None:
    """``client`` or ``server`` SKU: from the role, else from EditionID (docs/reference.md §3.5).

    ``ServerRdsh`` (Windows Enterprise multi-session) is a client OS with a server-like
    EditionID: not decided.
    """
    edition = (facts.edition or "").strip().lower()
    if edition == "serverrdsh":
        return None
    if facts.role is Role.WORKSTATION:
        return "client"
    if facts.role in (Role.MEMBER_SERVER, Role.DOMAIN_CONTROLLER):
        return "server"
    if edition:
        return "server" if edition.startswith("server") else "client"
    return None


def _match(w: When, facts: HostFacts) -> tuple[bool | None, set[str]]:
    """True / False, or None (undecided) with the names of the facts that were missing."""
    missing: set[str] = set()
    edition = (facts.edition or "").strip().lower()
    checks: list[tuple[bool, str, bool | None]] = []  # (applies, fact name, result)
    role = facts.role.value if facts.role else None
    checks.append((w.roles is not None, "role", None if role is None else role in (w.roles or ())))
    build = facts.build
    if w.build_min is not None or w.build_max is not None:
        ok = (
            None
            if build is None
            else (
                (w.build_min is None or build >= w.build_min)
                and (w.build_max is None or build <= w.build_max)
            )
        )
        checks.append((True, "build", ok))
    if w.product is not None:
        prod = product_of(facts)
        checks.append((True, "role/edition", None if prod is None else prod == w.product))
    if w.editions is not None:
        names = {e.lower() for e in w.editions}
        checks.append((True, "edition", None if not edition else edition in names))
    if w.edition_prefixes is not None:
        pre = tuple(p.lower() for p in w.edition_prefixes)
        checks.append((True, "edition", None if not edition else edition.startswith(pre)))
    if w.smb1_installed is not None:
        inst = facts.smb1_installed
        checks.append(
            (True, "SMB1 feature state", None if inst is None else inst == w.smb1_installed)
        )
    if w.samba_min is not None or w.samba_before is not None:
        ver = _version(facts.samba_version)
        ok = (
            None
            if ver is None
            else (
                (w.samba_min is None or ver >= (_version(w.samba_min) or ver))
                and (w.samba_before is None or ver < (_version(w.samba_before) or ver))
            )
        )
        checks.append((True, "Samba version", ok))
    for applies, name, result in checks:
        if not applies:
            continue
        if result is False:
            return False, set()
        if result is None:
            missing.add(name)
    return (None if missing else True), missing


def _fill(template: str, facts: HostFacts) -> str:
    values = {
        "build": facts.build,
        "edition": facts.edition,
        "role": facts.role.value if facts.role else None,
        "samba_version": facts.samba_version,
    }
    return template.format_map({k: "?" if v is None else v for k, v in values.items()})


def _outcome(rule: Rule) -> tuple[str, object]:
    return (
        ("unknown", None) if rule.unknown is not None else (type(rule.value).__name__, rule.value)
    )


#: Label of a default that depends on facts the host does not report: it names no rule, as
#: the rules' own labels state their conditions ("SMB1 feature not installed", "DDCP").
_UNDECIDED_LABEL = {
    "windows": "default({build}/{edition}/{role})",
    "samba": "default(samba {samba_version}/{role})",
}


def _evaluate(
    rules: tuple[Rule, ...], facts: HostFacts, key: str, family: str
) -> DefaultResolution:
    undecided: list[Rule] = []
    missing: set[str] = set()
    chosen: Rule | None = None
    for rule in rules:
        result, miss = _match(rule.when, facts)
        if result is None:
            undecided.append(rule)
            missing |= miss
        elif result:
            chosen = rule
            break
    if chosen is not None and all(_outcome(r) == _outcome(chosen) for r in undecided):
        label = _fill(chosen.label, facts)
        if chosen.unknown is not None:
            return DefaultResolution(
                False, None, label, _fill(chosen.unknown, facts), chosen.source
            )
        return DefaultResolution(
            True, chosen.value, label, _fill(chosen.reason, facts), chosen.source
        )
    if not undecided:
        return DefaultResolution(
            False, None, f"default({key})", "no default is recorded for this host", ""
        )
    sources = list(dict.fromkeys(r.source for r in [*undecided, *([chosen] if chosen else [])]))
    return DefaultResolution(
        False,
        None,
        _fill(_UNDECIDED_LABEL.get(family, f"default({key})"), facts),
        "default depends on "
        + "/".join(sorted({part for name in missing for part in name.split("/")}))
        + " (not known for this host)",
        "; ".join(sources),
    )


@dataclass(frozen=True, slots=True)
class DefaultsTable:
    """The validated defaults table (``entries`` keyed by ``default_key``)."""

    entries: Mapping[str, Entry]

    def resolve(
        self, default_key: str, facts: HostFacts, *, literal: bool | None = None
    ) -> DefaultResolution:
        """What ``default_key`` means on the host ``facts`` describes (see module doc)."""
        entry = self.entries.get(default_key)
        if entry is None:
            return DefaultResolution(
                False, None, f"default({default_key})", f"no defaults entry {default_key!r}", ""
            )
        family = facts.os_family.value if facts.os_family is not None else None
        if family is None and entry.counterparts:
            return DefaultResolution(
                False,
                None,
                f"default({default_key})",
                "default depends on the OS family (not known for this host)",
                "docs/reference.md §3.5",
            )
        if family is not None and family != entry.os_family:
            other = entry.counterparts.get(family)  # type: ignore[call-overload]
            if other is None:
                return DefaultResolution(
                    False,
                    None,
                    f"default({default_key})",
                    f"{default_key} is a {entry.os_family} setting and the host is {family}",
                    "",
                )
            default_key, entry = other, self.entries[other]
        rules = entry.rules
        if entry.literal_default is not None:
            if literal is None:
                return DefaultResolution(
                    False,
                    None,
                    f"default({default_key})",
                    f"an absent {entry.setting} and an explicit 'default' mean different things; "
                    "the caller did not say which it has",
                    entry.literal_default[0].source,
                )
            if literal:
                rules = entry.literal_default
        return _evaluate(rules, facts, default_key, entry.os_family)


def parse_defaults(data: Mapping[str, Any], where: str = "defaults.yaml") -> DefaultsTable:
    """Validate a parsed defaults document; :class:`CatalogError` on any problem."""
    try:
        doc = _DefaultsFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{where}: {validation_message(exc)}") from None
    problems = []
    for key, entry in doc.entries.items():
        if not key.startswith(entry.os_family + ":"):
            problems.append(f"entry {key!r} must start with '{entry.os_family}:'")
        for fam, other in entry.counterparts.items():
            target = doc.entries.get(other)
            if target is None or target.os_family != fam or fam == entry.os_family:
                problems.append(
                    f"entry {key!r}: counterpart {fam} -> {other!r} is not a {fam} entry"
                )
    if problems:
        raise CatalogError(f"{where}: " + "; ".join(problems))
    return DefaultsTable(MappingProxyType(dict(doc.entries)))


def load_defaults(path: Traversable | None = None) -> DefaultsTable:
    """Read ``defaults.yaml`` (the packaged file when ``path`` is None; not cached: the
    packaged table in use is the one :func:`smbsign.catalog.load_catalog` loads and keeps)."""
    if path is None:
        path = resources.files("smbsign.catalog") / "defaults.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path.name}: cannot read: {exc}") from None
    return parse_defaults(load_mapping(text, path.name), path.name)


def resolve_default(
    default_key: str,
    facts: HostFacts,
    *,
    literal: bool | None = None,
    table: DefaultsTable | None = None,
) -> DefaultResolution:
    """What an absent ``default_key`` setting means on the host ``facts`` describes.

    ``literal``: for Samba parameters whose explicit ``default`` differs from an absent line
    (``server/client min protocol``), True = the configuration says ``default``, False = the
    parameter is absent; None = not said (such entries then resolve to unknown).
    ``table``: the defaults to use; None = those of the packaged catalog (a convenience for
    tools and tests: the engine always resolves through the ``Catalog`` it is given).
    """
    if table is None:
        from smbsign.catalog.loader import load_catalog  # the loader imports this module

        table = load_catalog().defaults
    return table.resolve(default_key, facts, literal=literal)

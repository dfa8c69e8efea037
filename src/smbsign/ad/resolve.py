"""Which GPO decides which value for one computer, as the Group Policy client computes it (pure).

Two steps, each from [MS-GPOL]:

1. :func:`gpo_order` builds the ordered list of GPO links from the computer's scopes of
   management (SOMs). The SOM list starts at the computer's own OU, walks up to the domain
   ([MS-GPOL] 3.2.5.1.3 Domain SOM Search) and ends with the site (3.2.5.1.4 Site Search).
   3.2.5.1.5 GPO Search then, SOM by SOM and link by link in ``gPLink`` string order, skips
   disabled links, *prepends* each non-enforced link to the non-enforced list (unless a lower
   SOM blocked inheritance: ``gPOptions`` = 1 sets Allow-Enforced-GPOs-Only for every SOM
   after it) and *appends* each enforced link to the enforced list; the GPLink list is the
   non-enforced list followed by the enforced list. GPOs are processed in that order
   (3.2.5.2: local, site, domain, OUs from the top down), so a later entry overwrites an
   earlier one: the result is ordered from the lowest to the highest precedence. Consequences:
   the first entry of one SOM's ``gPLink`` (link order 1) wins among its non-enforced links;
   an enforced link is never overridden by a non-enforced one; among enforced links the one
   higher in the tree wins.
2. :func:`decide` takes the GPOs that apply (after [MS-GPOL] 3.2.5.1.6 filtering, done by the
   caller: disabled computer settings, security filtering, empty GPOs) and, per setting and
   per client-side extension, picks the value of the highest-precedence GPO that sets it.
   A GPO whose application is uncertain (a WMI filter, [MS-GPOL] 3.2.5.1.7, or security
   filtering that could not be evaluated) makes the value uncertain unless the next GPO
   that certainly applies sets the same value.

The local GPO ranks below every domain GPO (3.2.5.2) and is not read from the directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from smbsign.ad.gplink import GpLink, blocks_inheritance
from smbsign.engine.readings import canonical_setting
from smbsign.model import SettingValue


class SomKind(StrEnum):
    SITE = "site"
    DOMAIN = "domain"
    OU = "ou"


@dataclass(frozen=True, slots=True)
class Som:
    """A scope of management: its DN, kind, parsed ``gPLink`` and ``gPOptions``."""

    dn: str
    kind: SomKind
    links: tuple[GpLink, ...] = ()
    gpoptions: int = 0


@dataclass(frozen=True, slots=True)
class AppliedLink:
    """One entry of the ordered GPLink list: a GPO reached through a link on ``som_dn``."""

    guid: str
    gpo_dn: str
    som_dn: str
    som_kind: SomKind
    enforced: bool
    link_index: int  # position in the SOM's gPLink string (0 = link order 1)


def gpo_order(soms: Sequence[Som]) -> tuple[AppliedLink, ...]:
    """[MS-GPOL] 3.2.5.1.5 on ``soms`` (closest OU first, then parents, domain, site).

    Returns the GPLink list, lowest precedence first.
    """
    non_enforced: list[AppliedLink] = []
    enforced: list[AppliedLink] = []
    enforced_only = False
    for som in soms:
        for link in som.links:
            if link.disabled:
                continue
            item = AppliedLink(
                guid=link.guid,
                gpo_dn=link.gpo_dn,
                som_dn=som.dn,
                som_kind=som.kind,
                enforced=link.enforced,
                link_index=link.index,
            )
            if item.enforced:
                enforced.append(item)
            elif not enforced_only:
                non_enforced.insert(0, item)
        if blocks_inheritance(som.gpoptions):
            enforced_only = True
    return (*non_enforced, *enforced)


def blocked_links(soms: Sequence[Som]) -> tuple[tuple[GpLink, str], ...]:
    """Enabled, non-enforced links dropped by a block of inheritance, with the blocking SOM."""
    out: list[tuple[GpLink, str]] = []
    blocker = ""
    for som in soms:
        if blocker:
            out.extend((lk, blocker) for lk in som.links if not lk.disabled and not lk.enforced)
        if blocks_inheritance(som.gpoptions) and not blocker:
            blocker = som.dn
    return tuple(out)


class Applies(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class GpoStatus:
    """Whether a GPO applies to the computer ([MS-GPOL] 3.2.5.1.6, 3.2.5.1.7) and why."""

    applies: Applies
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A GPO in the computer's list with the values its files set for one extension."""

    link: AppliedLink
    name: str
    status: GpoStatus
    values: tuple[SettingValue, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """The deciding GPO for one setting as one extension writes it."""

    setting: str  # canonical setting id
    kind: str  # provenance kind of the file (gpttmpl, registrypol)
    winner: Candidate
    values: tuple[SettingValue, ...]  # the winner's values for this setting, in file order
    chain: tuple[Candidate, ...]  # every GPO setting it, highest precedence first
    uncertain: str = ""  # why the winner may not apply ("" when it certainly does)
    notes: tuple[str, ...] = field(default=())


def _final(values: Sequence[SettingValue]) -> tuple[object, str, bool]:
    last = values[-1]
    return (last.value, last.value_type, last.deleted)


def _soft(values: Sequence[SettingValue]) -> bool:
    """A Registry.pol ``**soft.`` value is written only where none exists ([MS-GPREG] 2.2.1)."""
    return all(v.provenance.location.endswith("(soft)") for v in values)


def label(link: AppliedLink) -> str:
    tail = ", enforced" if link.enforced else ""
    return f"{{{link.guid}}} linked to {link.som_dn} (link order {link.link_index + 1}{tail})"


def decide(applied: Sequence[Candidate]) -> list[Decision]:
    """Per (setting, extension), the deciding GPO of ``applied`` (lowest precedence first).

    Candidates whose status is ``NO`` must already be left out.
    """
    by_key: dict[tuple[str, str], list[tuple[Candidate, list[SettingValue]]]] = {}
    for cand in applied:
        mine: dict[tuple[str, str], list[SettingValue]] = {}
        for v in cand.values:
            mine.setdefault((canonical_setting(v.setting), v.provenance.kind), []).append(v)
        for key, vals in mine.items():
            by_key.setdefault(key, []).append((cand, vals))
    out: list[Decision] = []
    for (setting, kind), entries in by_key.items():
        ranked = list(reversed(entries))  # highest precedence first
        hard = [e for e in ranked if not _soft(e[1])]
        winner, wvals = (hard or ranked)[0]
        uncertain = ""
        if winner.status.applies is Applies.UNKNOWN:
            below = ranked[ranked.index((winner, wvals)) + 1 :]
            sure = next((e for e in below if e[0].status.applies is Applies.YES), None)
            if sure is None or _final(sure[1]) != _final(wvals):
                uncertain = winner.status.reason
        notes = _notes(winner, wvals, ranked)
        out.append(
            Decision(
                setting=setting,
                kind=kind,
                winner=winner,
                values=tuple(wvals),
                chain=tuple(c for c, _ in ranked),
                uncertain=uncertain,
                notes=notes,
            )
        )
    return out


def _notes(
    winner: Candidate, wvals: list[SettingValue], ranked: list[tuple[Candidate, list[SettingValue]]]
) -> tuple[str, ...]:
    notes: list[str] = []
    for cand, vals in ranked:
        if cand is winner:
            continue
        if _final(vals) == _final(wvals):
            continue
        w, lo = winner.link, cand.link
        notes.append(
            f"GPO {cand.name!r} {label(lo)} sets {_show(vals)}; "
            f"GPO {winner.name!r} {label(w)} has higher precedence ([MS-GPOL] 3.2.5.1.5)"
        )
        if w.enforced and lo.enforced and w.som_dn == lo.som_dn:
            notes.append(
                "two enforced links of one container disagree: [MS-GPOL] 3.2.5.1.5 appends "
                "enforced links in gPLink order, so the later entry is applied last; verify "
                "with gpresult"
            )
    return tuple(dict.fromkeys(notes))


def _show(values: Sequence[SettingValue]) -> str:
    last = values[-1]
    return "a deletion" if last.deleted else repr(last.value)


def candidates(
    order: Iterable[AppliedLink],
    status: dict[str, GpoStatus],
    names: dict[str, str],
    values: dict[str, tuple[SettingValue, ...]],
) -> tuple[list[Candidate], list[tuple[AppliedLink, GpoStatus]]]:
    """Split the GPLink list into candidates that (may) apply and links that do not.

    ``status``, ``names`` and ``values`` are keyed by GPO GUID; a GUID missing from
    ``status`` is unknown (the GPO could not be read).
    """
    kept: list[Candidate] = []
    dropped: list[tuple[AppliedLink, GpoStatus]] = []
    for link in order:
        st = status.get(link.guid, GpoStatus(Applies.UNKNOWN, "the GPO object could not be read"))
        if st.applies is Applies.NO:
            dropped.append((link, st))
            continue
        kept.append(Candidate(link, names.get(link.guid, link.guid), st, values.get(link.guid, ())))
    return kept, dropped

"""Which GPO decides which value for one computer, as the Group Policy client computes it (pure).

Two steps:

1. :func:`gpo_order` builds the ordered list of GPO links from the computer's scopes of
   management (SOMs). The SOM list starts at the computer's own OU, walks up to the domain
   ([MS-GPOL] 3.2.5.1.3 Domain SOM Search) and ends with the site (3.2.5.1.4 Site Search).
   As in [MS-GPOL] 3.2.5.1.5 GPO Search, disabled links are skipped; a SOM whose
   ``gPOptions`` is 1 blocks the non-enforced links of every SOM after it (higher in the
   tree: Allow-Enforced-GPOs-Only); non-enforced links are processed local, site, domain,
   then OUs from the top down (3.2.5.2 GPO Processing Order), and the enforced links after
   all of them, those of the computer's own OU first and the site's last, so an enforced
   link is never overridden by a non-enforced one and a higher enforced link wins over a
   lower one. A later entry overwrites an earlier one: the result runs from the lowest to the
   highest precedence.

   Within one SOM, [MS-GPOL] 2.2.2 says only that the order of ``gPLink`` is the link order.
   The *last* entry is link order 1 (the highest precedence) and is applied last: that is how
   Samba's Group Policy client orders a SOM's links (``libgpo/gpo_ldap.c``
   ``add_gplink_to_gpo_list``, master at 159f753: it walks ``gPLink`` from the last entry to
   the first and pushes each in front, "Within same level of domains and OUs: Link order")
   and why ``samba-tool gpo setlink`` *prepends* a new link, giving it the lowest precedence
   as the Group Policy Management Console does for a new link. (Read literally, the
   prepend-per-link steps of 3.2.5.1.5 would make the first entry win; the implementations
   agree on the last, so that is what is implemented; docs/reference.md §4.1.)
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
    link_order: int  # 1 = the highest precedence in its SOM (the last gPLink entry)


def gpo_order(soms: Sequence[Som]) -> tuple[AppliedLink, ...]:
    """The GPLink list of ``soms`` (closest OU first, then parents, domain, site), lowest
    precedence first (module docstring)."""
    non_enforced: list[list[AppliedLink]] = []
    enforced: list[AppliedLink] = []
    enforced_only = False
    for som in soms:
        block: list[AppliedLink] = []
        count = len(som.links)
        for link in som.links:  # gPLink order: link order count .. 1, applied in this order
            if link.disabled:
                continue
            item = AppliedLink(
                guid=link.guid,
                gpo_dn=link.gpo_dn,
                som_dn=som.dn,
                som_kind=som.kind,
                enforced=link.enforced,
                link_order=count - link.index,
            )
            if item.enforced:
                enforced.append(item)
            elif not enforced_only:
                block.append(item)
        non_enforced.append(block)
        if blocks_inheritance(som.gpoptions):
            enforced_only = True
    ordered = [a for block in reversed(non_enforced) for a in block]
    return (*ordered, *enforced)


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
    return f"{{{link.guid}}} linked to {link.som_dn} (link order {link.link_order}{tail})"


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
            f"GPO {winner.name!r} {label(w)} has higher precedence ([MS-GPOL] 3.2.5.1.5, 3.2.5.2)"
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

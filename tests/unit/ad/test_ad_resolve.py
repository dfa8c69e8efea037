"""GPO precedence per computer ([MS-GPOL] 3.2.5.1.3-3.2.5.1.5, 3.2.5.2)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.ad.gplink import GpLink
from smbsign.ad.resolve import (
    AppliedLink,
    Applies,
    Candidate,
    GpoStatus,
    Som,
    SomKind,
    blocked_links,
    candidates,
    decide,
    gpo_order,
)
from smbsign.model import Layer, Provenance, SettingValue

KEY = (
    "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\RequireSecuritySignature"
)


def link(guid: str, opts: int = 0, index: int = 0) -> GpLink:
    return GpLink(gpo_dn=f"cn={{{guid}}},cn=policies", guid=guid, options=opts, index=index)


def som(dn: str, kind: SomKind, *links: tuple[str, int], block: bool = False) -> Som:
    return Som(dn, kind, tuple(link(g, o, i) for i, (g, o) in enumerate(links)), int(block))


def guids(order: tuple[AppliedLink, ...]) -> list[str]:
    return [a.guid for a in order]


def test_local_site_domain_ou_parent_child_order() -> None:
    soms = [
        som("OU=child,OU=parent,DC=d", SomKind.OU, ("C", 0)),
        som("OU=parent,DC=d", SomKind.OU, ("P", 0)),
        som("DC=d", SomKind.DOMAIN, ("D", 0)),
        som("CN=site", SomKind.SITE, ("S", 0)),
    ]
    assert guids(gpo_order(soms)) == ["S", "D", "P", "C"]  # lowest precedence first


def test_last_gplink_entry_is_link_order_1_and_wins() -> None:
    order = gpo_order([som("OU=a,DC=d", SomKind.OU, ("FIRST", 0), ("SECOND", 0))])
    assert guids(order) == ["FIRST", "SECOND"]  # SECOND is applied last: it wins
    assert [a.link_order for a in order] == [2, 1]


def test_enforced_links_of_one_som_also_follow_link_order() -> None:
    order = gpo_order([som("OU=a,DC=d", SomKind.OU, ("E2", 2), ("E1", 2))])
    assert guids(order) == ["E2", "E1"]


def test_disabled_link_is_skipped_even_when_enforced() -> None:
    order = gpo_order([som("OU=a,DC=d", SomKind.OU, ("X", 1), ("Y", 3), ("Z", 0))])
    assert guids(order) == ["Z"]


def test_block_inheritance_keeps_enforced_parent_links() -> None:
    soms = [
        som("OU=a,DC=d", SomKind.OU, ("OU", 0), block=True),
        som("DC=d", SomKind.DOMAIN, ("DOM", 0), ("DOM_ENF", 2)),
        som("CN=site", SomKind.SITE, ("SITE", 0)),
    ]
    assert guids(gpo_order(soms)) == ["OU", "DOM_ENF"]
    assert [(lk.guid, b) for lk, b in blocked_links(soms)] == [
        ("DOM", "OU=a,DC=d"),
        ("SITE", "OU=a,DC=d"),
    ]


def test_enforced_domain_link_beats_ou_enforced_and_non_enforced() -> None:
    soms = [
        som("OU=a,DC=d", SomKind.OU, ("OU_ENF", 2), ("OU", 0)),
        som("DC=d", SomKind.DOMAIN, ("DOM_ENF", 2)),
    ]
    assert guids(gpo_order(soms)) == ["OU", "OU_ENF", "DOM_ENF"]


def value(path: str, v: int, *, soft: bool = False) -> SettingValue:
    loc = "line 3 (soft)" if soft else "line 3"
    return SettingValue("h", KEY, v, "REG_DWORD", Provenance("gpttmpl", path, loc, Layer.GPO))


def cand(
    guid: str, v: int | None, applies: Applies = Applies.YES, *, enforced: bool = False
) -> Candidate:
    al = AppliedLink(guid, f"cn={{{guid}}}", f"OU={guid}", SomKind.OU, enforced, 1)
    vals = () if v is None else (value(f"\\\\d\\{guid}\\GptTmpl.inf", v),)
    return Candidate(
        al,
        f"name-{guid}",
        GpoStatus(applies, "WMI filter" if applies is Applies.UNKNOWN else ""),
        vals,
    )


def test_decide_picks_highest_precedence_and_explains_the_loser() -> None:
    (d,) = decide([cand("LOW", 0), cand("NONE", None), cand("HIGH", 1)])
    assert d.winner.link.guid == "HIGH" and d.values[0].value == 1
    assert [c.link.guid for c in d.chain] == ["HIGH", "LOW"]
    assert not d.uncertain and any("name-LOW" in n and "sets 0" in n for n in d.notes)


def test_wmi_filtered_winner_is_uncertain_unless_the_next_sure_gpo_agrees() -> None:
    (d,) = decide([cand("LOW", 0), cand("WMI", 1, Applies.UNKNOWN)])
    assert d.winner.link.guid == "WMI" and d.uncertain == "WMI filter"
    (d,) = decide([cand("LOW", 1), cand("WMI", 1, Applies.UNKNOWN)])
    assert d.uncertain == ""
    (d,) = decide([cand("WMI", 1, Applies.UNKNOWN)])
    assert d.uncertain == "WMI filter"


def test_soft_value_loses_to_a_lower_hard_value() -> None:
    low = cand("LOW", 0)
    al = AppliedLink("HIGH", "x", "OU=x", SomKind.OU, False, 1)
    high = Candidate(al, "h", GpoStatus(Applies.YES), (value("p", 1, soft=True),))
    (d,) = decide([low, high])
    assert d.winner.link.guid == "LOW"


def test_candidates_drop_denied_and_unknown_when_unreadable() -> None:
    order = gpo_order([som("OU=a,DC=d", SomKind.OU, ("A", 0), ("B", 0), ("C", 0))])
    kept, dropped = candidates(
        order,
        {"A": GpoStatus(Applies.NO, "computer settings disabled"), "B": GpoStatus(Applies.YES)},
        {},
        {},
    )
    assert [c.link.guid for c in kept] == ["B", "C"] and kept[1].status.applies is Applies.UNKNOWN
    assert [(lk.guid, st.reason) for lk, st in dropped] == [("A", "computer settings disabled")]


# ------------------------------------------------------------------ property tests

_opts = st.sampled_from([0, 0, 0, 1, 2, 3])


@st.composite
def trees(draw: st.DrawFn) -> list[Som]:
    depth = draw(st.integers(1, 4))
    soms: list[Som] = []
    n = 0
    for level in range(depth + 2):  # OUs (closest first), domain, site
        kind = SomKind.OU if level < depth else (SomKind.DOMAIN if level == depth else SomKind.SITE)
        links = []
        for i in range(draw(st.integers(0, 3))):
            links.append(link(f"G{n}", draw(_opts), i))
            n += 1
        block = draw(st.booleans()) if kind is not SomKind.SITE else False
        soms.append(Som(f"{kind}{level}", kind, tuple(links), int(block)))
    return soms


def _level(soms: list[Som], dn: str) -> int:
    return [s.dn for s in soms].index(dn)


@settings(max_examples=400, deadline=None)
@given(trees())
def test_invariants(soms: list[Som]) -> None:
    order = gpo_order(soms)
    pos = {a.guid: i for i, a in enumerate(order)}
    all_links = {lk.guid: (s, lk) for s in soms for lk in s.links}
    # disabled links never apply; each enabled link appears at most once
    assert all(not all_links[g][1].disabled for g in pos)
    assert len(pos) == len(order)
    # enforced links always follow every non-enforced link (never overridden by one)
    seen_enf = False
    for a in order:
        seen_enf = seen_enf or a.enforced
        assert a.enforced or not seen_enf
    # among enforced links, a higher SOM wins (later); among non-enforced, a lower SOM wins
    for a in order:
        for b in order:
            la, lb = _level(soms, a.som_dn), _level(soms, b.som_dn)
            if a.enforced and b.enforced and la > lb:
                assert pos[a.guid] > pos[b.guid]
            if not a.enforced and not b.enforced and la < lb:
                assert pos[a.guid] > pos[b.guid]
            same_kind = a.enforced == b.enforced
            if same_kind and la == lb and a.link_order < b.link_order:
                assert pos[a.guid] > pos[b.guid]  # link order 1 wins within a SOM
    # block inheritance drops exactly the non-enforced links above the first blocking SOM
    first_block = next((i for i, s in enumerate(soms) if s.gpoptions == 1), None)
    for g, (s, lk) in all_links.items():
        if lk.disabled:
            continue
        above_block = first_block is not None and _level(soms, s.dn) > first_block
        assert (g in pos) == (lk.enforced or not above_block)


@settings(max_examples=200, deadline=None)
@given(trees(), st.data())
def test_enforced_domain_value_wins_over_any_ou_value(soms: list[Som], data: st.DataObject) -> None:
    dom = next(s for s in soms if s.kind is SomKind.DOMAIN)
    enf = link("DOMENF", 2, len(dom.links))
    soms = [Som(s.dn, s.kind, (*s.links, enf), s.gpoptions) if s is dom else s for s in soms]
    order = gpo_order(soms)
    cands = [
        Candidate(
            a,
            a.guid,
            GpoStatus(Applies.YES),
            (value(a.guid, 1 if a.guid == "DOMENF" else data.draw(st.integers(0, 5))),),
        )
        for a in order
    ]
    (d,) = decide(cands)
    # only an enforced link higher than the domain (the site) could beat it
    assert d.winner.link.guid == "DOMENF" or (
        d.winner.link.enforced and d.winner.link.som_kind is SomKind.SITE
    )

"""gPLink / gPOptions parsing ([MS-GPOL] 2.2.2)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.ad.gplink import blocks_inheritance, guid_of_dn, parse_gplink, parse_gpoptions
from smbsign.errors import ParseError

G1 = "31B2F340-016D-11D2-945F-00C04FB984F9"
G2 = "6AC1786C-016F-11D2-945F-00C04fB984F9"


def dn(guid: str) -> str:
    return f"cn={{{guid}}},cn=policies,cn=system,DC=lab,DC=test"


def test_two_links_in_string_order_with_flags() -> None:
    text = f"[LDAP://{dn(G1)};0][LDAP://{dn(G2)};3]"
    links = parse_gplink(text)
    assert [lk.guid for lk in links] == [G1, G2.upper()]
    assert [lk.index for lk in links] == [0, 1]
    assert not links[0].disabled and not links[0].enforced
    assert links[1].disabled and not links[1].enforced  # 0x3 behaves as 0x1


def test_enforced_and_case_whitespace_tolerated() -> None:
    text = f"  [ldap://CN={{{G1.lower()}}},CN=Policies,CN=System,DC=lab,DC=test ; 2 ]  "
    (link,) = parse_gplink(text)
    assert link.enforced and link.guid == G1
    assert link.gpo_dn.startswith("CN={")


@pytest.mark.parametrize("empty", [None, "", " ", b" "])
def test_unset_or_blank_is_no_link(empty: str | bytes | None) -> None:
    assert parse_gplink(empty) == ()


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        f"[LDAP://{dn(G1)}]",
        f"[LDAP://{dn(G1)};x]",
        f"[{dn(G1)};0]",
        f"[LDAP://{dn(G1)};0",
        "[LDAP://;0]",
        f"[LDAP://{dn(G1)};99999999999]",
    ],
)
def test_malformed_raises_one_line_parse_error(bad: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_gplink(bad)
    assert "\n" not in str(exc.value) and str(exc.value).startswith("gPLink: ")


def test_non_guid_dn_keeps_link_with_empty_guid() -> None:
    (link,) = parse_gplink("[LDAP://cn=odd,cn=policies,DC=x;0]")
    assert link.guid == "" and guid_of_dn(link.gpo_dn) == ""


def test_gpoptions() -> None:
    assert parse_gpoptions(None) == 0
    assert parse_gpoptions("1") == 1 and blocks_inheritance(1)
    assert parse_gpoptions(b" 0 ") == 0 and not blocks_inheritance(0)
    assert not blocks_inheritance(3)  # [MS-GPOL] 2.2.2 names the value 1 only
    with pytest.raises(ParseError):
        parse_gpoptions("yes")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_fuzz_never_raises_anything_but_parse_error(data: str | bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_gplink(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.uuids(), st.integers(0, 3)), max_size=8))
def test_round_trip(items: list[tuple[object, int]]) -> None:
    text = "".join(f"[LDAP://{dn(str(g).upper())};{o}]" for g, o in items)
    links = parse_gplink(text)
    assert [(lk.guid, lk.options) for lk in links] == [(str(g).upper(), o) for g, o in items]

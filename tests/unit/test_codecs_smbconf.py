"""smb.conf codec (smbsign.codecs.smbconf, smb.conf(5) "FILE FORMAT"): sections -> text -> bytes
-> text -> sections; names compare through their canonical form (synonyms, case, blanks)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.codecs.smbconf import (
    SYNONYMS,
    canonical_name,
    is_global,
    known_parameters,
    parameter_line,
    read_smbconf,
    write_smbconf,
)
from smbsign.codecs.text import decode_text
from smbsign.errors import ParseError

NAMES = st.sampled_from(sorted({*known_parameters().values(), *SYNONYMS}))
# A value is one line; blanks at its ends and a final backslash (a continuation) do not survive.
VALUE = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=30
).filter(lambda v: v == v.strip() and not v.endswith("\\"))
SECTION = st.text(
    st.characters(blacklist_categories=("Cs", "Zs"), blacklist_characters="\x00\r\n]"),
    min_size=1,
    max_size=12,
)
SECTIONS = st.lists(
    st.tuples(SECTION, st.lists(st.tuples(NAMES, VALUE), max_size=5).map(tuple)), max_size=4
)


Params = Iterable[tuple[str, str]]


def _canonical(sections: Iterable[tuple[str, Params]]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(s, [(canonical_name(n), v) for n, v in ps]) for s, ps in sections]


@settings(max_examples=300, deadline=None)
@given(SECTIONS, st.sampled_from(["utf-8", "utf-8-sig", "crlf"]))
def test_write_then_read_gives_the_parameters_back(
    sections: list[tuple[str, Params]], encoding: str
) -> None:
    text = write_smbconf(sections)
    data = text.replace("\n", "\r\n").encode() if encoding == "crlf" else text.encode(encoding)
    back = read_smbconf(decode_text(data))
    assert [s for s, _ in back] == [s for s, _ in sections]
    assert _canonical(back) == _canonical(sections)


def test_layout_and_global_rules() -> None:
    text = write_smbconf([("global", [("server signing", "mandatory")]), ("s", [("path", "/x")])])
    assert text == "[global]\n\tserver signing = mandatory\n\n[s]\n\tpath = /x\n"
    assert read_smbconf("min protocol = SMB2\n[s]\n") == (
        ("global", (("min protocol", "SMB2"),)),
        ("s", ()),
    )
    assert read_smbconf("[g]\n a = b \\\n   c\n") == (("g", (("a", "b c"),)),)
    assert is_global(" GLOBAL ") and not is_global("globalx")


def test_what_a_line_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="backslash"):
        parameter_line("path", "C:\\")
    with pytest.raises(ValueError, match="not a parameter name"):
        parameter_line("a=b", "c")
    with pytest.raises(ParseError, match="line 2: expected 'name = value'"):
        read_smbconf("[global]\nnot a parameter\n")

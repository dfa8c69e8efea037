"""Security template codec (smbsign.codecs.gpttmpl, [MS-GPSB] 2.2): registry values -> INF text
-> bytes -> text -> values, in UTF-16LE with BOM (GPMC), UTF-8 with BOM and BOM-less cp1252
(``secedit /export``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.codecs.gpttmpl import (
    REGISTRY_VALUES,
    UNICODE_SECTION,
    VERSION_SECTION,
    RegistryValue,
    encode_template,
    format_registry_data,
    parse_registry_data,
    read_template,
    registry_value_line,
    registry_values,
    write_template,
)
from smbsign.codecs.regdata import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
from smbsign.codecs.text import decode_text
from smbsign.errors import ParseError

UNICODE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n")
# ASCII plus cp1252 letters no UTF-8 sequence starts with or continues (see test_codecs_reg)
ANSI = st.sampled_from([chr(c) for c in range(32, 127)] + ["é", "ü"])


def values(chars: st.SearchStrategy[str]) -> st.SearchStrategy[RegistryValue]:
    # Names hold no '\\' or '='; the line is stripped, so no blanks at the ends of a name.
    name = st.text(chars, min_size=1, max_size=12).filter(
        lambda s: s == s.strip() and not set(s) & set("\\=")
    )
    key = st.lists(name, min_size=1, max_size=3).map(lambda p: "\\".join(["MACHINE", *p]))
    text = st.text(chars, max_size=20)
    item = st.text(chars, min_size=1, max_size=8).filter(lambda s: "," not in s and s == s.strip())
    return st.one_of(
        st.builds(RegistryValue, key, name, st.sampled_from([REG_SZ, REG_EXPAND_SZ]), text),
        st.builds(RegistryValue, key, name, st.just(REG_DWORD), st.integers(0, 2**32 - 1)),
        st.builds(
            RegistryValue, key, name, st.just(REG_MULTI_SZ), st.lists(item, max_size=4).map(tuple)
        ),
        st.builds(RegistryValue, key, name, st.just(REG_BINARY), st.binary(max_size=16)),
    )


def _text(vals: list[RegistryValue]) -> str:
    lines = [registry_value_line(v) for v in vals]
    return write_template([UNICODE_SECTION, (REGISTRY_VALUES, lines), VERSION_SECTION])


@settings(max_examples=300, deadline=None)
@given(st.lists(values(UNICODE), max_size=6), st.sampled_from(["utf-16-bom", "utf-8-bom"]))
def test_write_then_read_gives_the_values_back(vals: list[RegistryValue], encoding: str) -> None:
    text = _text(vals)
    data = encode_template(text) if encoding == "utf-16-bom" else b"\xef\xbb\xbf" + text.encode()
    template = read_template(decode_text(data))
    assert template.sections == ("unicode", "registry values", "version")
    assert registry_values(template) == vals


@settings(max_examples=200, deadline=None)
@given(st.lists(values(ANSI), max_size=6))
def test_ansi_secedit_export_round_trips(vals: list[RegistryValue]) -> None:
    data = _text(vals).replace("\n", "\r\n").encode("cp1252")
    assert registry_values(read_template(decode_text(data))) == vals


def test_gpmc_layout_and_quoting() -> None:
    line = registry_value_line(RegistryValue("MACHINE\\S", "N", REG_SZ, 'a"b'))
    assert line == 'MACHINE\\S\\N=1,"a""b"'
    assert parse_registry_data('1,"a""b"') == ('a"b', REG_SZ)
    data = encode_template(write_template([UNICODE_SECTION]))
    assert data == "\ufeff[Unicode]\r\nUnicode=yes\r\n".encode("utf-16-le")


def test_what_a_line_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        format_registry_data(REG_SZ, "a\nb")
    with pytest.raises(ValueError, match="commas"):
        format_registry_data(REG_MULTI_SZ, ("a,b",))
    with pytest.raises(ValueError, match="blank"):
        format_registry_data(REG_MULTI_SZ, (" a",))
    with pytest.raises(ParseError, match="line 2: bad registry value line"):
        registry_values(read_template("[Registry Values]\nMACHINE\\x\n"))

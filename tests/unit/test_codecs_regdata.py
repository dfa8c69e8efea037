"""Registry value codec (smbsign.codecs.regdata, [MS-RRP] 2.2.6): typed value -> bytes -> value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.codecs.regdata import (
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    RegValue,
    decode_data,
    encode_data,
    type_name,
)
from smbsign.errors import ParseError

# Registry strings cannot hold NUL (it ends them); REG_MULTI_SZ items cannot be empty (an empty
# item ends the list); lone surrogates have no UTF-16 encoding.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
ITEM = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=20,
)
VALUES: st.SearchStrategy[tuple[int, RegValue]] = st.one_of(
    st.tuples(st.sampled_from([REG_SZ, REG_EXPAND_SZ]), TEXT),
    st.tuples(st.just(REG_MULTI_SZ), st.lists(ITEM, max_size=6).map(tuple)),
    st.tuples(st.sampled_from([REG_DWORD, REG_DWORD_BIG_ENDIAN]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(REG_QWORD), st.integers(0, 2**64 - 1)),
    st.tuples(st.just(REG_BINARY), st.binary(max_size=64)),
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_encode_then_decode_gives_the_value_back(typed: tuple[int, RegValue]) -> None:
    code, value = typed
    assert decode_data(code, encode_data(code, value)) == value


def test_dword_byte_order() -> None:
    assert encode_data(REG_DWORD, 1) == b"\x01\x00\x00\x00"
    assert encode_data(REG_DWORD_BIG_ENDIAN, 1) == b"\x00\x00\x00\x01"
    assert encode_data(REG_MULTI_SZ, ("a",)) == b"a\x00\x00\x00\x00\x00"


def test_wrong_sizes_and_types_are_refused() -> None:
    with pytest.raises(ParseError, match="expected 4"):
        decode_data(REG_DWORD, b"\x01\x00")
    with pytest.raises(TypeError):
        encode_data(REG_DWORD, "1")
    assert type_name(0x42) == "REG_UNKNOWN_0x42"

"""Registry.pol codec (smbsign.codecs.registrypol, [MS-GPREG] 2.2.1): entries, bytes, entries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.codecs.registrypol import (
    SIGNATURE,
    PolEntry,
    decode_registry_pol,
    encode_registry_pol,
    iter_entries,
)
from smbsign.errors import ParseError

NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
ENTRY = st.builds(
    PolEntry,
    key=NAME,
    value=NAME,
    type=st.integers(0, 2**32 - 1),
    # data may hold the bytes of ']' and ';' (what PyPI registrypol gets wrong)
    data=st.binary(max_size=40) | st.sampled_from([b"]\x00", b";\x00]\x00", b"\x00\x00"]),
)


def _plain(entries: tuple[PolEntry, ...] | list[PolEntry]) -> list[tuple[str, str, int, bytes]]:
    return [(e.key, e.value, e.type, e.data) for e in entries]


@settings(max_examples=300, deadline=None)
@given(st.lists(ENTRY, max_size=8))
def test_write_then_read_gives_the_entries_back(entries: list[PolEntry]) -> None:
    data = encode_registry_pol(entries)
    assert data[:8] == SIGNATURE + b"\x01\x00\x00\x00"
    back = decode_registry_pol(data)
    assert _plain(back) == _plain(entries)
    # offsets point at each record's '[' and re-encoding is byte-identical
    assert all(data[e.offset : e.offset + 2] == b"[\x00" for e in back)
    assert encode_registry_pol(back) == data


@settings(max_examples=200, deadline=None)
@given(st.lists(ENTRY, min_size=1, max_size=4), st.data())
def test_a_truncated_file_is_a_parse_error(entries: list[PolEntry], data: st.DataObject) -> None:
    raw = encode_registry_pol(entries)
    last = decode_registry_pol(raw)[-1].offset  # a cut inside the last record
    cut = data.draw(st.integers(last + 1, len(raw) - 1))
    with pytest.raises(ParseError):
        list(iter_entries(raw[:cut]))


def test_nul_in_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        encode_registry_pol([PolEntry("a\x00b", "v", 4, b"")])

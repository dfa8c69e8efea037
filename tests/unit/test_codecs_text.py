"""Text codec (smbsign.codecs.text, docs/reference.md §6.1, §6.4): what the writers encode, the
reader decodes back, whichever encoding the evidence arrives in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.codecs.text import crlf_utf8, crlf_utf16, decode_text, split_lines, text_encoding
from smbsign.errors import ParseError

# Text files hold no NUL; lone surrogates have no encoding. Line ends are normalised to CRLF.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=200
)
ASCII_LINE = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=4, max_size=80)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_written_bom_text_reads_back(text: str) -> None:
    crlf = text.replace("\n", "\r\n")
    assert crlf_utf16(text)[:2] == b"\xff\xfe" and decode_text(crlf_utf16(text)) == crlf
    assert crlf_utf8(text)[:3] == b"\xef\xbb\xbf" and decode_text(crlf_utf8(text)) == crlf


@settings(max_examples=200, deadline=None)
@given(ASCII_LINE, st.sampled_from(["utf-16-le", "utf-16-be", "utf-8", "cp1252"]))
def test_bomless_ascii_text_is_recognised(line: str, encoding: str) -> None:
    data = line.encode(encoding)
    assert decode_text(data) == line
    assert text_encoding(data)[0] == {"cp1252": "utf-8"}.get(encoding, encoding)


def test_ansi_and_binary() -> None:
    assert decode_text("Invité".encode("cp1252")) == "Invité"
    with pytest.raises(ParseError, match="odd byte count"):
        decode_text(b"\xff\xfea\x00b")
    with pytest.raises(ParseError, match="NUL"):
        decode_text(b"a\x00b")
    assert split_lines("a\r\nb\rc\nd\x0ce") == ["a", "b", "c", "d\x0ce"]

"""Text encodings of evidence and generated files (docs/reference.md §6.1, §6.2, §6.4).

Reading: BOM first (UTF-8, UTF-16LE, UTF-16BE), then BOM-less UTF-16 (ASCII text has a NUL in
every other byte), then UTF-8, then the ANSI code page (cp1252), which ``secedit /export`` and
REGEDIT4 write. Writing: regedit 5.00 files and security templates are UTF-16LE with BOM
``FF FE`` and CRLF line ends; PowerShell 5.1 scripts UTF-8 with BOM.
"""

from __future__ import annotations

import re

from smbsign.errors import ParseError

_NEWLINE = re.compile(r"\r\n|\r|\n")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def text_encoding(data: bytes) -> tuple[str, int]:
    """Guess ``(encoding, bom_length)`` of a text file (docs/reference.md §6.1, §6.4)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc, len(bom)
    head = data[:512]
    if len(head) >= 4:
        # BOM-less UTF-16: ASCII text has a NUL in every other byte.
        odd_nul = head[1::2].count(0)
        even_nul = head[0::2].count(0)
        half = len(head) // 2
        if odd_nul > half * 0.6 and even_nul == 0:
            return "utf-16-le", 0
        if even_nul > half * 0.6 and odd_nul == 0:
            return "utf-16-be", 0
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252", 0
    return "utf-8", 0


def decode_text(data: bytes, *, where: str = "") -> str:
    """Decode ``data`` as text; raise :class:`ParseError` if it is not text at all."""
    enc, skip = text_encoding(data)
    body = data[skip:]
    if enc.startswith("utf-16") and len(body) % 2:
        raise ParseError(f"odd byte count for {enc} text", where=where)
    try:
        text = body.decode(enc)
    except UnicodeDecodeError:
        if enc != "cp1252":
            raise ParseError(f"not valid {enc} text", where=where) from None
        text = body.decode("latin-1")
    if "\x00" in text:
        raise ParseError("NUL character in text (binary data?)", where=where)
    return text


def split_lines(text: str) -> list[str]:
    """Split on CRLF, LF or CR only (``str.splitlines`` also splits on form feeds etc.)."""
    return _NEWLINE.split(text)


def text_head(data: bytes, limit: int = 2048) -> str:
    """Lower-cased decoded prefix for sniffing; '' when it is not text."""
    enc, skip = text_encoding(data[: limit + 4])
    chunk = data[skip : skip + limit]
    if enc.startswith("utf-16"):
        chunk = chunk[: len(chunk) // 2 * 2]
    return chunk.decode(enc, errors="replace").lower()


def crlf_utf16(text: str) -> bytes:
    """UTF-16LE with BOM ``FF FE`` and CRLF line ends (docs/reference.md §6.1, §6.2)."""
    body = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return b"\xff\xfe" + body.encode("utf-16-le")


def crlf_utf8(text: str) -> bytes:
    """UTF-8 with BOM and CRLF, what Windows PowerShell 5.1 reads safely for scripts."""
    body = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return b"\xef\xbb\xbf" + body.encode("utf-8")

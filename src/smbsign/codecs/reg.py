"""``.reg`` files (regedit REGEDIT4 and version 5.00): reader and writer (KB 310516,
docs/reference.md §6.1).

Written by hand: no maintained Python library parses both header versions, all encodings,
line continuations and both kinds of deletion. Read: the caller decodes the bytes
(:func:`smbsign.codecs.text.decode_text`: UTF-16LE/BE with BOM, UTF-8 with or without BOM,
cp1252), CRLF or LF, hex digits in any case, ``\\``-continued lines. Values: ``"..."`` REG_SZ
(``\\\\`` and ``\\"`` escapes), ``dword:``, ``hex:`` REG_BINARY, ``hex(N):`` typed data
(REGEDIT4 stores ``hex(2)``/``hex(7)`` strings as ANSI bytes, 5.00 as UTF-16LE), ``@=`` the
default value (name ``@``), ``"Name"=-`` a value deletion, ``[-KEY]`` a key deletion.
Write: :func:`write_reg` gives the text, :func:`encode_reg` the bytes regedit writes (5.00:
UTF-16LE with BOM and CRLF; REGEDIT4: cp1252 and CRLF). What the keys mean (hive, layer) is
the collector's business (:mod:`smbsign.collect.regfile`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from smbsign.codecs.regdata import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    RegValue,
    decode_data,
    encode_data,
)
from smbsign.codecs.text import crlf_utf16, split_lines
from smbsign.errors import ParseError

HEADER_V5 = "Windows Registry Editor Version 5.00"
HEADER_V4 = "REGEDIT4"
_DWORD = re.compile(r"dword:([0-9a-fA-F]{1,8})\s*$")
_HEX = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:\s*([0-9a-fA-F,\s]*)$")
_T = TypeVar("_T")
_HEX_PREFIX = {
    REG_BINARY: "hex",
    REG_EXPAND_SZ: "hex(2)",
    REG_MULTI_SZ: "hex(7)",
    REG_QWORD: "hex(b)",
}


@dataclass(frozen=True, slots=True)
class RegEntry:
    """One value line: ``code`` ``None`` deletes the value (``"Name"=-``)."""

    name: str
    code: int | None
    value: RegValue = None
    comment: str = ""  # written as a ``;`` line above the value (not read back)


@dataclass(frozen=True, slots=True)
class RegKey:
    """One ``[KEY]`` block (``delete``: ``[-KEY]``, which holds no values)."""

    path: str
    entries: tuple[RegEntry, ...] = ()
    delete: bool = False


# --------------------------------------------------------------------------------- read


def header_version(line: str) -> int | None:
    """5 or 4 for a header line (any case, BOM and blanks ignored), else ``None``."""
    low = line.strip().lstrip("\ufeff").lower()
    return {HEADER_V5.lower(): 5, HEADER_V4.lower(): 4}.get(low)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\``-continued lines (regedit wraps hex data); return (first line no., text)."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.strip()
        if not buf:
            start = number
        if line.endswith("\\") and not line.startswith(("[", ";")):
            buf.append(line[:-1])
            continue
        buf.append(line)
        out.append((start, "".join(buf)))
        buf = []
    if buf:
        out.append((start, "".join(buf)))
    return out


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """Parse a ``"..."`` string starting at ``text[pos] == '"'``; return (value, end)."""
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ParseError("unterminated string")


def _hex_value(code: int, digits: str, v4: bool) -> RegValue:
    parts = [p.strip() for p in digits.split(",") if p.strip()]
    try:
        raw = bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ParseError("bad hex byte") from None
    if v4 and code in (REG_EXPAND_SZ, REG_MULTI_SZ):
        text = raw.decode("cp1252", errors="replace")
        if code == REG_EXPAND_SZ:
            return text.split("\x00", 1)[0]
        return tuple(s for s in text.split("\x00") if s)
    return decode_data(code, raw)


def parse_data(data: str, *, v4: bool = False) -> tuple[RegValue, int]:
    """Typed value and type code of the right-hand side of a value line."""
    data = data.strip()
    if data.startswith('"'):
        value, end = _quoted(data, 0)
        if data[end:].strip():
            raise ParseError("text after string value")
        return value, REG_SZ
    low = data.lower()
    m = _DWORD.match(low)
    if m:
        return int(m.group(1), 16), REG_DWORD
    m = _HEX.match(low)
    if m:
        code = int(m.group(1), 16) if m.group(1) else REG_BINARY
        return _hex_value(code, m.group(2), v4), code
    raise ParseError(f"unrecognised value data {data[:40]!r}")


def split_value_line(line: str) -> tuple[str, str]:
    """``("name", "data")`` of ``"name"=data`` or ``@=data`` (name ``@``)."""
    if line.startswith("@"):
        name, rest = "@", line[1:].lstrip()
    elif line.startswith('"'):
        name, end = _quoted(line, 0)
        rest = line[end:].lstrip()
    else:
        raise ParseError("expected a key, a value or a comment")
    if not rest.startswith("="):
        raise ParseError("missing '='")
    return name, rest[1:].strip()


def parse_key_line(line: str) -> tuple[str, bool]:
    """``(key path, deleted)`` of a ``[KEY]`` or ``[-KEY]`` line."""
    end = line.rfind("]")
    if not line.startswith("[") or end < 0:
        raise ParseError("unterminated key")
    name = line[1:end]
    return name.lstrip("-").strip(), name.startswith("-")


def parse_value_line(line: str, *, v4: bool = False) -> RegEntry:
    """The value a ``"Name"=data`` line states (``code`` ``None``: ``"Name"=-``)."""
    name, rhs = split_value_line(line)
    if rhs == "-":
        return RegEntry(name, None)
    value, code = parse_data(rhs, v4=v4)
    return RegEntry(name, code, value)


def read_reg(text: str) -> tuple[int, tuple[RegKey, ...]]:
    """(header version, keys) of a decoded ``.reg`` text; raise :class:`ParseError` at the
    first bad line (the collector reads line by line instead, to report every bad line)."""
    body = [(n, s.strip()) for n, s in logical_lines(text) if s.strip()]
    version = header_version(body[0][1]) if body else None
    if version is None:
        raise ParseError("not a .reg file: missing 'Windows Registry Editor' header")
    keys: list[RegKey] = []
    for number, line in body[1:]:
        if line.startswith(";"):
            continue
        where = f"line {number}"
        if line.startswith("["):
            path, delete = _at(where, parse_key_line, line)
            keys.append(RegKey(path, (), delete))
            continue
        if not keys or keys[-1].delete:
            raise ParseError("value outside a key", where=where)
        entry = _at(where, lambda ln: parse_value_line(ln, v4=version == 4), line)
        last = keys[-1]
        keys[-1] = RegKey(last.path, (*last.entries, entry))
    return version, tuple(keys)


def _at(where: str, parse: Callable[[str], _T], line: str) -> _T:
    try:
        return parse(line)
    except ParseError as exc:
        raise ParseError(str(exc), where=where) from None


# -------------------------------------------------------------------------------- write


def quote(text: str) -> str:
    """A ``"..."`` string with ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value_line(name: str, code: int | None, data: RegValue, *, v4: bool = False) -> str:
    """One ``"Name"=<data>`` line; ``code``/``data`` ``None`` deletes the value (``"Name"=-``)."""
    if code is None or data is None:
        return f"{quote(name)}=-"
    if code == REG_DWORD and isinstance(data, int):
        return f"{quote(name)}=dword:{data & 0xFFFFFFFF:08x}"
    if code == REG_SZ and isinstance(data, str):
        return f"{quote(name)}={quote(data)}"
    if v4 and code == REG_EXPAND_SZ and isinstance(data, str):
        raw = (data + "\x00").encode("cp1252")
    elif v4 and code == REG_MULTI_SZ and isinstance(data, tuple):
        raw = "".join(f"{item}\x00" for item in data).encode("cp1252") + b"\x00"
    else:
        raw = encode_data(code, data)
    prefix = _HEX_PREFIX.get(code, f"hex({code:x})")
    return f"{quote(name)}={prefix}:{','.join(f'{b:02x}' for b in raw)}"


def write_reg(keys: Iterable[RegKey], *, header: Sequence[str] = (), v4: bool = False) -> str:
    """The text of a ``.reg`` file (LF line ends; :func:`encode_reg` makes the bytes).

    ``header`` lines become ``;`` comments after the version line; each entry's comment a
    ``;`` line above it. Layout as regedit writes: a blank line before each key.
    """
    lines = [HEADER_V4 if v4 else HEADER_V5, "", *(f"; {h}" for h in header)]
    for key in keys:
        lines += ["", f"[-{key.path}]" if key.delete else f"[{key.path}]"]
        for e in key.entries:
            if e.comment:
                lines.append(f"; {e.comment}")
            lines.append(value_line(e.name, e.code, e.value, v4=v4))
    return "\n".join(lines) + "\n"


def encode_reg(text: str, *, v4: bool = False) -> bytes:
    """Bytes as regedit writes them: 5.00 UTF-16LE with BOM, REGEDIT4 cp1252; CRLF."""
    if v4:
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp1252")
    return crlf_utf16(text)

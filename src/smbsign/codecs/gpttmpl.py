"""Security templates (``GptTmpl.inf``, ``secedit /export``): reader and writer, [MS-GPSB] 2.2
(docs/reference.md §6.2, §6.4).

Written by hand because ``configparser`` breaks on these files (backslashes, ``=`` in keys,
comma values, ``$CHICAGO$``; docs/reference.md §6.2). Sections are read in any order; ``;``
starts a comment line. ``[Registry Values]`` lines are ``MACHINE\\<path>\\<Name>=<type>,<data>``
([MS-GPSB] 2.2.5) with type codes 1 REG_SZ and 2 REG_EXPAND_SZ (quoted; ``""`` is one ``"``),
3 REG_BINARY (hex digits), 4 REG_DWORD (decimal), 7 REG_MULTI_SZ (comma-separated). The caller
decodes the bytes (:func:`smbsign.codecs.text.decode_text`: UTF-16LE with BOM, which the spec
requires and GPMC writes, UTF-16BE or UTF-8 with BOM, BOM-less ANSI as ``secedit /export``
writes); :func:`encode_template` writes UTF-16LE with BOM and CRLF. What a template means (GPO
or local, which host) is the collector's business (:mod:`smbsign.collect.gpttmpl`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from smbsign.codecs.regdata import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    RegValue,
)
from smbsign.codecs.text import crlf_utf16, split_lines, text_head
from smbsign.errors import ParseError

#: Section names of Windows security templates ([MS-GPSB] 2.2, secedit /export).
SECTIONS = frozenset(
    {
        "unicode",
        "version",
        "system access",
        "event audit",
        "kerberos policy",
        "registry values",
        "privilege rights",
        "group membership",
        "registry keys",
        "file security",
        "service general setting",
    }
)
REGISTRY_VALUES = "Registry Values"
#: The sections GPMC writes around the settings ([MS-GPSB] 2.2.1, 2.2.2).
UNICODE_SECTION = ("Unicode", ("Unicode=yes",))
VERSION_SECTION = ("Version", ('signature="$CHICAGO$"', "Revision=1"))
_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
_HEAD_SECTION = re.compile(r"^\s*\[([a-z ]+)\]\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RegistryValue:
    """One ``[Registry Values]`` line: ``key`` as written (``MACHINE\\...``), without the name."""

    key: str
    name: str
    code: int
    value: RegValue


@dataclass(frozen=True, slots=True)
class Template:
    """A read template: section names (lower-cased, in file order) and every setting line as
    (line number, lower-cased section, stripped text); lines before any section have ``""``."""

    sections: tuple[str, ...]
    lines: tuple[tuple[int, str, str], ...]

    def section(self, name: str) -> list[tuple[int, str]]:
        """(line number, text) of the lines of section ``name`` (any case)."""
        low = name.lower()
        return [(n, text) for n, sec, text in self.lines if sec == low]


# --------------------------------------------------------------------------------- read


def looks_like_template(data: bytes) -> bool:
    """Content test: a security-template section header near the start."""
    head = text_head(data, 8192)
    return any(m.group(1).strip() in SECTIONS - {"version"} for m in _HEAD_SECTION.finditer(head))


def read_template(text: str) -> Template:
    """Sections and setting lines of a decoded template (never raises)."""
    sections: list[str] = []
    lines: list[tuple[int, str, str]] = []
    section = ""
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(";"):
            continue
        m = _SECTION.match(line)
        if m:
            section = m.group(1).strip().lower()
            sections.append(section)
            continue
        lines.append((number, section, line))
    return Template(tuple(sections), tuple(lines))


def parse_registry_data(rhs: str) -> tuple[RegValue, int]:
    """Typed value of ``<type>,<data>`` ([MS-GPSB] 2.2.5)."""
    code_text, sep, data = rhs.partition(",")
    code_text = code_text.strip()
    if not (code_text.isascii() and code_text.isdigit()):  # '²'.isdigit() is True
        raise ParseError(f"bad type code {code_text[:20]!r}")
    code = int(code_text)
    data = data.strip()
    if code in (REG_SZ, REG_EXPAND_SZ):
        if len(data) >= 2 and data[0] == data[-1] == '"':
            # '""' inside quotes is one '"' (Microsoft Learn, "General Syntax Rules for INF Files")
            data = data[1:-1].replace('""', '"')
        return data, code
    if code == REG_DWORD:
        if not sep or not re.fullmatch(r"-?\d+|0[xX][0-9a-fA-F]+", data):
            raise ParseError(f"bad REG_DWORD data {data[:20]!r}")
        # Decimal, leading zeros allowed ("01"); int(data, 0) refuses them.
        number = int(data, 16) if data[:2] in ("0x", "0X") else int(data, 10)
        if not -(2**31) <= number < 2**32:
            raise ParseError(f"REG_DWORD out of range: {number}")
        return number & 0xFFFFFFFF, code
    if code == REG_MULTI_SZ:
        return tuple(item for item in data.split(",") if item != "") if data else (), code
    if code == REG_BINARY:
        digits = re.sub(r"[\s,]", "", data)
        if len(digits) % 2:
            digits = "0" + digits
        try:
            return bytes.fromhex(digits), code
        except ValueError:
            raise ParseError(f"bad REG_BINARY data {data[:20]!r}") from None
    raise ParseError(f"unsupported type code {code}")


def split_registry_line(line: str) -> tuple[str, str, str]:
    """``(key, name, "<type>,<data>")`` of a ``[Registry Values]`` line."""
    left, sep, rhs = line.partition("=")
    key, _, name = left.strip().rpartition("\\")
    if not sep or not name:
        raise ParseError("bad registry value line")
    return key, name, rhs


def parse_registry_line(line: str) -> RegistryValue:
    """The value one ``[Registry Values]`` line sets (the hive is not checked here)."""
    key, name, rhs = split_registry_line(line)
    value, code = parse_registry_data(rhs)
    return RegistryValue(key, name, code, value)


def registry_values(template: Template) -> list[RegistryValue]:
    """Every ``[Registry Values]`` line; raise :class:`ParseError` at the first bad one."""
    out: list[RegistryValue] = []
    for number, line in template.section(REGISTRY_VALUES):
        try:
            out.append(parse_registry_line(line))
        except ParseError as exc:
            raise ParseError(str(exc), where=f"line {number}") from None
    return out


# -------------------------------------------------------------------------------- write


def format_registry_data(code: int, value: RegValue) -> str:
    """``<type>,<data>`` of a value ([MS-GPSB] 2.2.5); ``ValueError`` for what the line
    grammar cannot hold (a line break; a list item that is empty or holds a comma; blanks at
    the ends of a list)."""
    if isinstance(value, str) and code in (REG_SZ, REG_EXPAND_SZ):
        if "\r" in value or "\n" in value:
            raise ValueError("a security template string cannot hold a line break")
        return f'{code},"' + value.replace('"', '""') + '"'
    if isinstance(value, int) and code == REG_DWORD:
        return f"{code},{value & 0xFFFFFFFF}"
    if isinstance(value, tuple) and code == REG_MULTI_SZ:
        joined = ",".join(value)
        if any(not item or "," in item or "\r" in item or "\n" in item for item in value):
            raise ValueError("REG_MULTI_SZ items must be non-empty, without commas or breaks")
        if joined != joined.strip():  # the reader strips the data
            raise ValueError("REG_MULTI_SZ data cannot start or end with a blank")
        return f"{code},{joined}"
    if isinstance(value, bytes) and code == REG_BINARY:
        return f"{code},{value.hex()}"
    raise ValueError(f"cannot write {type(value).__name__} as type {code} in a template")


def registry_value_line(v: RegistryValue) -> str:
    """``MACHINE\\...\\Name=<type>,<data>``."""
    return f"{v.key}\\{v.name}={format_registry_data(v.code, v.value)}"


def write_template(sections: Iterable[tuple[str, Iterable[str]]]) -> str:
    """Template text (LF line ends): each ``[name]`` followed by its lines, in order."""
    out: list[str] = []
    for name, lines in sections:
        out += [f"[{name}]", *lines]
    return "\n".join(out) + "\n"


def encode_template(text: str) -> bytes:
    """Bytes as GPMC writes them: UTF-16LE with BOM ``FF FE`` and CRLF ([MS-GPSB] 2.2)."""
    return crlf_utf16(text)

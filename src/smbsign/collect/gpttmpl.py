"""GPO security templates (``GptTmpl.inf``), docs/reference.md §6.2 and [MS-GPSB] 2.2.

Written by hand because ``configparser`` breaks on these files (backslashes, ``=`` in keys,
comma values, ``$CHICAGO$``; docs/reference.md §6.2). Sections are read in any order; only
``[Registry Values]`` yields settings: ``MACHINE\\<path>\\<Name>=<type>,<data>`` with type
codes 1 REG_SZ (quoted), 2 REG_EXPAND_SZ, 3 REG_BINARY (hex digits), 4 REG_DWORD (decimal),
7 REG_MULTI_SZ (comma-separated). Encodings: UTF-16LE with BOM (what the spec requires),
UTF-16BE or UTF-8 with BOM, and BOM-less ANSI (cp1252), which ``secedit /export`` writes
(docs/reference.md §6.4).

KIND rule (shared with :mod:`smbsign.collect.secedit`): a security template whose path lies in
a GPO (``Policies\\{GUID}`` or ``DomainSysvol\\GPO``) or whose file name starts with
``GptTmpl`` is a GPO template (kind ``gpttmpl``, layer ``gpo``); any other one is a
``secedit /export`` (kind ``secedit``, layer ``local``). Content cannot tell them apart: both
may hold ``[System Access]`` and ``[Registry Values]``.
"""

from __future__ import annotations

import re
from pathlib import PurePath, PureWindowsPath

from smbsign.codecs.regdata import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    RegValue,
    type_name,
)
from smbsign.codecs.text import decode_text, split_lines, text_head
from smbsign.collect.base import CollectResult, failed, in_gpo_tree
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import setting_id, split_hive

KIND = "gpttmpl"

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
_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
_HEAD_SECTION = re.compile(r"^\s*\[([a-z ]+)\]\s*$", re.MULTILINE)


def looks_like_template(data: bytes) -> bool:
    """Content test: a security-template section header near the start."""
    head = text_head(data, 8192)
    return any(m.group(1).strip() in SECTIONS - {"version"} for m in _HEAD_SECTION.finditer(head))


def is_gpo_path(path: str) -> bool:
    """Path rule of the module docstring."""
    name = PureWindowsPath(path).name if "\\" in path else PurePath(path).name
    return in_gpo_tree(path) or name.lower().startswith("gpttmpl")


def sniff(data: bytes, name: str) -> bool:
    return looks_like_template(data) and is_gpo_path(name)


def collect(data: bytes, path: str, host: str) -> CollectResult:
    return collect_template(data, path, host, kind=KIND, layer=Layer.GPO)


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
            data = data[1:-1]
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


def collect_template(
    data: bytes, path: str, host: str, *, kind: str, layer: Layer
) -> CollectResult:
    """Registry values of a security template; never raises."""
    try:
        text = decode_text(data)
    except ParseError as exc:
        return failed(host, path, kind, str(exc))
    values: list[SettingValue] = []
    errors: list[CollectError] = []
    section: str | None = None
    seen_sections = 0
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(";"):
            continue
        m = _SECTION.match(line)
        if m:
            section = m.group(1).strip().lower()
            seen_sections += section in SECTIONS
            continue
        if section != "registry values":
            continue
        where = f"line {number}"
        left, sep, rhs = line.partition("=")
        key, _, name = left.strip().rpartition("\\")
        hive, _ = split_hive(key)
        if not sep or not name or hive != "hklm":
            errors.append(CollectError(host, path, kind, f"{where}: bad registry value line"))
            continue
        try:
            value, code = parse_registry_data(rhs)
        except ParseError as exc:
            errors.append(CollectError(host, path, kind, f"{where}: {exc}"))
            continue
        prov = Provenance(kind=kind, path=path, location=where, layer=layer)
        values.append(SettingValue(host, setting_id(key, name), value, type_name(code), prov))
    if not seen_sections:
        return failed(host, path, kind, "not a security template: no known [section]")
    return CollectResult(values=tuple(values), errors=tuple(errors))

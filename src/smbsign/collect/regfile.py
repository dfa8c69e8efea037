"""``.reg`` exports (regedit REGEDIT4 and version 5.00), docs/reference.md §6.1 (KB 310516).

Written by hand: no maintained Python library parses both header versions, all encodings,
line continuations and both kinds of deletion. Accepted: UTF-16LE/BE with BOM, UTF-8 with or
without BOM, cp1252; CRLF or LF; hex digits in any case. Values: ``"..."`` REG_SZ (``\\\\``
and ``\\"`` escapes), ``dword:``, ``hex:`` REG_BINARY, ``hex(N):`` typed data (REGEDIT4 stores
``hex(2)``/``hex(7)`` strings as ANSI bytes, 5.00 as UTF-16LE), ``@=`` the default value
(id ends in ``\\@``), ``"Name"=-`` a value deletion. A key deletion ``[-KEY]`` yields one
marker whose setting id is the key id plus ``\\*`` (``value_type`` ``KEY``): every value
under that key and its subkeys is deleted. Layer: ``local``, except values under
``SOFTWARE\\Policies`` (``gpo``) and ``SOFTWARE\\Microsoft\\PolicyManager`` (``mdm``).
"""

from __future__ import annotations

import re

from smbsign.codecs.regdata import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    RegValue,
    decode_data,
    type_name,
)
from smbsign.codecs.text import decode_text, split_lines, text_head
from smbsign.collect.base import CollectResult, failed, registry_layer
from smbsign.collect.winfacts import windows_facts
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import split_hive

KIND = "regfile"

HEADER_V5 = "windows registry editor version 5.00"
HEADER_V4 = "regedit4"
_IGNORED_ROOTS = ("hkey_classes_root", "hkey_current_config", "hkey_performance_data", "hkcr")
_DWORD = re.compile(r"dword:([0-9a-fA-F]{1,8})\s*$")
_HEX = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:\s*([0-9a-fA-F,\s]*)$")


def sniff(data: bytes, name: str) -> bool:
    """Recognised by its header line (either version)."""
    head = text_head(data, 256).lstrip("\ufeff \t\r\n")
    return head.startswith((HEADER_V5, HEADER_V4))


def _logical_lines(text: str) -> list[tuple[int, str]]:
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


def _split_value_line(line: str) -> tuple[str, str]:
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


def collect(data: bytes, path: str, host: str) -> CollectResult:
    """Values, deletions and host facts of a ``.reg`` file; never raises."""
    try:
        text = decode_text(data)
    except ParseError as exc:
        return failed(host, path, KIND, str(exc))
    lines = _logical_lines(text)
    body = [(n, s) for n, s in lines if s.strip()]
    if not body or body[0][1].strip().lstrip("\ufeff").lower() not in (HEADER_V5, HEADER_V4):
        return failed(host, path, KIND, "not a .reg file: missing 'Windows Registry Editor' header")
    v4 = body[0][1].strip().lstrip("\ufeff").lower() == HEADER_V4
    values: list[SettingValue] = []
    errors: list[CollectError] = []
    key: str | None = None  # canonical key prefix, None = skip values
    for number, line in body[1:]:
        stripped = line.strip()
        where = f"line {number}"
        if stripped.startswith(";"):
            continue
        if stripped.startswith("["):
            key = None
            end = stripped.rfind("]")
            if end < 0:
                errors.append(CollectError(host, path, KIND, f"{where}: unterminated key"))
                continue
            name = stripped[1:end]
            delete = name.startswith("-")
            name = name.lstrip("-").strip()
            hive, rest = split_hive(name)
            if not hive:
                if not name.lower().startswith(_IGNORED_ROOTS):
                    errors.append(CollectError(host, path, KIND, f"{where}: unknown root key"))
                continue
            key = "\\".join([hive, *(p.lower() for p in rest.split("\\") if p)])
            if delete:
                values.append(_value(host, f"{key}\\*", None, "KEY", path, where, deleted=True))
                key = None
            continue
        if key is None:
            continue
        try:
            vname, rhs = _split_value_line(stripped)
            setting = f"{key}\\{vname.lower()}"
            if rhs == "-":
                values.append(_value(host, setting, None, "REG_NONE", path, where, deleted=True))
                continue
            value, code = parse_data(rhs, v4=v4)
        except ParseError as exc:
            errors.append(CollectError(host, path, KIND, f"{where}: {exc}"))
            continue
        values.append(_value(host, setting, value, type_name(code), path, where))
    facts = windows_facts(host, {v.setting: v.value for v in values if not v.deleted}, path)
    return CollectResult(values=tuple(values), facts=facts, errors=tuple(errors))


def _value(
    host: str,
    setting: str,
    value: RegValue,
    vtype: str,
    path: str,
    where: str,
    *,
    deleted: bool = False,
) -> SettingValue:
    prov = Provenance(
        kind=KIND, path=path, location=where, layer=registry_layer(setting, Layer.LOCAL)
    )
    return SettingValue(host, setting, value, vtype, prov, deleted=deleted)

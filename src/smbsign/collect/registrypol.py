"""``Registry.pol`` (PReg) reader and writer, docs/reference.md §6.3 and [MS-GPREG] 2.2.1.

Written by hand because PyPI ``registrypol`` 1.0.1 scans for ``]`` and drops entries whose
data holds the bytes of ``]`` or ``;`` (docs/reference.md §8). This codec reads every entry strictly
by its ``size`` field: ``[`` key ``;`` value ``;`` type ``;`` size ``;`` data ``]`` with the
brackets and semicolons as UTF-16LE characters, key and value NUL-terminated UTF-16LE,
type and size little-endian DWORDs. Checked against Samba's NDR codec (``preg.idl``).

Special value names: ``**del.<name>`` deletes a value; ``**delvals.`` deletes every value of
the key (marker id ``<key>\\*``, ``value_type`` ``VALUES``); ``**DeleteValues`` deletes the
``;``-separated names in its data; ``**DeleteKeys`` deletes the listed subkeys (marker
``<key>\\<sub>\\*``, ``value_type`` ``KEY``); ``**soft.<name>`` sets a value only where it is
absent (reported as a value, location suffixed ``(soft)``); ``**SecureKey`` and type-0
key-creation records carry no setting. Hive: ``Machine`` folder (default) -> HKLM, ``User``
-> HKCU. Layer ``gpo``, or ``local`` under ``System32\\GroupPolicy`` (local policy).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PureWindowsPath

from smbsign.codecs.regdata import REG_NONE, decode_data, type_name, utf16_string
from smbsign.collect.base import CollectResult, failed, in_local_gpo
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import setting_id

KIND = "registrypol"
SIGNATURE = b"PReg"
VERSION = 1
_OPEN, _SEMI, _CLOSE = "[".encode("utf-16-le"), ";".encode("utf-16-le"), "]".encode("utf-16-le")
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class PolEntry:
    """One PReg record; ``data`` is the raw value bytes, ``offset`` where ``[`` stood."""

    key: str
    value: str
    type: int
    data: bytes
    offset: int = 0


def sniff(data: bytes, name: str) -> bool:
    return data[:4] == SIGNATURE


def _expect(buf: bytes, pos: int, token: bytes, what: str) -> int:
    if buf[pos : pos + 2] != token:
        raise ParseError(f"expected {what}", where=f"offset 0x{pos:x}")
    return pos + 2


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    """NUL-terminated UTF-16LE string at ``pos``; return (text, position after the NUL)."""
    end = pos
    while True:
        end = buf.find(b"\x00\x00", end)
        if end < 0:
            raise ParseError("unterminated string", where=f"offset 0x{pos:x}")
        if (end - pos) % 2 == 0:
            break
        end += 1
    try:
        return buf[pos:end].decode("utf-16-le"), end + 2
    except UnicodeDecodeError:
        raise ParseError("invalid UTF-16 string", where=f"offset 0x{pos:x}") from None


def _u32(buf: bytes, pos: int) -> tuple[int, int]:
    if pos + 4 > len(buf):
        raise ParseError("truncated DWORD", where=f"offset 0x{pos:x}")
    return _U32.unpack_from(buf, pos)[0], pos + 4


def iter_entries(buf: bytes) -> Iterable[PolEntry]:
    """Yield entries in file order; raise :class:`ParseError` at the first malformed byte."""
    if len(buf) < 8 or buf[:4] != SIGNATURE:
        raise ParseError("not a Registry.pol file: missing PReg signature", where="offset 0x0")
    version = _U32.unpack_from(buf, 4)[0]
    if version != VERSION:
        raise ParseError(f"unsupported PReg version {version}", where="offset 0x4")
    pos = 8
    while pos < len(buf):
        start = pos
        pos = _expect(buf, pos, _OPEN, "'['")
        key, pos = _string(buf, pos)
        pos = _expect(buf, pos, _SEMI, "';' after key")
        value, pos = _string(buf, pos)
        pos = _expect(buf, pos, _SEMI, "';' after value name")
        vtype, pos = _u32(buf, pos)
        pos = _expect(buf, pos, _SEMI, "';' after type")
        size, pos = _u32(buf, pos)
        pos = _expect(buf, pos, _SEMI, "';' after size")
        if pos + size > len(buf):
            raise ParseError(f"data size {size} runs past end of file", where=f"offset 0x{start:x}")
        data = buf[pos : pos + size]
        pos = _expect(buf, pos + size, _CLOSE, "']'")
        yield PolEntry(key, value, vtype, bytes(data), start)


def decode_registry_pol(buf: bytes) -> tuple[PolEntry, ...]:
    """All entries of a Registry.pol file (raises :class:`ParseError`)."""
    return tuple(iter_entries(buf))


def encode_registry_pol(entries: Iterable[PolEntry]) -> bytes:
    """Bytes of a Registry.pol holding ``entries`` in order (``offset`` is ignored)."""
    out = [SIGNATURE, _U32.pack(VERSION)]
    for e in entries:
        if "\x00" in e.key or "\x00" in e.value:
            raise ValueError("key and value names must not contain NUL")
        out += [
            _OPEN,
            (e.key + "\x00").encode("utf-16-le"),
            _SEMI,
            (e.value + "\x00").encode("utf-16-le"),
            _SEMI,
            _U32.pack(e.type),
            _SEMI,
            _U32.pack(len(e.data)),
            _SEMI,
            e.data,
            _CLOSE,
        ]
    return b"".join(out)


def hive_for(path: str) -> str:
    """``hkcu`` when the file sits in a ``User`` folder, else ``hklm``."""
    parts = [p.lower() for p in PureWindowsPath(path.replace("/", "\\")).parts[:-1]]
    return "hkcu" if parts and parts[-1] == "user" else "hklm"


def _names(raw: bytes) -> list[str]:
    return [n for n in utf16_string(raw).split(";") if n]


def entry_values(e: PolEntry, hive: str, host: str, prov: Provenance) -> list[SettingValue]:
    """Settings one entry states (see module docstring for the special names)."""
    key = f"{hive}\\{e.key}"
    low = e.value.lower()

    def marker(k: str, name: str, vtype: str) -> SettingValue:
        return SettingValue(host, setting_id(k, name), None, vtype, prov, deleted=True)

    if low.startswith("**del."):
        return [marker(key, e.value[6:], type_name(e.type))]
    if low.startswith("**delvals"):
        return [marker(key, "*", "VALUES")]
    if low == "**deletevalues":
        return [marker(key, n, "REG_NONE") for n in _names(e.data)]
    if low == "**deletekeys":
        return [marker(f"{key}\\{n}", "*", "KEY") for n in _names(e.data)]
    if low.startswith("**securekey") or (e.type == REG_NONE and not e.value):
        return []
    name = e.value
    if low.startswith("**soft."):
        name = e.value[7:]
        prov = Provenance(prov.kind, prov.path, f"{prov.location} (soft)", prov.layer)
    value = decode_data(e.type, e.data, where=prov.location)
    return [SettingValue(host, setting_id(key, name), value, type_name(e.type), prov)]


def collect(data: bytes, path: str, host: str) -> CollectResult:
    """Settings of a Registry.pol; never raises."""
    hive = hive_for(path)
    layer = Layer.LOCAL if in_local_gpo(path) else Layer.GPO
    values: list[SettingValue] = []
    errors: list[CollectError] = []
    try:
        for entry in iter_entries(data):
            prov = Provenance(KIND, path, f"offset 0x{entry.offset:x}", layer)
            try:
                values.extend(entry_values(entry, hive, host, prov))
            except ParseError as exc:
                errors.append(CollectError(host, path, KIND, str(exc)))
    except ParseError as exc:
        if not values and not errors:
            return failed(host, path, KIND, str(exc))
        errors.append(CollectError(host, path, KIND, f"{exc} (entries before it were read)"))
    return CollectResult(values=tuple(values), errors=tuple(errors))

"""``Registry.pol`` (PReg) reader and writer, [MS-GPREG] 2.2.1 (docs/reference.md §6.3).

Written by hand because PyPI ``registrypol`` 1.0.1 scans for ``]`` and drops entries whose
data holds the bytes of ``]`` or ``;`` (docs/reference.md §8). Entries are read strictly by
their ``size`` field: the header ``PReg`` + version 1 (LE DWORD), then records ``[`` key ``;``
value ``;`` type ``;`` size ``;`` data ``]`` with the brackets and semicolons as UTF-16LE
characters, key and value NUL-terminated UTF-16LE, type and size little-endian DWORDs. The
writer is byte-identical to Samba's NDR codec (``librpc/idl/preg.idl``). What the special
value names (``**del.``, ``**delvals.``, ...) mean is the collector's business
(:mod:`smbsign.collect.registrypol`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from smbsign.errors import ParseError

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

"""Bounded, by-name reads of an offline registry hive file (regf), on top of regipy.

Format: Maxim Suhanov, "Windows registry file format specification" (msuhanov/regf, "Format of
primary files"). regipy parses the key nodes (``regipy.registry.NKRecord``) and value records
(``regipy.structs.VALUE_KEY``). The rest is by hand, because a reader of untrusted files needs
what regipy does not do:

- the base block is read with ``struct`` (regipy's header parser decodes the debug-only file-name
  field strictly and would reject a hive over it) and checked: magic, version 1.3-1.6, primary
  file type, checksum, sequence numbers (a *dirty* hive has changes pending in its ``.LOG1`` /
  ``.LOG2`` files that are not applied here), hive-bins size against the file size;
- a work budget of :data:`MAX_WORK` subkey-list entries (each a key node to parse), index-root
  elements and value records per file, charged before they are read: an ``ri`` of 65535 lists
  or lists claiming 65535 keys each end in :class:`ParseError`, not in minutes of parsing
  (measured: a real 49,000-subkey key costs 0.7 s). Only keys on the paths asked for are read,
  one level at a time, so a crafted cycle of keys is never followed (regipy's
  ``recurse_subkeys`` would follow it forever);
- absence must be proven: a subkey list (``lf``/``lh``/``li``, or an ``ri`` of those) that
  holds fewer keys than its key claims, an entry that is not a key node, or a value record
  that cannot be read is an error, never "absent" (regipy's ``iter_subkeys`` yields nothing
  for an unknown list type and parses whatever an entry points at as a key node, and
  ``iter_values`` stops silently at a bad record: each would turn a configured value into the
  OS default);
- values are matched by name (case-insensitive) and only the matching one's data is read, from
  one cell of at most :data:`MAX_DATA` bytes (``iter_values`` decodes every value of the key).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from construct import ConstructError
from regipy.exceptions import RegipyException
from regipy.registry import Cell, NKRecord
from regipy.structs import VALUE_KEY

from smbsign.codecs.regdata import RegValue, decode_data
from smbsign.errors import ParseError

MAGIC = b"regf"
BASE_BLOCK = 4096
MAX_WORK = 50_000
MAX_VALUES = 4096
MAX_DATA = 16344  # the largest data one cell holds; bigger values use "big data" segments
_NONE = 0xFFFFFFFF
# compiled construct structs raise struct.error (not StreamError) on short input
_REGIPY_ERRORS = (ConstructError, RegipyException, struct.error)
_BASE = struct.Struct("<4sIIQIIIIIII")  # magic ... clustering factor (offsets 0-47)


def printable(text: str, limit: int = 80) -> str:
    """``text`` safe for a one-line message."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _checksum(block: bytes) -> int:
    value = 0
    for (word,) in struct.iter_unpack("<I", block[:508]):
        value ^= word
    if value == 0xFFFFFFFF:
        return 0xFFFFFFFE
    return value or 1


class Hive:
    """One primary hive file, read lazily by key path.

    Construction raises :class:`ParseError` when the file is not a usable hive; ``problems``
    lists what is wrong but still readable (checksum, dirty, truncated).
    """

    def __init__(self, data: bytes) -> None:
        if len(data) < BASE_BLOCK + 32 or not data.startswith(MAGIC):
            raise ParseError(f"not a registry hive or truncated ({len(data)} bytes)")
        (_, seq1, seq2, _, major, minor, ftype, fmt, root, bins, _) = _BASE.unpack_from(data)
        if ftype != 0:
            raise ParseError("a transaction log (.LOG1/.LOG2), not a hive: nothing read")
        if major != 1 or not 3 <= minor <= 6 or fmt != 1:
            raise ParseError(f"unsupported hive format version {major}.{minor} (format {fmt})")
        self.file_name = data[48:112].decode("utf-16-le", "replace").split("\x00", 1)[0]
        self.problems: list[str] = []
        if struct.unpack_from("<I", data, 508)[0] != _checksum(data):
            self.problems.append("base block checksum mismatch: the hive header is damaged")
        if seq1 != seq2:
            self.problems.append(
                f"hive is dirty (sequence numbers {seq1} != {seq2}): changes pending in its "
                ".LOG1/.LOG2 transaction logs were not applied, values may be stale"
            )
        if BASE_BLOCK + bins > len(data):
            self.problems.append(
                f"truncated: the header says {BASE_BLOCK + bins} bytes, the file has {len(data)}"
            )
        self._data = data
        self._stream = io.BytesIO(data)
        self._work = 0
        self._children: dict[tuple[str, ...], dict[str, NKRecord | None] | ParseError] = {}
        pos = BASE_BLOCK + root
        if data[pos + 4 : pos + 6] != b"nk":
            raise ParseError("the root key offset does not point to a key node")
        try:
            cell = Cell(offset=pos + 6, cell_type="nk", size=0)
            self.root = NKRecord(cell, self._stream)  # type: ignore[no-untyped-call]
        except _REGIPY_ERRORS as exc:
            raise ParseError(f"damaged root key: {_brief(exc)}") from None

    # ------------------------------------------------------------------ budget

    def _charge(self, units: int, where: str) -> None:
        self._work += units
        if self._work > MAX_WORK:
            raise ParseError(f"{where}: stopped after {MAX_WORK} records (damaged or crafted hive)")

    def _cell(self, offset: int, size: int, where: str) -> bytes:
        """``size`` bytes of the cell data at ``offset`` (relative to the hive bins data)."""
        pos = BASE_BLOCK + 4 + offset
        chunk = self._data[pos : pos + size]
        if len(chunk) != size:
            raise ParseError(f"{where}: record at offset {offset:#x} lies outside the file")
        return chunk

    def _key_offsets(self, list_offset: int, where: str, *, nested: bool = False) -> list[int]:
        """Key node offsets of a subkey list (``lf``/``lh``/``li``, or an ``ri`` of those)."""
        head = self._cell(list_offset, 4, where)
        signature, count = head[:2], struct.unpack("<H", head[2:])[0]
        self._charge(count, where)
        stride = {b"lf": 8, b"lh": 8, b"li": 4, b"ri": 4}.get(signature)
        if stride is None or (nested and signature == b"ri"):
            raise ParseError(f"{where}: unknown subkey list type {printable(repr(signature))}")
        body = self._cell(list_offset, 4 + count * stride, where)[4:]
        offsets = [struct.unpack_from("<I", body, i * stride)[0] for i in range(count)]
        if signature != b"ri":
            return offsets
        return [k for leaf in offsets for k in self._key_offsets(leaf, where, nested=True)]

    # -------------------------------------------------------------------- keys

    def children(self, node: NKRecord, path: tuple[str, ...]) -> dict[str, NKRecord | None]:
        """Subkeys of ``node`` (at ``path``) by lower-cased name; every one accounted for.

        A name listed twice (never written by Windows) maps to None: which is real is unknown.
        """
        cached = self._children.get(tuple(p.lower() for p in path))
        if isinstance(cached, ParseError):
            raise cached
        if cached is not None:
            return cached
        try:
            kids = self._list(node, "\\".join(path) or "root key")
        except ParseError as exc:
            self._children[tuple(p.lower() for p in path)] = exc
            raise
        self._children[tuple(p.lower() for p in path)] = kids
        return kids

    def _list(self, node: NKRecord, where: str) -> dict[str, NKRecord | None]:
        count = int(node.header.subkey_count)
        if count == 0:
            return {}
        offsets = self._key_offsets(int(node.header.subkeys_list_offset), where)
        if len(offsets) != count:
            raise ParseError(
                f"{where}: subkey list holds {len(offsets)} of the {count} subkeys it claims"
            )
        kids: dict[str, NKRecord | None] = {}
        for offset in offsets:
            if self._cell(offset, 2, where) != b"nk":
                raise ParseError(f"{where}: subkey list entry {offset:#x} is not a key node")
            try:
                cell = Cell(offset=BASE_BLOCK + 4 + offset + 2, cell_type="nk", size=0)
                child = NKRecord(cell, self._stream)  # type: ignore[no-untyped-call]
            except _REGIPY_ERRORS as exc:
                raise ParseError(f"{where}: damaged key node ({_brief(exc)})") from None
            name = str(child.name).lower()
            kids[name] = None if name in kids else child  # None: listed twice, ambiguous
        return kids

    def key(self, path: tuple[str, ...]) -> tuple[NKRecord, tuple[str, ...]] | None:
        """Key node at ``path`` (names case-insensitive) and its names as stored; None if absent."""
        node = self.root
        real: list[str] = []
        for part in path:
            kids = self.children(node, tuple(real))
            if part.lower() not in kids:
                return None
            child = kids[part.lower()]
            if child is None:
                where = "\\".join((*real, printable(part)))
                raise ParseError(f"{where}: key is listed twice in its parent (damaged hive)")
            node = child
            real.append(printable(str(child.name), 255))
        return node, tuple(real)

    # ------------------------------------------------------------------ values

    def value(self, node: NKRecord, name: str, where: str) -> tuple[RegValue, int, str] | None:
        """``(data, REG_* type code, name as stored)`` of value ``name``; None when absent."""
        count = int(node.header.values_count)
        if count == 0:
            return None
        if count > MAX_VALUES:
            raise ParseError(f"{where}: key claims {count} values (limit {MAX_VALUES})")
        self._charge(count, where)
        start = BASE_BLOCK + 4 + int(node.header.values_list_offset)
        offsets = self._data[start : start + 4 * count]
        if len(offsets) != 4 * count:
            raise ParseError(f"{where}: value list lies outside the file")
        want = name.lower()
        damaged = ""
        for (vk_offset,) in struct.iter_unpack("<I", offsets):
            try:
                vk = self._record(vk_offset)
            except ParseError as exc:
                damaged = damaged or str(exc)
                continue
            if vk is not None and vk.name.lower() == want:
                return self._data_of(vk, f"{where}\\{printable(name)}"), vk.code, vk.name
        if damaged:
            raise ParseError(f"{where}: {damaged}; cannot tell whether {printable(name)} is set")
        return None

    def _record(self, offset: int) -> _Vk | None:
        """The ``vk`` record at ``offset``; None for a tombstone (a deleted layered value)."""
        pos = BASE_BLOCK + 4 + offset
        try:
            vk = VALUE_KEY.parse(self._data[pos : pos + 20 + 0xFFFF])
            flags = struct.unpack_from("<H", self._data, pos + 16)[0]
        except _REGIPY_ERRORS:
            raise ParseError(f"unreadable value record at offset {offset:#x}") from None
        if flags & 2:
            return None
        raw = bytes(vk.name)
        text = raw.decode("latin-1") if flags & 1 else raw.decode("utf-16-le", "replace")
        return _Vk(
            name=printable(text, 255) if raw else "@",
            code=int(vk.data_type),
            size=int(vk.data_size),
            offset=int(vk.data_offset),
        )

    def _data_of(self, vk: _Vk, where: str) -> RegValue:
        size = vk.size
        if size & 0x80000000:
            size &= 0x7FFFFFFF
            if size > 4:
                raise ParseError(f"{where}: inline data of {size} bytes (at most 4 fit)")
            raw = struct.pack("<I", vk.offset)[:size]
        elif size == 0:
            raw = b""
        elif size > MAX_DATA:
            raise ParseError(f"{where}: data of {size} bytes (big-data value) is not read")
        else:
            pos = BASE_BLOCK + vk.offset
            head = self._data[pos : pos + 4]
            cell = -struct.unpack("<i", head)[0] if len(head) == 4 else 0
            raw = self._data[pos + 4 : pos + 4 + size]
            if cell < size + 4 or len(raw) != size:
                raise ParseError(f"{where}: data cell is damaged or outside the file")
        return decode_data(vk.code, raw, where=where)


@dataclass(frozen=True, slots=True)
class _Vk:
    """What this module uses of a ``vk`` value record."""

    name: str
    code: int
    size: int
    offset: int


def _brief(exc: Exception) -> str:
    return printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 120)

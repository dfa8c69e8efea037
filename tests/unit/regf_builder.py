"""A small writer of Windows registry hive files (regf), for tests only.

Written from Maxim Suhanov's "Windows registry file format specification"
(msuhanov/regf, "Format of primary files"): a 4096-byte base block with its XOR-32 checksum,
one hive bin, cells 8-byte aligned with negative sizes when allocated, ``nk`` key nodes,
``lh`` hash leaves sorted by upper-cased name (or an ``ri`` index root over several leaves),
``vk`` values with data of 4 bytes or less stored inline, one shared ``sk`` security cell.
Its output is checked against two independent readers in the tests: hivex (``hivexsh``, C)
and regipy. The generated files are not self-validating: ``tests/unit/test_collect_hive.py``
reads every value back with ``hivexsh``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_MULTI_SZ = 7
REG_QWORD = 11
NONE = 0xFFFFFFFF
BASE_BLOCK = 4096
HBIN_HEADER = 32


@dataclass
class Key:
    """A key: name, values ``(name, REG_* type, raw data)`` and subkeys."""

    name: str
    values: list[tuple[str, int, bytes]] = field(default_factory=list)
    subkeys: list[Key] = field(default_factory=list)

    def key(self, path: str) -> Key:
        """The subkey at ``path`` (backslash-separated), created when missing."""
        node = self
        for part in path.split("\\"):
            match = [k for k in node.subkeys if k.name.upper() == part.upper()]
            if match:
                node = match[0]
            else:
                child = Key(part)
                node.subkeys.append(child)
                node = child
        return node

    def set(self, name: str, vtype: int, data: bytes) -> Key:
        """Add (or replace) a value; returns self for chaining."""
        self.values = [v for v in self.values if v[0].upper() != name.upper()]
        self.values.append((name, vtype, data))
        return self


def sz(text: str) -> bytes:
    """REG_SZ data: UTF-16LE with its NUL terminator."""
    return (text + "\x00").encode("utf-16-le")


def dword(number: int) -> bytes:
    return struct.pack("<I", number)


def multi_sz(*items: str) -> bytes:
    return "".join(f"{i}\x00" for i in items).encode("utf-16-le") + b"\x00\x00"


def checksum(block: bytes) -> int:
    """XOR-32 of the first 508 bytes, with the spec's two special cases."""
    value = 0
    for (word,) in struct.iter_unpack("<I", block[:508]):
        value ^= word
    if value == 0xFFFFFFFF:
        return 0xFFFFFFFE
    return value or 1


def lh_hash(name: str) -> int:
    value = 0
    for ch in name.upper():
        value = (value * 37 + ord(ch)) & 0xFFFFFFFF
    return value


def _name(text: str) -> tuple[bytes, bool]:
    """(encoded name, compressed?) -- extended ASCII when possible, else UTF-16LE."""
    if all(ord(c) < 256 for c in text):
        return text.encode("latin-1"), True
    return text.encode("utf-16-le"), False


class _Cells:
    def __init__(self) -> None:
        self.buf = bytearray()

    def alloc(self, size: int) -> int:
        """Offset (from the hive bins data) of a new allocated cell of ``size`` data bytes."""
        total = (size + 4 + 7) // 8 * 8
        offset = HBIN_HEADER + len(self.buf)
        self.buf += struct.pack("<i", -total) + bytes(total - 4)
        return offset

    def put(self, offset: int, data: bytes) -> None:
        start = offset - HBIN_HEADER + 4
        self.buf[start : start + len(data)] = data

    def cell(self, data: bytes) -> int:
        offset = self.alloc(len(data))
        self.put(offset, data)
        return offset


def _security_descriptor() -> bytes:
    """Self-relative SD: owner and group BUILTIN\\Administrators, an empty DACL."""
    sid = struct.pack("<BB6sII", 1, 2, b"\x00\x00\x00\x00\x00\x05", 32, 544)
    acl = struct.pack("<BBHHH", 2, 0, 8, 0, 0)
    header_len = 20
    owner = header_len
    group = owner + len(sid)
    dacl = group + len(sid)
    head = struct.pack("<BBHIIII", 1, 0, 0x8004, owner, group, 0, dacl)
    return head + sid + sid + acl


@dataclass
class _Options:
    leaf_size: int  # max elements per lh leaf; more children -> an ri over several leaves
    inline: bool  # store data of <= 4 bytes inline, as Windows does
    sk_size: int  # data size of the sk cell, allocated right after the root key node


def _count(key: Key) -> int:
    return 1 + sum(_count(k) for k in key.subkeys)


def _write_key(cells: _Cells, key: Key, parent: int, sk: int, opts: _Options, root: bool) -> int:
    name, comp = _name(key.name)
    nk = cells.alloc(76 + len(name))
    if root:  # the root key node is the first cell, as in Windows hives (regipy relies on it)
        assert cells.alloc(opts.sk_size) == sk
    # values
    value_list = NONE
    if key.values:
        vks = []
        for vname, vtype, data in key.values:
            raw_name, vcomp = _name(vname)
            if opts.inline and len(data) <= 4:
                size, data_off = (
                    len(data) | 0x80000000,
                    struct.unpack("<I", data.ljust(4, b"\0"))[0],
                )
            else:
                size, data_off = len(data), cells.cell(data) if data else NONE
            flags = 1 if vcomp else 0
            vk = struct.pack("<2sHIIIHH", b"vk", len(raw_name), size, data_off, vtype, flags, 0)
            vks.append(cells.cell(vk + raw_name))
        value_list = cells.cell(struct.pack(f"<{len(vks)}I", *vks))
    # subkeys, sorted by upper-cased name as the spec requires
    children = sorted(key.subkeys, key=lambda k: k.name.upper())
    offsets = [(_write_key(cells, k, nk, sk, opts, False), k.name) for k in children]
    subkey_list = NONE
    if offsets:
        leaves = []
        for i in range(0, len(offsets), opts.leaf_size):
            chunk = offsets[i : i + opts.leaf_size]
            body = b"".join(struct.pack("<II", off, lh_hash(n)) for off, n in chunk)
            leaves.append(cells.cell(struct.pack("<2sH", b"lh", len(chunk)) + body))
        if len(leaves) == 1:
            subkey_list = leaves[0]
        else:
            body = b"".join(struct.pack("<I", leaf) for leaf in leaves)
            subkey_list = cells.cell(struct.pack("<2sH", b"ri", len(leaves)) + body)
    flags = (0x2C if root else 0x20) if comp else (0x0C if root else 0x00)
    max_sub = max((len(k.name) * 2 for k in key.subkeys), default=0)
    max_vname = max((len(v[0]) * 2 for v in key.values), default=0)
    max_data = max((len(v[2]) for v in key.values), default=0)
    body = struct.pack(
        "<2sHQIIIIIIIIIIIIIIIHH",
        b"nk",
        flags,
        0x01D0_0000_0000_0000,  # last written (any FILETIME)
        0,
        parent,
        len(key.subkeys),
        0,
        subkey_list,
        NONE,
        len(key.values),
        value_list,
        sk,
        NONE,
        max_sub,
        0,
        max_vname,
        max_data,
        0,
        len(name),
        0,
    )
    cells.put(nk, body + name)
    return nk


def build(
    root: Key,
    *,
    file_name: str = "SYSTEM",
    minor: int = 5,
    sequence: tuple[int, int] = (1, 1),
    leaf_size: int = 512,
    inline: bool = True,
    extra_cells: tuple[bytes, ...] = (),
) -> tuple[bytes, list[int]]:
    """A complete primary hive file holding ``root``, plus ``extra_cells`` (raw cell data,
    for crafting damaged hives) whose offsets (relative to the hive bins data) are returned."""
    cells = _Cells()
    sd = _security_descriptor()
    sk = HBIN_HEADER + (76 + len(_name(root.name)[0]) + 4 + 7) // 8 * 8
    opts = _Options(leaf_size=leaf_size, inline=inline, sk_size=20 + len(sd))
    root_off = _write_key(cells, root, NONE, sk, opts, True)
    cells.put(sk, struct.pack("<2sHIIII", b"sk", 0, sk, sk, _count(root), len(sd)) + sd)
    extra = [cells.cell(c) for c in extra_cells]
    used = HBIN_HEADER + len(cells.buf)
    size = (used + 4095) // 4096 * 4096
    free = size - used
    hbin = struct.pack("<4sIIQQI", b"hbin", 0, size, 0, 0x01D0_0000_0000_0000, 0)
    data = hbin + bytes(cells.buf) + (struct.pack("<i", free) + bytes(free - 4) if free else b"")
    base = bytearray(BASE_BLOCK)
    struct.pack_into(
        "<4sIIQIIIIIII",
        base,
        0,
        b"regf",
        sequence[0],
        sequence[1],
        0x01D0_0000_0000_0000,
        1,
        minor,
        0,
        1,
        root_off,
        len(data),
        1,
    )
    encoded = file_name.encode("utf-16-le")[:64]
    base[48 : 48 + len(encoded)] = encoded
    struct.pack_into("<I", base, 508, checksum(bytes(base)))
    return bytes(base) + data, extra


def build_hive(root: Key, **options: object) -> bytes:
    """A complete primary hive file holding ``root`` and everything under it."""
    return build(root, **options)[0]  # type: ignore[arg-type]


def find_nk(data: bytes, name: str) -> int:
    """File offset of the ``nk`` signature of the (first) key named ``name``."""
    pos = BASE_BLOCK + HBIN_HEADER
    end = BASE_BLOCK + struct.unpack_from("<I", data, 40)[0]
    while pos < end:
        size = struct.unpack_from("<i", data, pos)[0]
        if size < 0 and data[pos + 4 : pos + 6] == b"nk":
            length = struct.unpack_from("<H", data, pos + 4 + 72)[0]
            if data[pos + 4 + 76 : pos + 4 + 76 + length] == name.encode("latin-1"):
                return pos + 4
        pos += abs(size) or 8
    raise KeyError(name)


def patch_u32(data: bytes, offset: int, value: int, *, fix_checksum: bool = True) -> bytes:
    """``data`` with the little-endian u32 at ``offset`` replaced (base block checksum fixed)."""
    out = bytearray(data)
    struct.pack_into("<I", out, offset, value)
    if fix_checksum:
        struct.pack_into("<I", out, 508, checksum(bytes(out)))
    return bytes(out)


Values = list[tuple[str, int, bytes]]


def system_tree(
    current: int = 1,
    sets: dict[int, dict[str, Values]] | None = None,
    product_type: str | None = "ServerNT",
) -> Key:
    """A SYSTEM hive tree: ``Select`` plus one ``ControlSet00N`` per entry of ``sets``.

    ``sets`` maps a control-set number to ``{relative key path: values}``; ProductOptions
    gets ``ProductType`` in every control set when ``product_type`` is given.
    """
    root = Key("ROOT")
    select = root.key("Select")
    for name in ("Current", "Default", "LastKnownGood"):
        select.set(name, REG_DWORD, dword(current))
    select.set("Failed", REG_DWORD, dword(0))
    for number, keys in (sets or {current: {}}).items():
        cs = root.key(f"ControlSet{number:03d}")
        for path, values in keys.items():
            node = cs.key(path)
            for name, vtype, data in values:
                node.set(name, vtype, data)
        if product_type is not None:
            cs.key("Control\\ProductOptions").set("ProductType", REG_SZ, sz(product_type))
    root.key("MountedDevices")
    return root

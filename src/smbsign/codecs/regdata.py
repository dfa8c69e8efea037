"""Registry value types shared by the .reg, Registry.pol, GptTmpl and live-registry readers.

Type codes and byte layouts: REG_SZ/REG_EXPAND_SZ are NUL-terminated UTF-16LE, REG_MULTI_SZ a
list of them ended by an empty string, REG_DWORD 4 bytes LE, REG_DWORD_BIG_ENDIAN 4 bytes BE,
REG_QWORD 8 bytes LE ([MS-RRP] 2.2.6 / winnt.h; docs/reference.md §6.1, §6.3).
"""

from __future__ import annotations

from smbsign.errors import ParseError

RegValue = int | str | tuple[str, ...] | bytes | None

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_QWORD = 11

TYPE_NAMES: dict[int, str] = {
    REG_NONE: "REG_NONE",
    REG_SZ: "REG_SZ",
    REG_EXPAND_SZ: "REG_EXPAND_SZ",
    REG_BINARY: "REG_BINARY",
    REG_DWORD: "REG_DWORD",
    REG_DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN",
    REG_LINK: "REG_LINK",
    REG_MULTI_SZ: "REG_MULTI_SZ",
    8: "REG_RESOURCE_LIST",
    9: "REG_FULL_RESOURCE_DESCRIPTOR",
    10: "REG_RESOURCE_REQUIREMENTS_LIST",
    REG_QWORD: "REG_QWORD",
}
TYPE_CODES: dict[str, int] = {name: code for code, name in TYPE_NAMES.items()}


def type_name(code: int) -> str:
    """``REG_*`` name of a type code (``REG_UNKNOWN_0x..`` for others)."""
    return TYPE_NAMES.get(code, f"REG_UNKNOWN_0x{code:x}")


def utf16_string(raw: bytes) -> str:
    """Decode a UTF-16LE string, dropping the NUL terminator and anything after it."""
    if len(raw) % 2:
        raw = raw[:-1]
    text = raw.decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0]


def utf16_multi(raw: bytes) -> tuple[str, ...]:
    """Decode REG_MULTI_SZ: NUL-separated strings, ended by an empty one."""
    if len(raw) % 2:
        raw = raw[:-1]
    text = raw.decode("utf-16-le", errors="replace")
    items: list[str] = []
    for item in text.split("\x00"):
        if item == "":
            break
        items.append(item)
    return tuple(items)


def decode_data(code: int, raw: bytes, *, where: str = "") -> RegValue:
    """Typed value of raw registry bytes; raise :class:`ParseError` on a size mismatch."""
    if code in (REG_SZ, REG_EXPAND_SZ, REG_LINK):
        return utf16_string(raw)
    if code == REG_MULTI_SZ:
        return utf16_multi(raw)
    if code in (REG_DWORD, REG_DWORD_BIG_ENDIAN):
        if len(raw) != 4:
            raise ParseError(f"{type_name(code)} data is {len(raw)} bytes, expected 4", where=where)
        return int.from_bytes(raw, "big" if code == REG_DWORD_BIG_ENDIAN else "little")
    if code == REG_QWORD:
        if len(raw) != 8:
            raise ParseError(f"REG_QWORD data is {len(raw)} bytes, expected 8", where=where)
        return int.from_bytes(raw, "little")
    return bytes(raw)


def encode_data(code: int, value: RegValue) -> bytes:
    """Raw bytes of a typed value (inverse of :func:`decode_data`)."""
    if value is None:
        return b""
    if code in (REG_SZ, REG_EXPAND_SZ, REG_LINK) and isinstance(value, str):
        return (value + "\x00").encode("utf-16-le")
    if code == REG_MULTI_SZ and isinstance(value, tuple):
        return "".join(f"{item}\x00" for item in value).encode("utf-16-le") + b"\x00\x00"
    if code in (REG_DWORD, REG_DWORD_BIG_ENDIAN) and isinstance(value, int):
        return value.to_bytes(4, "big" if code == REG_DWORD_BIG_ENDIAN else "little")
    if code == REG_QWORD and isinstance(value, int):
        return value.to_bytes(8, "little")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} as {type_name(code)}")

"""A registry value as a Windows snapshot records it before a change (docs/fix.md).

:class:`PriorValue` is the type and data a value had, or that it was absent; its JSON shape
(:func:`prior_to_dict` / :func:`prior_from_dict`) is what ``manifest.json`` holds and what the
generated PowerShell writes, so rollback and the undo ``.reg`` can write back exactly what
was there ([MS-RRP] 2.2.6 value types).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smbsign.codecs.regdata import TYPE_CODES
from smbsign.errors import RemediationError

__all__ = ["PriorValue", "RegData", "prior_from_dict", "prior_to_dict", "type_code"]

RegData = int | str | tuple[str, ...] | bytes | None


def type_code(vtype: str) -> int:
    """The registry type code of a type name, also ``REG_UNKNOWN_0x..`` (what a snapshot of
    an odd value records), so that rollback can write back any type it saved."""
    if vtype in TYPE_CODES:
        return TYPE_CODES[vtype]
    prefix = "REG_UNKNOWN_0x"
    if vtype.startswith(prefix) and vtype[len(prefix) :]:
        try:
            return int(vtype[len(prefix) :], 16)
        except ValueError:
            pass
    raise RemediationError(f"unknown registry value type {vtype!r}")


@dataclass(frozen=True, slots=True)
class PriorValue:
    """A registry value before a change: its type and data, or ``present=False`` (absent)."""

    key: str
    name: str
    present: bool
    type: str | None = None
    data: RegData = None
    key_existed: bool = True
    control: str = ""


def prior_to_dict(p: PriorValue) -> dict[str, Any]:
    data: Any = p.data
    if isinstance(data, bytes):
        data = data.hex()
    elif isinstance(data, tuple):
        data = list(data)
    return {
        "control": p.control,
        "key": p.key,
        "name": p.name,
        "key_existed": p.key_existed,
        "present": p.present,
        "type": p.type,
        "data": data,
    }


def prior_from_dict(d: Mapping[str, Any]) -> PriorValue:
    """Inverse of :func:`prior_to_dict`; also reads what the generated PowerShell writes."""
    try:
        present = bool(d["present"])
        vtype = d.get("type") if present else None
        raw = d.get("data") if present else None
        data: RegData
        if raw is None:
            data = None
        elif vtype == "REG_MULTI_SZ":
            data = tuple(str(x) for x in (raw if isinstance(raw, list) else [raw]))
        elif vtype in ("REG_DWORD", "REG_QWORD"):
            data = _integer(str(vtype), raw)
        elif vtype in ("REG_SZ", "REG_EXPAND_SZ"):
            data = str(raw)
        else:
            data = bytes.fromhex(str(raw))
        return PriorValue(
            key=str(d["key"]),
            name=str(d["name"]),
            present=present,
            type=str(vtype) if vtype else None,
            data=data,
            key_existed=bool(d.get("key_existed", True)),
            control=str(d.get("control", "")),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise RemediationError(f"snapshot value entry is malformed: {exc}") from None


def _integer(vtype: str, raw: Any) -> int:
    """A REG_DWORD/REG_QWORD as unsigned; PowerShell reads them signed (Int32/Int64), so
    -2**(bits-1) <= n < 2**bits is accepted and wrapped (``0xFFFFFFFF`` is ``-1`` there)."""
    bits = 32 if vtype == "REG_DWORD" else 64
    number = int(raw)
    if not -(2 ** (bits - 1)) <= number < 2**bits:
        raise ValueError(f"{vtype} data out of range: {str(raw)[:30]}")
    return int(number & (2**bits - 1))

"""A stand-in for the standard-library ``winreg`` module, backed by a recorded snapshot.

No Windows host runs in this project's tests, so ``smbsign audit --local``'s Windows path
(``smbsign.collect.winreg_local.WinregReader``) is driven through this module instead: the
calls it makes (``OpenKey`` with ``KEY_READ | KEY_WOW64_64KEY``, ``QueryValueEx``,
``QueryInfoKey``, ``EnumKey``) behave as documented for ``winreg``
(https://docs.python.org/3/library/winreg.html): a missing key or value raises
``FileNotFoundError``, ``REG_MULTI_SZ`` data is a ``list``, ``REG_BINARY`` ``bytes``, and
key handles are context managers. The data is a snapshot in the format of
docs/collectors.md ("This machine").
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HKEY_CURRENT_USER = 0x80000001
HKEY_LOCAL_MACHINE = 0x80000002
HKEY_USERS = 0x80000003
KEY_READ = 0x20019
KEY_WOW64_64KEY = 0x0100
TYPES = {"REG_NONE": 0, "REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4,
         "REG_MULTI_SZ": 7, "REG_QWORD": 11}  # fmt: skip
_ROOTS = {"HKLM": HKEY_LOCAL_MACHINE, "HKCU": HKEY_CURRENT_USER, "HKU": HKEY_USERS}


@dataclass
class _Handle:
    values: dict[str, tuple[Any, int]]
    subkeys: list[str]

    def __enter__(self) -> _Handle:
        return self

    def __exit__(self, *_: object) -> None:
        return None


def module(snapshot: Path, denied: frozenset[str] = frozenset()) -> types.ModuleType:
    """A ``winreg`` look-alike holding ``snapshot``; keys in ``denied`` raise PermissionError."""
    doc = json.loads(snapshot.read_text(encoding="utf-8"))
    keys: dict[tuple[int, str], dict[str, tuple[Any, int]]] = {}
    for key, values in doc.items():
        root, _, rest = key.partition("\\")
        slot = keys.setdefault((_ROOTS[root.upper()], rest.lower()), {})
        for name, spec in values.items():
            code = TYPES[spec["type"]]
            data = spec["data"]
            if code in (TYPES["REG_BINARY"], TYPES["REG_NONE"]):
                data = bytes.fromhex(data)
            slot[name.lower()] = (data, code)
    calls: list[tuple[str, ...]] = []

    def open_key(root: int, sub: str, reserved: int = 0, access: int = KEY_READ) -> _Handle:
        assert reserved == 0 and access == KEY_READ | KEY_WOW64_64KEY, (reserved, access)
        calls.append(("OpenKey", sub))
        low = sub.lower()
        if low in denied:
            raise PermissionError(13, "Access is denied")
        prefix = low + "\\"
        children = sorted({k[len(prefix) :].split("\\")[0] for r, k in keys
                           if r == root and k.startswith(prefix)})  # fmt: skip
        if (root, low) not in keys and not children:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return _Handle(keys.get((root, low), {}), children)

    def query_value_ex(handle: _Handle, name: str) -> tuple[Any, int]:
        got = handle.values.get(name.lower())
        if got is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        data, code = got
        return (list(data) if isinstance(data, list) else data), code

    fake = types.ModuleType("winreg")
    fake.__dict__.update(
        HKEY_CURRENT_USER=HKEY_CURRENT_USER,
        HKEY_LOCAL_MACHINE=HKEY_LOCAL_MACHINE,
        HKEY_USERS=HKEY_USERS,
        KEY_READ=KEY_READ,
        KEY_WOW64_64KEY=KEY_WOW64_64KEY,
        OpenKey=open_key,
        QueryValueEx=query_value_ex,
        QueryInfoKey=lambda h: (len(h.subkeys), len(h.values), 0),
        EnumKey=lambda h, i: h.subkeys[i],
        calls=calls,
    )
    return fake

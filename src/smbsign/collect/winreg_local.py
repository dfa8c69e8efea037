"""The Windows registry, live (``winreg``) or recorded (a JSON snapshot), reference.md §1.1, §3.5.

:class:`RegistryReader` is the small interface the collector needs. :class:`WinregReader`
reads the live HKLM through the standard-library ``winreg`` module (Windows only; the
import is guarded so this module loads on Linux). :class:`RecordedRegistry` reads a snapshot
file, which is also how this code path is tested: no Windows host runs in this project's
tests, so they use recorded snapshots. Snapshot format (UTF-8 JSON, keys compared
case-insensitively)::

    {"HKLM\\\\SYSTEM\\\\CurrentControlSet\\\\Services\\\\LanmanServer\\\\Parameters":
        {"RequireSecuritySignature": {"type": "REG_DWORD", "data": 1}}}

``data`` is an int for REG_DWORD/REG_QWORD, a string for REG_SZ/REG_EXPAND_SZ, a list of
strings for REG_MULTI_SZ and a hex string for REG_BINARY/REG_NONE. :func:`snapshot` writes
that shape from any reader. Layer per value path (``SOFTWARE\\Policies`` -> gpo,
``PolicyManager`` -> mdm, else local); location is the registry path of the value.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterable
from typing import Any, Protocol

from smbsign.codecs.regdata import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_NONE,
    REG_QWORD,
    REG_SZ,
    TYPE_CODES,
    RegValue,
    type_name,
)
from smbsign.codecs.text import decode_text, text_head
from smbsign.collect.base import CollectResult, failed, registry_layer
from smbsign.collect.winfacts import FACT_VALUES, windows_facts
from smbsign.errors import ParseError
from smbsign.model import CollectError, Provenance, SettingValue
from smbsign.regpath import setting_id, split_hive

KIND = "winreg"
_SNIFF = re.compile(r'^\s*\{\s*"(hklm|hkey_local_machine|hkcu|hkey_current_user|hku)\\\\')


class RegistryReader(Protocol):
    """Read-only access to registry values."""

    def get(self, key: str, value: str) -> tuple[RegValue, int] | None:
        """``(data, REG_* type code)`` of ``value`` under ``key``; None when absent."""
        ...

    def subkeys(self, key: str) -> tuple[str, ...]:
        """Names of the subkeys of ``key`` (empty when it does not exist)."""
        ...


def _key_id(key: str) -> str:
    hive, rest = split_hive(key)
    return "\\".join([hive or "hklm", *(p.lower() for p in rest.split("\\") if p)])


class WinregReader:
    """Live registry through ``winreg`` (Windows only; 64-bit view)."""

    def __init__(self) -> None:
        winreg: Any = importlib.import_module("winreg")  # Windows only: ImportError elsewhere
        self._w = winreg
        self._roots = {"hklm": winreg.HKEY_LOCAL_MACHINE, "hkcu": winreg.HKEY_CURRENT_USER,
                       "hku": winreg.HKEY_USERS}  # fmt: skip

    def _open(self, key: str) -> Any:
        hive, rest = split_hive(key)
        root = self._roots.get(hive or "hklm")
        access = self._w.KEY_READ | self._w.KEY_WOW64_64KEY
        return self._w.OpenKey(root, rest, 0, access)

    def get(self, key: str, value: str) -> tuple[RegValue, int] | None:
        try:
            with self._open(key) as handle:
                data, code = self._w.QueryValueEx(handle, value)
        except FileNotFoundError:
            return None
        if isinstance(data, list):
            data = tuple(str(item) for item in data)
        return data, int(code)

    def subkeys(self, key: str) -> tuple[str, ...]:
        names: list[str] = []
        try:
            with self._open(key) as handle:
                for index in range(self._w.QueryInfoKey(handle)[0]):
                    names.append(self._w.EnumKey(handle, index))
        except FileNotFoundError:
            return ()
        return tuple(names)


class RecordedRegistry:
    """A registry snapshot (format in the module docstring)."""

    def __init__(self, keys: dict[str, dict[str, tuple[RegValue, int]]]) -> None:
        self._keys = keys

    @classmethod
    def from_json(cls, data: bytes, *, where: str = "") -> RecordedRegistry:
        try:
            doc = json.loads(decode_text(data, where=where))
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"not valid JSON: {str(exc)[:120]}", where=where) from None
        if not isinstance(doc, dict):
            raise ParseError("snapshot must be a JSON object of keys", where=where)
        keys: dict[str, dict[str, tuple[RegValue, int]]] = {}
        for key, values in doc.items():
            if not isinstance(values, dict) or not split_hive(str(key))[0]:
                raise ParseError(f"bad snapshot key {str(key)[:60]!r}", where=where)
            slot = keys.setdefault(_key_id(key), {})
            for name, spec in values.items():
                slot[str(name).lower()] = _typed(spec, f"{key}\\{name}", where)
        return cls(keys)

    def get(self, key: str, value: str) -> tuple[RegValue, int] | None:
        return self._keys.get(_key_id(key), {}).get(value.lower())

    def subkeys(self, key: str) -> tuple[str, ...]:
        prefix = _key_id(key) + "\\"
        return tuple(sorted({k[len(prefix) :].split("\\")[0] for k in self._keys
                             if k.startswith(prefix)}))  # fmt: skip

    def items(self) -> Iterable[tuple[str, str]]:
        """Every (key id, value name) in the snapshot."""
        return [(k, name) for k, values in sorted(self._keys.items()) for name in sorted(values)]


def _typed(spec: Any, name: str, where: str) -> tuple[RegValue, int]:
    if not isinstance(spec, dict) or str(spec.get("type", "")).upper() not in TYPE_CODES:
        raise ParseError(f"value {name[:80]!r} needs a REG_* 'type'", where=where)
    code = TYPE_CODES[str(spec["type"]).upper()]
    data: Any = spec.get("data")
    ok = (
        (code in (REG_DWORD, REG_QWORD) and isinstance(data, int) and not isinstance(data, bool))
        or (code in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str))
        or (code == REG_MULTI_SZ and isinstance(data, list)
            and all(isinstance(i, str) for i in data))
        or (code in (REG_BINARY, REG_NONE) and isinstance(data, str))
    )  # fmt: skip
    if not ok:
        raise ParseError(f"value {name[:80]!r}: data does not fit {type_name(code)}", where=where)
    if code == REG_MULTI_SZ:
        return tuple(data), code
    if code in (REG_BINARY, REG_NONE):
        try:
            return bytes.fromhex(data), code
        except ValueError:
            raise ParseError(f"value {name[:80]!r}: bad hex", where=where) from None
    return data, code


def snapshot(reader: RegistryReader, wanted: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """JSON-able snapshot of the ``wanted`` values ``reader`` has (for recording a host)."""
    out: dict[str, dict[str, Any]] = {}
    for key, name in wanted:
        got = reader.get(key, name)
        if got is None:
            continue
        data, code = got
        plain: Any = data
        if isinstance(data, bytes):
            plain = data.hex()
        elif isinstance(data, tuple):
            plain = list(data)
        out.setdefault(key, {})[name] = {"type": type_name(code), "data": plain}
    return out


def collect_registry(
    reader: RegistryReader,
    host: str,
    wanted: Iterable[tuple[str, str]],
    *,
    path: str = "registry",
    kind: str = KIND,
) -> CollectResult:
    """Read ``wanted`` (key, value name) pairs plus the host-fact values; never raises.

    A reader reports a value it could not read (access denied, I/O) by raising ``OSError``;
    that becomes one error of collector ``kind``, never a missing value.
    """
    values: list[SettingValue] = []
    errors: list[CollectError] = []
    seen: set[str] = set()
    for key, name in [*wanted, *FACT_VALUES]:
        sid = setting_id(key, name)
        if sid in seen:
            continue
        seen.add(sid)
        try:
            got = reader.get(key, name)
        except OSError as exc:
            errors.append(CollectError(host, path, kind, f"{key}\\{name}: {exc.strerror or exc}"))
            continue
        if got is None:
            continue
        data, code = got
        prov = Provenance(kind, path, f"{key}\\{name}", registry_layer(sid))
        values.append(SettingValue(host, sid, data, type_name(code), prov))
    facts = windows_facts(host, {v.setting: v.value for v in values}, path)
    return CollectResult(values=tuple(values), facts=facts, errors=tuple(errors))


def sniff(data: bytes, name: str) -> bool:
    return bool(_SNIFF.match(text_head(data, 512).lstrip("\ufeff")))


def collect(data: bytes, path: str, host: str) -> CollectResult:
    """Every value of a recorded snapshot file."""
    try:
        recorded = RecordedRegistry.from_json(data)
    except ParseError as exc:
        return failed(host, path, KIND, str(exc))
    return collect_registry(recorded, host, recorded.items(), path=path)

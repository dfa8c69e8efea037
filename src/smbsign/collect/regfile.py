"""``.reg`` exports (regedit REGEDIT4 and version 5.00), docs/reference.md §6.1 (KB 310516).

The text is read by :mod:`smbsign.codecs.reg` (both header versions, every encoding,
continuations, ``@=`` the default value, whose id ends in ``\\@``); this module turns each
value line into a setting with provenance, key and value names lower-cased. ``"Name"=-`` is a
value deletion. A key deletion ``[-KEY]`` yields one
marker whose setting id is the key id plus ``\\*`` (``value_type`` ``KEY``): every value
under that key and its subkeys is deleted. Layer: ``local``, except values under
``SOFTWARE\\Policies`` (``gpo``) and ``SOFTWARE\\Microsoft\\PolicyManager`` (``mdm``).
"""

from __future__ import annotations

from smbsign.codecs.reg import (
    HEADER_V4,
    HEADER_V5,
    header_version,
    logical_lines,
    parse_key_line,
    parse_value_line,
)
from smbsign.codecs.regdata import RegValue, type_name
from smbsign.codecs.text import decode_text, text_head
from smbsign.collect.base import CollectResult, failed, registry_layer
from smbsign.collect.winfacts import windows_facts
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import split_hive

KIND = "regfile"

_IGNORED_ROOTS = ("hkey_classes_root", "hkey_current_config", "hkey_performance_data", "hkcr")


def sniff(data: bytes, name: str) -> bool:
    """Recognised by its header line (either version)."""
    head = text_head(data, 256).lstrip("\ufeff \t\r\n")
    return head.startswith((HEADER_V5.lower(), HEADER_V4.lower()))


def collect(data: bytes, path: str, host: str) -> CollectResult:
    """Values, deletions and host facts of a ``.reg`` file; never raises."""
    try:
        text = decode_text(data)
    except ParseError as exc:
        return failed(host, path, KIND, str(exc))
    body = [(n, s) for n, s in logical_lines(text) if s.strip()]
    version = header_version(body[0][1]) if body else None
    if version is None:
        return failed(host, path, KIND, "not a .reg file: missing 'Windows Registry Editor' header")
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
            try:
                name, delete = parse_key_line(stripped)
            except ParseError as exc:
                errors.append(CollectError(host, path, KIND, f"{where}: {exc}"))
                continue
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
            entry = parse_value_line(stripped, v4=version == 4)
        except ParseError as exc:
            errors.append(CollectError(host, path, KIND, f"{where}: {exc}"))
            continue
        setting = f"{key}\\{entry.name.lower()}"
        if entry.code is None:
            values.append(_value(host, setting, None, "REG_NONE", path, where, deleted=True))
            continue
        values.append(_value(host, setting, entry.value, type_name(entry.code), path, where))
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

"""GPO security templates (``GptTmpl.inf``), docs/reference.md §6.2 and [MS-GPSB] 2.2.

The text is read by :mod:`smbsign.codecs.gpttmpl` (sections in any order, ``[Registry Values]``
lines ``MACHINE\\<path>\\<Name>=<type>,<data>``, every encoding GPMC and secedit write); this
module turns those lines into settings with provenance. Only ``[Registry Values]`` yields
settings, and only for the ``MACHINE`` hive.

KIND rule (shared with :mod:`smbsign.collect.secedit`): a security template whose path lies in
a GPO (``Policies\\{GUID}`` or ``DomainSysvol\\GPO``) or whose file name starts with
``GptTmpl`` is a GPO template (kind ``gpttmpl``, layer ``gpo``); any other one is a
``secedit /export`` (kind ``secedit``, layer ``local``). Content cannot tell them apart: both
may hold ``[System Access]`` and ``[Registry Values]``.
"""

from __future__ import annotations

from pathlib import PurePath, PureWindowsPath

from smbsign.codecs.gpttmpl import (
    SECTIONS,
    looks_like_template,
    parse_registry_data,
    read_template,
    split_registry_line,
)
from smbsign.codecs.regdata import type_name
from smbsign.codecs.text import decode_text
from smbsign.collect.base import CollectResult, failed, in_gpo_tree
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import setting_id, split_hive

KIND = "gpttmpl"


def is_gpo_path(path: str) -> bool:
    """Path rule of the module docstring."""
    name = PureWindowsPath(path).name if "\\" in path else PurePath(path).name
    return in_gpo_tree(path) or name.lower().startswith("gpttmpl")


def sniff(data: bytes, name: str) -> bool:
    return looks_like_template(data) and is_gpo_path(name)


def collect(data: bytes, path: str, host: str) -> CollectResult:
    return collect_template(data, path, host, kind=KIND, layer=Layer.GPO)


def collect_template(
    data: bytes, path: str, host: str, *, kind: str, layer: Layer
) -> CollectResult:
    """Registry values of a security template; never raises."""
    try:
        text = decode_text(data)
    except ParseError as exc:
        return failed(host, path, kind, str(exc))
    template = read_template(text)
    values: list[SettingValue] = []
    errors: list[CollectError] = []
    for number, line in template.section("registry values"):
        where = f"line {number}"
        try:
            key, name, rhs = split_registry_line(line)
            if split_hive(key)[0] != "hklm":
                raise ParseError("bad registry value line")  # noqa: TRY301
            value, code = parse_registry_data(rhs)
        except ParseError as exc:
            errors.append(CollectError(host, path, kind, f"{where}: {exc}"))
            continue
        prov = Provenance(kind=kind, path=path, location=where, layer=layer)
        values.append(SettingValue(host, setting_id(key, name), value, type_name(code), prov))
    if not any(section in SECTIONS for section in template.sections):
        return failed(host, path, kind, "not a security template: no known [section]")
    return CollectResult(values=tuple(values), errors=tuple(errors))

"""``Registry.pol`` (PReg) evidence, docs/reference.md §6.3 and [MS-GPREG] 2.2.1.

The bytes are read by :mod:`smbsign.codecs.registrypol`; this module turns its entries into
settings with provenance.

Special value names: ``**del.<name>`` deletes a value; ``**delvals.`` deletes every value of
the key (marker id ``<key>\\*``, ``value_type`` ``VALUES``); ``**DeleteValues`` deletes the
``;``-separated names in its data; ``**DeleteKeys`` deletes the listed subkeys (marker
``<key>\\<sub>\\*``, ``value_type`` ``KEY``); ``**soft.<name>`` sets a value only where it is
absent (reported as a value, location suffixed ``(soft)``); ``**SecureKey`` and type-0
key-creation records carry no setting. Hive: ``Machine`` folder (default) -> HKLM, ``User``
-> HKCU. Layer ``gpo``, or ``local`` under ``System32\\GroupPolicy`` (local policy).
"""

from __future__ import annotations

from pathlib import PureWindowsPath

from smbsign.codecs.regdata import REG_NONE, decode_data, type_name, utf16_string
from smbsign.codecs.registrypol import SIGNATURE, PolEntry, iter_entries
from smbsign.collect.base import CollectResult, failed, in_local_gpo
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import setting_id

KIND = "registrypol"


def sniff(data: bytes, name: str) -> bool:
    return data[:4] == SIGNATURE


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

"""Canonical registry setting ids, shared by collectors, the engine and remediation.

Key and value names are case-insensitive on Windows and sources mix ``LanManServer`` /
``LanmanServer`` / ``lanmanserver`` (docs/reference.md §1.1), so a setting id is the hive
abbreviation plus the lower-cased path and value name, joined by backslashes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smbsign.model import SettingValue

_HIVES = {
    "hkey_local_machine": "hklm",
    "hklm": "hklm",
    "hklm:": "hklm",
    "machine": "hklm",  # GptTmpl.inf / secedit [Registry Values] prefix
    "hkey_current_user": "hkcu",
    "hkcu": "hkcu",
    "hkcu:": "hkcu",
    "user": "hkcu",
    "hkey_users": "hku",
    "hku": "hku",
}


def split_hive(key: str) -> tuple[str, str]:
    """Return ``(hive, rest)`` with ``hive`` canonical (``hklm``); unknown hive -> ``("", key)``."""
    key = key.strip().strip("\\")
    head, sep, rest = key.partition("\\")
    hive = _HIVES.get(head.lower())
    if hive is None:
        return "", key
    return hive, rest if sep else ""


def setting_id(key: str, value: str, *, default_hive: str = "hklm") -> str:
    """Canonical id of registry value ``value`` under ``key`` (hive optional)."""
    hive, rest = split_hive(key)
    hive = hive or default_hive
    parts = [p for p in rest.split("\\") if p]
    return "\\".join([hive, *(p.lower() for p in parts), value.lower()])


def deletion_covers(marker: SettingValue, setting: str) -> bool:
    """True when key-deletion ``marker`` (id ``<key>\\*``, docs/collectors.md) deletes ``setting``.

    ``value_type`` ``KEY`` deletes the key and its subkeys; ``VALUES`` only the values
    directly under the key. Ids are compared lower-cased.
    """
    if not (marker.deleted and marker.setting.endswith("\\*")):
        return False
    prefix = marker.setting[:-1].lower()
    low = setting.lower()
    if not low.startswith(prefix) or low == prefix:
        return False
    return marker.value_type == "KEY" or "\\" not in low[len(prefix) :]

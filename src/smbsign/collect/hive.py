"""Offline registry hives: ``SYSTEM`` and ``SOFTWARE`` (``%SystemRoot%\\System32\\config``).

Recognised by the ``regf`` magic at offset 0; which hive it is comes from its root keys
(``Select`` + ``ControlSet00N`` = SYSTEM, ``Microsoft`` or ``Policies`` = SOFTWARE), else from
the file name in its base block. Only the (key, value) pairs the caller asks for are read
(``wanted``: the audit passes every registry value its catalog checks or sets), plus the
host-fact values of docs/reference.md §3.5, never the whole hive (reading is bounded, see
:mod:`smbsign.collect.hivefile`).

A SYSTEM hive has no ``CurrentControlSet``: ``Select\\Current`` names the control set in use
(``3`` = ``ControlSet003``); values under it get the canonical
``hklm\\system\\currentcontrolset\\...`` ids (docs/reference.md §1.1, §1.3) while
``Provenance.location`` names the real path. Facts: role from
``Control\\ProductOptions\\ProductType`` (SYSTEM), build/edition/product name from
``Microsoft\\Windows NT\\CurrentVersion`` (SOFTWARE), docs/reference.md §3.5. Layer as for every
registry read (:func:`~smbsign.collect.base.registry_layer`): ``gpo`` under
``SOFTWARE\\Policies``, ``mdm`` under ``SOFTWARE\\Microsoft\\PolicyManager``, else ``local``.
Damage (checksum, dirty hive, truncation, unreadable records) is a ``CollectError``; values
that could be read are still returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from smbsign.codecs.regdata import REG_DWORD, type_name
from smbsign.collect.base import CollectResult, failed, registry_layer
from smbsign.collect.winfacts import FACT_VALUES, windows_facts
from smbsign.errors import ParseError
from smbsign.model import CollectError, Layer, Provenance, SettingValue
from smbsign.regpath import setting_id, split_hive

if TYPE_CHECKING:
    from smbsign.collect.hivefile import Hive

KIND = "hive"
MAGIC = b"regf"
#: Largest hive file read (SOFTWARE hives of busy servers reach a few hundred MiB).
MAX_HIVE_BYTES = 512 * 2**20
SYSTEM = "SYSTEM"
SOFTWARE = "SOFTWARE"


def sniff(data: bytes, name: str) -> bool:
    """A registry hive starts with ``regf`` (msuhanov/regf, "Base block")."""
    return data[:4] == MAGIC


def hive_kind(hive: Hive) -> str | None:
    """``SYSTEM``, ``SOFTWARE`` or None, from the root keys, else the base block's file name."""
    names = set(hive.children(hive.root, ()))
    if "select" in names and any(n.startswith("controlset") for n in names):
        return SYSTEM
    if names & {"microsoft", "policies"}:
        return SOFTWARE
    base = hive.file_name.replace("/", "\\").rsplit("\\", 1)[-1].upper()
    return base if base in (SYSTEM, SOFTWARE) else None


def current_control_set(hive: Hive) -> str:
    """Name of the control set ``Select\\Current`` points to (e.g. ``ControlSet001``)."""
    found = hive.key(("Select",))
    got = hive.value(found[0], "Current", "Select") if found else None
    if got is None:
        raise ParseError("Select\\Current is missing: cannot tell which ControlSet is current")
    data, code, _ = got
    if code != REG_DWORD or not isinstance(data, int) or not 0 < data < 1000:
        raise ParseError(f"Select\\Current is not a control set number ({type_name(code)})")
    name = f"ControlSet{data:03d}"
    if hive.key((name,)) is None:
        raise ParseError(f"Select\\Current names {name}, which the hive does not have")
    return name


def _hive_path(key: str, kind: str, control_set: str | None) -> tuple[str, ...] | None:
    """Path of ``key`` inside a ``kind`` hive; None when it lives elsewhere."""
    hive, rest = split_hive(key)
    parts = [p for p in rest.split("\\") if p]
    if hive != "hklm" or not parts or parts[0].upper() != kind:
        return None
    parts = parts[1:]
    if kind == SYSTEM and parts and parts[0].lower() == "currentcontrolset":
        if control_set is None:
            return None
        parts[0] = control_set
    return tuple(parts)


def collect(
    data: bytes, path: str, host: str, *, wanted: Iterable[tuple[str, str]] = ()
) -> CollectResult:
    """The ``wanted`` (key, value) pairs and the host facts; never raises.

    The caller says what to read (:func:`smbsign.audit.sources.registry_wanted` of the catalog
    being judged); asked for nothing, only the facts are read and an error says so, as an
    audit that read nothing must not look clean.
    """
    if len(data) > MAX_HIVE_BYTES:
        return failed(
            host, path, KIND, f"hive is {len(data)} bytes, over the {MAX_HIVE_BYTES} limit"
        )
    pairs = list(wanted)
    from smbsign.collect.hivefile import Hive, printable

    try:
        hive = Hive(data)
        kind = hive_kind(hive)
    except ParseError as exc:
        return failed(host, path, KIND, str(exc))
    messages = list(hive.problems)
    if not pairs:
        messages.append("no registry values were asked for: only host facts read")
    if kind is None:
        messages.append(
            f"not a SYSTEM or SOFTWARE hive (file name {printable(hive.file_name)!r}): nothing read"
        )
        return _result(host, path, [], messages)
    control_set = None
    if kind == SYSTEM:
        try:
            control_set = current_control_set(hive)
        except ParseError as exc:
            messages.append(str(exc))
    values: list[SettingValue] = []
    seen: set[str] = set()
    for key, name in [*pairs, *FACT_VALUES]:
        sid = setting_id(key, name)
        where = _hive_path(key, kind, control_set)
        if sid in seen or where is None:
            continue
        seen.add(sid)
        try:
            found = hive.key(where)
            got = hive.value(found[0], name, "\\".join(found[1])) if found else None
        except ParseError as exc:
            messages.append(str(exc))
            continue
        if found is None or got is None:
            continue
        value, code, stored_name = got
        location = "\\".join(("HKLM", kind, *found[1], stored_name))
        prov = Provenance(KIND, path, location, registry_layer(sid, Layer.LOCAL))
        values.append(SettingValue(host, sid, value, type_name(code), prov))
    return _result(host, path, values, messages)


def _result(host: str, path: str, values: list[SettingValue], messages: list[str]) -> CollectResult:
    facts = windows_facts(host, {v.setting: v.value for v in values}, path)
    errors = tuple(CollectError(host, path, KIND, m) for m in dict.fromkeys(messages))
    return CollectResult(values=tuple(values), facts=facts, errors=errors)

"""Windows applier: snapshot -> typed registry writes -> read back -> rollback.

Registry access goes through :class:`RegistryWriter`, a three-method interface, so that the
local ``winreg`` writer here and later remote writers (MS-RRP remote registry, WinRM) plug in
the same way. The snapshot records, for every value the plan touches, its previous type and
data or that it was absent (and whether its key existed); rollback writes the previous type
and data back and deletes the values that were absent (docs/reference.md §8: HardeningKitty had no
automatic backup). Keys are never deleted. Values are always written with their catalog type
(REG_DWORD, never a string, docs/reference.md §1.1); a value that is a minimum level and already
higher (``at_least`` controls) is left alone. Direct registry writes are the lowest layer: a
GPO that sets the same value reverts them (docs/reference.md §4.1).

:class:`MemoryRegistry` is an in-memory registry loaded from a recording (JSON); tests use it
because no Windows host runs in this project's CI.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from smbsign.codecs.regdata import type_name
from smbsign.errors import RemediationError
from smbsign.regpath import setting_id, split_hive
from smbsign.remediate.apply.base import Preview, Verification
from smbsign.remediate.plan import Plan
from smbsign.remediate.render._common import at_least, short_key, typed_data
from smbsign.remediate.snapshot import (
    KIND_WINDOWS,
    PriorValue,
    RegData,
    Snapshot,
    SnapshotStore,
    prior_from_dict,
    prior_to_dict,
    type_code,
)


class RegistryWriter(Protocol):
    """Read, write and delete one registry value; errors are ``OSError``."""

    def read(self, key: str, name: str) -> PriorValue: ...

    def write(self, key: str, name: str, vtype: str, data: RegData) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


def _same(state: PriorValue, vtype: str, data: RegData) -> bool:
    if not state.present or state.type != vtype:
        return False
    if isinstance(data, int) and isinstance(state.data, int):
        return (state.data & 0xFFFFFFFFFFFFFFFF) == (data & 0xFFFFFFFFFFFFFFFF)
    return state.data == data


def _satisfied(state: PriorValue, vtype: str, data: RegData, minimum: bool) -> bool:
    """The desired data, or for a minimum level (``at_least`` control) a higher number."""
    if (
        minimum
        and state.present
        and state.type == vtype
        and isinstance(state.data, int)
        and isinstance(data, int)
    ):
        return state.data >= data
    return _same(state, vtype, data)


def _show(state: PriorValue) -> str:
    if not state.present:
        return "(absent)"
    data = ",".join(state.data) if isinstance(state.data, tuple) else state.data
    return f"{data!s} ({state.type})"


class MemoryRegistry:
    """A registry in memory, loaded from a recording; optional failure injection.

    Recording format: ``{"keys": [key, ...], "values": [{"key", "name", "type", "data"}]}``
    (``data``: int, string, list of strings, or hex for binary), keys with hive (``HKLM\\...``).
    """

    def __init__(self, recording: Mapping[str, Any] | None = None) -> None:
        self._keys: set[str] = set()
        self._key_names: dict[str, str] = {}  # key id -> casing it was created with
        self._values: dict[str, PriorValue] = {}
        self.fail_writes: set[str] = set()  # value names whose write raises (fault injection)
        self.writes: list[tuple[str, str, str]] = []
        for key in (recording or {}).get("keys", ()):
            self._keys.add(self._kid(str(key)))
        for v in (recording or {}).get("values", ()):
            p = prior_from_dict({**v, "present": True})
            self._put(p.key, p.name, str(p.type), p.data)

    @classmethod
    def from_json(cls, text: str) -> MemoryRegistry:
        return cls(json.loads(text))

    @staticmethod
    def _kid(key: str) -> str:
        hive, rest = split_hive(key)
        return "\\".join([hive or "hklm", *(p.lower() for p in rest.split("\\") if p)])

    def _put(self, key: str, name: str, vtype: str, data: RegData) -> None:
        kid = self._kid(key)
        parts = kid.split("\\")
        for i in range(2, len(parts) + 1):
            self._keys.add("\\".join(parts[:i]))
        # Like Windows, keep the casing a key and a value name were created with.
        shown = self._key_names.setdefault(kid, key)
        old = self._values.get(setting_id(key, name))
        self._values[setting_id(key, name)] = PriorValue(
            shown, old.name if old else name, True, vtype, data
        )

    def read(self, key: str, name: str) -> PriorValue:
        found = self._values.get(setting_id(key, name))
        if found is not None:
            return PriorValue(key, name, True, found.type, found.data, True)
        return PriorValue(key, name, False, key_existed=self._kid(key) in self._keys)

    def write(self, key: str, name: str, vtype: str, data: RegData) -> None:
        if name in self.fail_writes:
            raise PermissionError(13, "Access is denied", f"{key}\\{name}")
        self.writes.append((key, name, vtype))
        self._put(key, name, vtype, data)

    def delete(self, key: str, name: str) -> None:
        self.writes.append((key, name, "delete"))
        self._values.pop(setting_id(key, name), None)

    def dump(self) -> dict[str, Any]:
        """The current contents, in the recording format (for comparisons)."""
        return {
            "keys": sorted(self._keys),
            "values": sorted(
                (prior_to_dict(v) for v in self._values.values()),
                key=lambda d: (d["key"].lower(), d["name"].lower()),
            ),
        }


if sys.platform == "win32":  # pragma: no cover - exercised only on Windows
    import winreg

    _ROOTS = {
        "hklm": winreg.HKEY_LOCAL_MACHINE,
        "hkcu": winreg.HKEY_CURRENT_USER,
        "hku": winreg.HKEY_USERS,
    }
    _VIEW = winreg.KEY_WOW64_64KEY

    class WinregWriter:
        """The local registry through ``winreg`` (64-bit view)."""

        def _open(self, key: str, access: int) -> winreg.HKEYType:
            hive, rest = split_hive(key)
            return winreg.OpenKeyEx(_ROOTS[hive or "hklm"], rest, 0, access | _VIEW)

        def read(self, key: str, name: str) -> PriorValue:
            try:
                handle = self._open(key, winreg.KEY_READ)
            except FileNotFoundError:
                return PriorValue(key, name, False, key_existed=False)
            with handle:
                try:
                    data, code = winreg.QueryValueEx(handle, name)
                except FileNotFoundError:
                    return PriorValue(key, name, False, key_existed=True)
            vtype = type_name(code)  # other types than DWORD/QWORD/strings come back as bytes
            value: RegData = tuple(data) if isinstance(data, list) else data
            return PriorValue(key, name, True, vtype, value, True)

        def write(self, key: str, name: str, vtype: str, data: RegData) -> None:
            hive, rest = split_hive(key)
            handle = winreg.CreateKeyEx(
                _ROOTS[hive or "hklm"], rest, 0, winreg.KEY_SET_VALUE | _VIEW
            )
            with handle:
                value = list(data) if isinstance(data, tuple) else data
                winreg.SetValueEx(handle, name, 0, type_code(vtype), value)

        def delete(self, key: str, name: str) -> None:
            try:
                handle = self._open(key, winreg.KEY_SET_VALUE)
            except FileNotFoundError:
                return
            with handle:
                try:
                    winreg.DeleteValue(handle, name)
                except FileNotFoundError:
                    return


def _targets(plan: Plan) -> list[tuple[str, str, str, RegData, str, bool]]:
    """(key, name, type, data, control, minimum) for every registry value of the plan."""
    return [
        (r.key, r.value, r.type, typed_data(r), ch.id, at_least(ch.control, r))
        for ch in plan.changes
        for r in ch.registry
    ]


def restore(writer: RegistryWriter, priors: Iterable[PriorValue]) -> None:
    """Write back previous values that differ now; delete values that were absent; raise if
    one still differs afterwards (values that were never changed are not written)."""
    priors = list(priors)
    for p in priors:
        now = writer.read(p.key, p.name)
        if p.present and not _same(now, str(p.type), p.data):
            writer.write(p.key, p.name, str(p.type), p.data)
        elif not p.present and now.present:
            writer.delete(p.key, p.name)
    wrong = []
    for p in priors:
        now = writer.read(p.key, p.name)
        if not (_same(now, str(p.type), p.data) if p.present else not now.present):
            wrong.append(f"{short_key(p.key)}\\{p.name}")
    if wrong:
        raise RemediationError(f"not restored: {', '.join(wrong)}")


class WindowsApplier:
    """Safe registry remediation on one machine through a :class:`RegistryWriter`."""

    def __init__(self, writer: RegistryWriter, store: SnapshotStore) -> None:
        self.writer = writer
        self.store = store
        self._plan: Plan | None = None

    def preview(self, plan: Plan) -> Preview:
        self._plan = plan
        lines = []
        for key, name, vtype, data, _, minimum in _targets(plan):
            state = self.writer.read(key, name)
            if not _satisfied(state, vtype, data, minimum):
                want = PriorValue(key, name, True, vtype, data)
                lines.append(f"{short_key(key)}\\{name}: {_show(state)} -> {_show(want)}")
        return Preview("".join(f"{ln}\n" for ln in lines), tuple(lines))

    def snapshot(self) -> Snapshot:
        if self._plan is None:
            raise RemediationError("snapshot() needs preview(plan) first")
        priors = [
            {**prior_to_dict(self.writer.read(key, name)), "control": control}
            for key, name, _, _, control, _ in _targets(self._plan)
        ]
        return self.store.create(KIND_WINDOWS, {"values": priors, "cmdlets": []})

    def change(self, plan: Plan) -> None:
        self._plan = plan
        for key, name, vtype, data, _, minimum in _targets(plan):
            if not _satisfied(self.writer.read(key, name), vtype, data, minimum):
                try:
                    self.writer.write(key, name, vtype, data)
                except OSError as exc:
                    raise RemediationError(
                        f"cannot write {short_key(key)}\\{name}: {exc.strerror or exc}"
                    ) from None

    def verify(self) -> Verification:
        if self._plan is None:
            return Verification(False, ("nothing was changed",))
        details, ok = [], True
        for key, name, vtype, data, _, minimum in _targets(self._plan):
            state = self.writer.read(key, name)
            good = _satisfied(state, vtype, data, minimum)
            ok = ok and good
            details.append(
                f"{short_key(key)}\\{name} = {_show(state)}"
                + ("" if good else " (not the desired value)")
            )
        return Verification(ok, tuple(details))

    def rollback(self, snapshot: Snapshot) -> None:
        try:
            restore(self.writer, snapshot.priors())
        except OSError as exc:
            raise RemediationError(f"rollback write failed: {exc.strerror or exc}") from None


def rollback_windows(snapshot: Snapshot, writer: RegistryWriter, store: SnapshotStore) -> Snapshot:
    """``smbsign rollback`` for a Windows snapshot: save the current values, then restore."""
    priors: Sequence[PriorValue] = snapshot.priors()
    current = [{**prior_to_dict(writer.read(p.key, p.name)), "control": p.control} for p in priors]
    safety = store.create(
        KIND_WINDOWS,
        {"values": current, "cmdlets": [], "reason": f"before rollback of {snapshot.id}"},
    )
    try:
        restore(writer, priors)
    except OSError as exc:
        raise RemediationError(f"rollback write failed: {exc.strerror or exc}") from None
    return safety

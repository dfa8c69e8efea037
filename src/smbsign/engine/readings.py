"""Evidence for one control, normalised, and which configured layer wins (pure).

A :class:`Reading` is one observed value of the setting a control checks, already judged
against the control's expectation. :func:`pick` applies the precedence rules of reference.md §4.1:

- layers rank MDM > GPO > local (> a reported default);
- for ADMX policies, a value under ``Software\\Policies`` (``policy_key``) beats the
  ``Services\\...\\Parameters`` value whatever layer wrote either (the service reads the
  policy key first; docs/reference.md §1.3, §4.1 and KB4046019);
- a value of the wrong registry type is not honoured (docs/reference.md §1.1: REG_SZ "1" is not
  REG_DWORD 1) and an explicit deletion (``"Name"=-``, ``**del.Name``) at a layer means
  "absent at that layer": it hides lower layers of the same location, so the default applies
  unless a higher layer sets the value;
- within one layer, a later line of the same file overrides an earlier one (smb.conf(5),
  regedit, secedit); two *different* files of the same layer that disagree cannot be ordered
  from the files alone (GPO link order is not in them), so the pick is a conflict unless both
  values give the same verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from smbsign.catalog.schema import Expect
from smbsign.model import Layer, Provenance, SettingValue
from smbsign.regpath import setting_id, split_hive
from smbsign.textutil import is_decimal

#: Configured layers, highest precedence first (docs/reference.md §4.1).
CONFIG_RANK: dict[Layer, int] = {Layer.MDM: 3, Layer.GPO: 2, Layer.LOCAL: 1, Layer.DEFAULT: 0}

Scalar = int | str | bool | None
#: Items an explanation lists one by one; the rest are counted (#11 item 19).
MAX_LISTED = 5
#: Notes a finding carries one by one; the rest are counted.
MAX_NOTES = 20


def summarise(items: Sequence[str], limit: int = MAX_LISTED, sep: str = "; ") -> str:
    """``items`` joined, at most ``limit`` of them, then ``and K more``: every list an
    explanation builds goes through here, so a reason stays short whatever the evidence."""
    shown = sep.join(items[:limit])
    more = len(items) - limit
    return f"{shown}{sep}and {more} more" if more > 0 else shown


def bound_notes(notes: Sequence[str], limit: int = MAX_NOTES) -> tuple[str, ...]:
    """At most ``limit`` notes, the last one counting those left out."""
    if len(notes) <= limit:
        return tuple(notes)
    return (*notes[: limit - 1], f"and {len(notes) - limit + 1} more notes like these")


def canonical_setting(setting: str) -> str:
    """Canonical form of a setting id for comparison (registry ids through :mod:`regpath`)."""
    s = setting.strip()
    low = s.lower()
    if low.startswith(("samba:", "pwsh:")):
        head, _, rest = low.partition(":")
        return f"{head}:{' '.join(rest.split())}" if head == "samba" else low
    hive, rest = split_hive(s)
    key, _, value = rest.rpartition("\\")
    return setting_id(f"{hive or 'hklm'}\\{key}", value)


def describe_source(src: Provenance) -> str:
    """``GPO (GptTmpl.inf line 12)`` style label of a provenance."""
    name = PurePath(src.path.replace("\\", "/")).name if src.path else src.kind
    where = f" {src.location}" if src.location else ""
    return f"{_LAYER_LABEL.get(src.layer, src.layer.value)} ({name}{where})"


_LAYER_LABEL = {
    Layer.MDM: "MDM",
    Layer.GPO: "GPO",
    Layer.LOCAL: "local",
    Layer.EFFECTIVE: "effective",
    Layer.WIRE: "wire",
    Layer.DEFAULT: "default",
}


def _norm(v: Scalar) -> Scalar:
    """Comparable form: bools and digit strings become ints, other strings lower-case."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        t = v.strip()
        if is_decimal(t[1:] if t.startswith("-") else t):  # not "--5", not "²"
            return int(t)
        if t.lower() in ("true", "false"):
            return int(t.lower() == "true")
        return t.lower()
    return v


def judgeable(expect: Expect, value: Scalar) -> bool:
    """False when ``value`` is not of the kind ``expect`` compares with: a Boolean or number
    expected and some other text reported (a damaged or hand-edited file), which is never
    judged as a failure (or a pass) of the setting."""
    v = _norm(value)
    numeric = expect.at_least is not None or isinstance(expect.equals, bool | int)
    return isinstance(v, int) if numeric else v is not None


def expect_matches(expect: Expect, value: Scalar) -> bool:
    """True when ``value`` meets ``expect`` (equals / at_least / one_of)."""
    v = _norm(value)
    if expect.equals is not None:
        return v == _norm(expect.equals)
    if expect.at_least is not None:
        return isinstance(v, int) and v >= expect.at_least
    return any(v == _norm(x) for x in expect.one_of or ())


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of the checked setting, judged.

    ``passes`` is None when the value cannot be judged on its own (Samba ``default``, whose
    meaning depends on the server role). ``policy`` marks a ``Software\\Policies`` location.
    """

    setting: str
    value: Scalar
    observed: str | int | bool | None
    source: Provenance
    honoured: bool = True
    passes: bool | None = None
    deleted: bool = False
    policy: bool = False
    note: str = ""
    order: int = 0  # position in the input (later wins within one file)

    @property
    def same_as(self) -> tuple[bool, Scalar]:
        return (self.deleted, _norm(self.value))


def registry_reading(
    sv: SettingValue, want_type: str, expect: Expect, *, policy: bool, order: int
) -> Reading:
    """Judge a registry value; a wrong type is kept but marked not honoured."""
    if sv.deleted:
        return Reading(
            sv.setting, None, "deleted", sv.provenance, deleted=True, policy=policy, order=order
        )
    vtype = sv.value_type.upper()
    if vtype != want_type.upper():
        note = (
            f"{vtype} value {sv.value!r} in {describe_source(sv.provenance)} ignored: "
            f"Windows only honours {want_type.upper()} for this setting"
        )
        return Reading(
            sv.setting,
            _scalar(sv.value),
            f"{vtype}:{_scalar(sv.value)}",
            sv.provenance,
            honoured=False,
            policy=policy,
            note=note,
            order=order,
        )
    value = _scalar(sv.value)
    return Reading(
        sv.setting,
        value,
        value if not isinstance(value, bool) else int(value),
        sv.provenance,
        passes=expect_matches(expect, value),
        policy=policy,
        order=order,
    )


def _scalar(v: object) -> Scalar:
    if v is None or isinstance(v, int | str | bool):
        return v
    if isinstance(v, tuple):
        return ",".join(str(x) for x in v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


@dataclass(frozen=True, slots=True)
class Pick:
    """Result of layer precedence among configured readings.

    ``winner`` is None when nothing honoured is configured (or a deletion wins: then
    ``deleted_by`` names it). ``conflict`` is set when same-rank sources disagree on the
    verdict. ``notes`` explain every value that lost or was ignored.
    """

    winner: Reading | None
    deleted_by: Reading | None = None
    conflict: str = ""
    notes: tuple[str, ...] = ()


def _overridden_note(winner: Reading, loser: Reading) -> str:
    w, lo = winner.source.layer, loser.source.layer
    tail = ""
    if w is Layer.GPO and lo is Layer.LOCAL:
        tail = "; the local value is reverted at the next Group Policy refresh"
    elif w is Layer.MDM and lo is Layer.GPO:
        tail = (
            "; MDM wins only with ControlPolicyConflict/MDMWinsOverGP = 1, otherwise "
            "which one applies is a race (docs/reference.md §4.1)"
        )
    elif winner.policy and not loser.policy:
        tail = "; the Software\\Policies value overrides the Parameters value"
    what = "deletes it" if winner.deleted else f"sets {winner.observed}"
    lost = "deletes it" if loser.deleted else f"sets {loser.observed}"
    head = f"{describe_source(winner.source)} {what}; {describe_source(loser.source)} {lost}"
    if w is lo and winner.policy == loser.policy:
        if winner.source.path == loser.source.path:
            return f"{head} — the later line wins"
        if winner.deleted == loser.deleted and winner.passes == loser.passes:
            return f"{head} — same layer; both give the same verdict, so their order is moot"
        return (
            f"{head} — same layer; their order cannot be known from the files (e.g. GPO link "
            "order), so which one applies is not known"
        )
    return f"{head} — {_LAYER_LABEL.get(w, w.value)} wins{tail}"


def rank(r: Reading) -> float:
    """Precedence of a configured reading. A Registry.pol ``**soft.`` value is written only
    where the value is absent (MS-GPREG 2.2.1), so it ranks below any value actually set."""
    if r.source.location.endswith("(soft)"):
        return 0.5
    return CONFIG_RANK.get(r.source.layer, 0)


def _top_of_slot(readings: Sequence[Reading]) -> tuple[Reading | None, str, list[Reading]]:
    """Winner within one location (policy or Parameters): highest layer, last in a file."""
    if not readings:
        return None, "", []
    top_rank = max(rank(r) for r in readings)
    top = [r for r in readings if rank(r) == top_rank]
    last_per_file: dict[str, Reading] = {}
    for r in sorted(top, key=lambda r: r.order):
        last_per_file[r.source.path] = r
    finals = list(last_per_file.values())
    winner = finals[-1]
    conflict = ""
    if len({f.same_as for f in finals}) > 1:
        verdicts = {None if f.deleted else f.passes for f in finals}
        if len(verdicts) > 1:
            listed = summarise(
                [
                    f"{describe_source(f.source)} "
                    f"{'deletes it' if f.deleted else f'sets {f.observed}'}"
                    for f in finals
                ]
            )
            conflict = (
                f"sources of the same layer disagree and their order cannot be known from "
                f"the files (e.g. GPO link order): {listed}"
            )
    losers = [r for r in readings if r is not winner and r not in finals]
    losers += [f for f in finals if f is not winner]
    return winner, conflict, losers


def pick(readings: Sequence[Reading]) -> Pick:
    """Apply reference.md §4.1 precedence to configured readings (any layer but effective/wire)."""
    notes = [r.note for r in readings if not r.honoured and r.note]
    honoured = [r for r in readings if r.honoured]
    policy_slot = [r for r in honoured if r.policy]
    param_slot = [r for r in honoured if not r.policy]
    p_win, p_conflict, p_losers = _top_of_slot(policy_slot)
    losers: list[Reading] = []
    winner: Reading | None
    if p_win is not None and not p_win.deleted:
        winner, conflict = p_win, p_conflict
        losers = p_losers + param_slot
    else:
        winner, conflict, losers = _top_of_slot(param_slot)
        if p_win is not None:
            notes.append(
                f"{describe_source(p_win.source)} deletes the policy value, so the "
                "Parameters value applies"
            )
    for lo in losers:
        if winner is not None and lo.same_as != winner.same_as:
            notes.append(_overridden_note(winner, lo))
    if winner is not None and winner.deleted:
        return Pick(None, deleted_by=winner, conflict=conflict, notes=tuple(notes))
    return Pick(winner, conflict=conflict, notes=tuple(notes))

"""What a control's values mean, read from the catalog (pure): no key names, no tables.

Each check of a control lists the data its setting accepts (``allowed``, in order from the
weakest to the strongest where that applies) and the control says which side of the host it
configures (``side``). From these and the control's own check and desired state:

- :func:`accepts` - does a datum pass a registry or cmdlet check (``Expect``);
- :func:`samba_accepts` - does an smb.conf value pass a Samba check (synonyms folded,
  docs/reference.md §4.3);
- :func:`registry_pair` / :func:`cmdlet_pair` / :func:`samba_pair` - one passing and one failing
  datum: the desired value, and the failing allowed value nearest to it in the ``allowed``
  order (the fixture matrix writes one case of each, ``tests/fixtures/matrix``);
- :func:`domains` - registry setting id -> the integers it accepts (the importers normalise
  checklist expectations over them);
- :func:`key_sides` - registry key -> the side of the controls that read or write it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from smbsign.catalog.schema import Allowed, Control, Expect, Side
from smbsign.regpath import setting_id

# smb.conf spellings of the signing enums -> canonical value (docs/reference.md §4.3).
_SIGNING_ALIASES = {
    **dict.fromkeys(("no", "false", "0", "off", "disabled"), "off"),
    **dict.fromkeys(("if_required", "yes", "true", "1", "on", "enabled", "auto"), "if_required"),
    "desired": "desired",
    **dict.fromkeys(("required", "mandatory", "force", "forced", "enforced"), "required"),
    "default": "default",
}

Datum = int | str | bool


def canonical_samba(parameter: str, value: str) -> str:
    """Canonical form of a Samba value for comparison (signing enums; else lower-case)."""
    low = value.strip().lower()
    if parameter.strip().lower().endswith("signing"):
        return _SIGNING_ALIASES.get(low, low)
    return low


def accepts(expect: Expect, data: object) -> bool:
    """True when ``data`` passes ``expect`` (a bool only equals a bool, an int an int)."""
    if expect.equals is not None:
        return type(data) is type(expect.equals) and data == expect.equals
    if expect.at_least is not None:
        return isinstance(data, int) and not isinstance(data, bool) and data >= expect.at_least
    return data in (expect.one_of or ())


def samba_accepts(parameter: str, passing: Iterable[str], value: str) -> bool:
    """True when the smb.conf ``value`` is one of ``passing`` once synonyms are folded."""
    want = {canonical_samba(parameter, p) for p in passing}
    return canonical_samba(parameter, value) in want


def nearest_failing(allowed: Sequence[Datum], passes: Sequence[bool], start: int) -> int | None:
    """Index of the failing value nearest to ``allowed[start]`` (the earlier one on a tie)."""
    fails = [i for i, ok in enumerate(passes) if not ok]
    if not fails:
        return None
    return min(fails, key=lambda i: (abs(i - start), i))


def _pair(
    allowed: Allowed, passes: list[bool], desired: Datum, same: list[bool]
) -> tuple[Datum, Datum] | None:
    values = [a.value for a in allowed]
    if True not in same:
        return None
    i = nearest_failing(values, passes, same.index(True))
    return None if i is None else (desired, values[i])


def registry_pair(control: Control) -> tuple[Datum, Datum] | None:
    """(passing, failing) data of the checked registry value: the desired data and the failing
    allowed value nearest to it; None without a registry check, allowed values or desired data."""
    reg = control.check.registry
    if reg is None or not reg.allowed:
        return None
    targets = {setting_id(reg.key, reg.value)}
    if reg.policy_key:
        targets.add(setting_id(reg.policy_key, reg.value))
    data = [r.data for r in control.desired.registry if setting_id(r.key, r.value) in targets]
    if not data:
        return None
    passes = [accepts(reg.expected, a.value) for a in reg.allowed]
    return _pair(reg.allowed, passes, data[0], [a.value == data[0] for a in reg.allowed])


def cmdlet_pair(control: Control) -> tuple[Datum, Datum] | None:
    """(passing, failing) values of the checked cmdlet property, as :func:`registry_pair`."""
    cmd, want = control.check.cmdlet, control.desired.cmdlet
    if cmd is None or not cmd.allowed:
        return None
    passes = [accepts(cmd.expected, a.value) for a in cmd.allowed]
    if want is not None and want.parameter.lower() == cmd.property.lower():
        desired: Datum = want.value
    else:  # no Set- parameter of that name: the first passing allowed value
        if True not in passes:
            return None
        desired = cmd.allowed[passes.index(True)].value
    same = [type(a.value) is type(desired) and a.value == desired for a in cmd.allowed]
    return _pair(cmd.allowed, passes, desired, same)


def samba_pair(control: Control) -> tuple[str, str] | None:
    """(passing, failing) smb.conf values of the checked parameter, as :func:`registry_pair`
    (synonyms folded: ``mandatory`` is the place of ``required`` in the order)."""
    chk = control.check.samba
    if chk is None or not chk.allowed:
        return None
    param = chk.parameter
    mine = [s.value for s in control.desired.samba if s.parameter.lower() == param.lower()]
    if not mine:
        return None
    canon = [canonical_samba(param, str(a.value)) for a in chk.allowed]
    passes = [samba_accepts(param, chk.passing, str(a.value)) for a in chk.allowed]
    desired = canonical_samba(param, mine[0])
    if desired not in canon:
        return None
    i = nearest_failing(canon, passes, canon.index(desired))
    return None if i is None else (mine[0], str(chk.allowed[i].value))


def domains(controls: Iterable[Control]) -> dict[str, tuple[int, ...]]:
    """Registry setting id -> the integers it accepts, from every integer ``allowed`` list
    (under ``key`` and, for an ADMX policy, ``policy_key``)."""
    out: dict[str, tuple[int, ...]] = {}
    for c in controls:
        reg = c.check.registry
        if reg is None or not reg.allowed:
            continue
        ints = [a.value for a in reg.allowed]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            continue
        dom = tuple(sorted({int(v) for v in ints}))
        for key in (reg.key, reg.policy_key):
            if key:
                out[setting_id(key, reg.value)] = dom
    return out


def registry_keys(control: Control) -> list[str]:
    """Every registry key the control reads or writes (check and desired state)."""
    reg = control.check.registry
    keys = [reg.key, *([reg.policy_key] if reg.policy_key else [])] if reg else []
    return keys + [r.key for r in control.desired.registry]


def _key_id(key: str) -> str:
    return setting_id(key, "").rstrip("\\")


def key_sides(controls: Iterable[Control]) -> Mapping[str, Side]:
    """Canonical registry key (``setting_id`` without a value) -> the side of the controls
    that read or write it (catalog/integrity.py refuses a key claimed by both sides)."""
    out: dict[str, Side] = {}
    for c in controls:
        for key in registry_keys(c):
            out.setdefault(_key_id(key), c.side)
    return out


def side_of_setting(sides: Mapping[str, Side], setting: str) -> Side | None:
    """The side of the key a canonical setting id (``hklm\\...\\value``) lives under, or None
    when no control reads or writes that key."""
    return sides.get(setting.rpartition("\\")[0])

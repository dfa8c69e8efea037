"""Verdict of one control on a Windows host (pure).

Evidence: registry values (``.reg``, GptTmpl.inf/secedit, Registry.pol, a live registry),
``Get-Smb*Configuration`` properties (effective, reference.md §6.8) and the wire. Registry values
of the wrong type are ignored (docs/reference.md §1.1); layers are ranked by
:func:`smbsign.engine.readings.pick` (docs/reference.md §4.1).
"""

from __future__ import annotations

from dataclasses import replace

from smbsign.catalog.schema import Control, Expect, RegistryCheck, RegistryOverride
from smbsign.engine.decide import combine, configured_outcome, default_outcome, status_of
from smbsign.engine.readings import (
    Reading,
    Scalar,
    describe_source,
    expect_matches,
    judgeable,
    pick,
    rank,
    registry_reading,
)
from smbsign.engine.types import Evidence, Outcome
from smbsign.engine.wire import WIRE_CHECKS
from smbsign.model import Layer, Provenance, Status
from smbsign.regpath import setting_id


def cmdlet_setting(cmdlet: str, prop: str) -> str:
    """Canonical id of a cmdlet property (``pwsh:Get-SmbServerConfiguration:Prop``)."""
    return f"pwsh:{cmdlet}:{prop}".lower()


def registry_readings(control: Control, ev: Evidence) -> tuple[list[Reading], list[Reading]]:
    """(configured, effective) readings of the control's registry value(s)."""
    reg = control.check.registry
    if reg is None:
        return [], []
    main = setting_id(reg.key, reg.value)
    policy = setting_id(reg.policy_key, reg.value) if reg.policy_key else None
    configured: list[Reading] = []
    effective: list[Reading] = []
    found = [(o, sv, False) for o, sv in ev.lookup(main)]
    found += [(o, sv, True) for o, sv in ev.lookup(policy)] if policy else []
    for order, sv, is_policy in sorted(found, key=lambda t: t[0]):
        r = registry_reading(sv, reg.type, reg.expected, policy=is_policy, order=order)
        (effective if sv.provenance.layer is Layer.EFFECTIVE else configured).append(r)
    return configured, effective


def _cmdlet_outcome(control: Control, ev: Evidence) -> tuple[Outcome | None, str]:
    """The cmdlet's verdict, or None and a note when its value cannot be judged."""
    cmd = control.check.cmdlet
    if cmd is None:
        return None, ""
    found = ev.lookup(cmdlet_setting(cmd.cmdlet, cmd.property))
    if not found:
        return None, ""
    _, sv = found[-1]
    value: Scalar = sv.value if isinstance(sv.value, int | str | bool) else None
    if value is None:
        return None, ""
    expected = cmd.expected.describe()
    if not judgeable(cmd.expected, value):
        return None, (
            f"{cmd.cmdlet} reports {cmd.property} = {value!r} ({describe_source(sv.provenance)}), "
            f"which is not a value that property takes: ignored"
        )
    return Outcome(
        status_of(expect_matches(cmd.expected, value)),
        value,
        expected,
        sv.provenance,
        f"{cmd.cmdlet} reports {cmd.property} = {value} ({describe_source(sv.provenance)}); "
        f"expected {expected}",
    ), ""


def _registry_effective(effective: list[Reading], expected: str, name: str) -> Outcome | None:
    honoured = [r for r in effective if r.honoured and not r.deleted and r.passes is not None]
    if not honoured:
        return None
    r = honoured[-1]
    return Outcome(
        status_of(bool(r.passes)),
        r.observed,
        expected,
        r.source,
        f"{name} = {r.observed} reported by {describe_source(r.source)}; expected {expected}",
    )


def windows_outcome(control: Control, ev: Evidence) -> Outcome:
    """Decide ``control`` for a Windows host."""
    chk = control.check
    reg, cmd = chk.registry, chk.cmdlet
    if reg is None and cmd is None and chk.wire is None:
        return Outcome(Status.UNKNOWN, None, "", None, "the control has no Windows check")
    if reg is not None:
        name, expected = reg.value, f"{reg.type} {reg.expected.describe()}"
        expect = reg.expected
    elif cmd is not None:
        name, expected, expect = cmd.property, cmd.expected.describe(), cmd.expected
    else:
        name, expected, expect = control.title, "", None

    configured, eff_regs = registry_readings(control, ev)
    picked = pick(configured)
    ignored = sorted(
        (r for r in configured if not r.honoured),
        key=lambda r: (-int(r.policy), -rank(r)),
    )

    def judge(value: object) -> bool:
        return expect is not None and expect_matches(expect, _as_scalar(value))

    def absent(observed: str | int | bool | None, prefix: str) -> Outcome:
        return default_outcome(
            name, control.default_key, ev, expected, judge, observed=observed, prefix=prefix
        )

    config = configured_outcome(name, picked, expected, absent, ignored)
    by_cmdlet, ignored_note = _cmdlet_outcome(control, ev)
    effective = by_cmdlet or _registry_effective(eff_regs, expected, name)
    if reg is not None and reg.overridden_by is not None:
        config = _overridden(reg, reg.overridden_by, effective or config, ev)
        effective = None
    wire = WIRE_CHECKS[chk.wire](ev.observations) if chk.wire else None
    out = combine(wire, effective, config)
    return replace(out, notes=(*out.notes, ignored_note)) if ignored_note else out


def _override_state(
    reg: RegistryCheck, ov: RegistryOverride, ev: Evidence
) -> tuple[bool | None, str, Provenance | None, bool]:
    """(True: the override is in force / False: it defers / None: not known, why, where,
    by default) for ``ov`` of ``reg`` (docs/reference.md §11.1)."""
    build = ev.facts.build
    if ov.min_build is not None and build is not None and build < ov.min_build:
        return (
            False,
            f"{ov.value} does not exist before build {ov.min_build} (this is {build})",
            None,
            False,
        )
    sid = setting_id(reg.key, ov.value)
    expect = Expect(equals=ov.enforces)
    readings = [
        registry_reading(sv, ov.type, expect, policy=False, order=o) for o, sv in ev.lookup(sid)
    ]
    eff = [
        r for r in readings if r.source.layer is Layer.EFFECTIVE and r.honoured and not r.deleted
    ]
    picked = pick([r for r in readings if r.source.layer is not Layer.EFFECTIVE])
    if picked.conflict and not eff:
        return None, picked.conflict, None, False
    win = eff[-1] if eff else picked.winner
    later = "" if ov.min_build is None or build is not None else f" (from build {ov.min_build})"
    if win is not None:
        said = f"{ov.value} = {win.observed} in {describe_source(win.source)}"
        if win.value == ov.enforces:
            return (None if later else True), said + later, win.source, False
        if win.value == ov.defers:
            return False, said, win.source, False
        return None, f"{said}, which is not a value it takes", win.source, False
    if ov.default_key is None:
        return None, f"{ov.value} is not configured and has no default", None, True
    res = ev.resolve(ov.default_key, ev.facts, literal=False)
    src = Provenance(kind="default", path="", location=res.label, layer=Layer.DEFAULT)
    if not res.known or res.value is None:
        return (
            None,
            f"{ov.value} is not configured and its default is unknown: {res.reason}",
            src,
            True,
        )
    said = f"{ov.value} is not configured; {res.label} is {res.value}: {res.reason}"
    return res.value == ov.enforces, said, src, True


def _overridden(reg: RegistryCheck, ov: RegistryOverride, base: Outcome, ev: Evidence) -> Outcome:
    """``base`` (the checked value's verdict) under the override ``ov``: in force -> pass
    whatever the checked value says; deferring -> ``base``; unknown -> ``base`` when it passes
    (required either way), else ``unknown``."""
    state, why, src, by_default = _override_state(reg, ov, ev)
    if state is True:
        return Outcome(
            Status.PASS,
            f"{ov.value} = {ov.enforces}",
            base.expected,
            src,
            f"{why}; it takes precedence over {reg.value} (docs/reference.md §11.1)",
            notes=(f"{reg.value} alone: {base.status} - {base.reason}",),
            by_default=by_default,
        )
    if state is False:
        return replace(base, notes=(*base.notes, f"{why}: {reg.value} decides"))
    if base.status is Status.PASS:
        return replace(base, notes=(*base.notes, f"{why}; {reg.value} requires it either way"))
    if base.status is not Status.FAIL:
        return replace(base, notes=(*base.notes, why))
    return Outcome(
        Status.UNKNOWN,
        base.observed,
        base.expected,
        base.source,
        f"{base.reason}; but {why}, and {ov.value} = {ov.enforces} would decide instead "
        "(docs/reference.md §11.1)",
        notes=base.notes,
        by_default=base.by_default,
    )


def _as_scalar(value: object) -> Scalar:
    if value is None or isinstance(value, int | str | bool):
        return value
    return str(value)

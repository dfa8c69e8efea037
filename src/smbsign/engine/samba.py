"""Verdict of one control on a Samba host (pure).

Evidence: smb.conf values (layer ``local``), testparm values (``effective``: its output is the
authority, reference.md §4.3) and the wire. ``server signing = default`` means ``required`` on an AD
DC and ``off`` otherwise (docs/reference.md §3.3); testparm prints the configured enum, not the
effective value (reference.md §4.4), so ``default`` is resolved through the defaults table by role.
A value Samba does not accept makes the config invalid (testparm "Error loading services",
docs/reference.md §4.3): that is an ``error``, never a default.
"""

from __future__ import annotations

from dataclasses import replace

from smbsign.catalog.schema import Control
from smbsign.engine.decide import combine, configured_outcome, default_outcome, status_of
from smbsign.engine.readings import Reading, describe_source, pick
from smbsign.engine.types import Evidence, Outcome
from smbsign.engine.wire import WIRE_CHECKS
from smbsign.model import Layer, Provenance, SettingValue, Status

#: Canonical values of the signing enums (SAMBA ``enum_smb_signing_vals``, docs/reference.md §4.3).
SIGNING_VALUES = frozenset({"default", "off", "if_required", "desired", "required"})


def samba_setting(parameter: str) -> str:
    return "samba:" + " ".join(parameter.lower().split())


def _is_enum_param(parameter: str) -> bool:
    return parameter.lower().split()[-1] == "signing"


def _reading(sv: SettingValue, control: Control, ev: Evidence, order: int) -> Reading:
    chk = control.check.samba
    assert chk is not None
    value = "" if sv.value is None else str(sv.value).strip()
    low = value.lower()
    passing = {p.lower() for p in chk.passing}
    if _is_enum_param(chk.parameter) and low not in SIGNING_VALUES:
        return Reading(
            sv.setting,
            value,
            value,
            sv.provenance,
            honoured=False,
            order=order,
            note=f"{chk.parameter} = {value!r} in {describe_source(sv.provenance)} is not a "
            "value Samba accepts: testparm rejects the whole config (Error loading services)",
        )
    if low == "default" and "default" not in passing:
        return replace(
            _meaning_of_default(control, ev), setting=sv.setting, source=sv.provenance, order=order
        )
    return Reading(sv.setting, value, value, sv.provenance, passes=low in passing, order=order)


def _meaning_of_default(control: Control, ev: Evidence) -> Reading:
    """``default`` resolved by role (reference.md §3.3); ``passes`` None when that is unknown."""
    chk = control.check.samba
    assert chk is not None
    blank = Reading("", "default", "default", _NO_SOURCE)
    if control.default_key is None:
        return replace(blank, note="the catalog gives no meaning for 'default'")
    res = ev.resolve(control.default_key, ev.facts, literal=True)
    if not res.known or res.value is None:
        return replace(blank, note=f"what 'default' means is unknown: {res.reason}")
    meaning = str(res.value).lower()
    passing = {p.lower() for p in chk.passing}
    return replace(
        blank, passes=meaning in passing, note=f"{res.label}: 'default' means {res.value}"
    )


_NO_SOURCE = Provenance(kind="", path="", location="", layer=Layer.DEFAULT)


def _expected(passing: tuple[str, ...]) -> str:
    return f"= {passing[0]}" if len(passing) == 1 else "one of " + ", ".join(passing)


def samba_outcome(control: Control, ev: Evidence) -> Outcome:
    """Decide ``control`` for a Samba host."""
    chk = control.check.samba
    if chk is None:
        if control.check.wire:
            wire = WIRE_CHECKS[control.check.wire](ev.observations)
            none = Outcome(Status.UNKNOWN, None, "", None, "no Samba setting is checked")
            return combine(wire, None, none)
        return Outcome(Status.UNKNOWN, None, "", None, "the control has no Samba check")
    name, expected = chk.parameter, _expected(chk.passing)
    passing = {p.lower() for p in chk.passing}
    readings = [_reading(sv, control, ev, order) for order, sv in ev.lookup(samba_setting(name))]
    invalid = [r for r in readings if not r.honoured]
    if invalid:
        r = invalid[-1]
        return Outcome(Status.ERROR, r.observed, expected, r.source, r.note)

    configured = [r for r in readings if r.source.layer is not Layer.EFFECTIVE]
    effective_r = [r for r in readings if r.source.layer is Layer.EFFECTIVE]

    def absent(observed: str | int | bool | None, prefix: str) -> Outcome:
        return default_outcome(
            name,
            control.default_key,
            ev,
            expected,
            lambda v: str(v).lower() in passing,
            observed=observed,
            prefix=prefix,
        )

    config = configured_outcome(name, pick(configured), expected, absent, [])
    effective = None
    if effective_r:
        e = effective_r[-1]
        said = f"{name} = {e.observed} reported by {describe_source(e.source)}"
        if e.passes is None:
            effective = Outcome(Status.UNKNOWN, e.observed, expected, e.source, f"{said}: {e.note}")
        else:
            meaning = f" ({e.note})" if e.note else ""
            effective = Outcome(
                status_of(e.passes),
                e.observed,
                expected,
                e.source,
                f"{said}{meaning}; expected {expected}",
            )
        if configured and config.observed != e.observed and config.source is not None:
            effective = Outcome(
                effective.status,
                effective.observed,
                effective.expected,
                effective.source,
                effective.reason,
                notes=(
                    f"{describe_source(config.source)} says {config.observed} but testparm "
                    f"reports {e.observed} (an include or a later line overrides it); "
                    "testparm is the authority",
                ),
            )
    wire = WIRE_CHECKS[control.check.wire](ev.observations) if control.check.wire else None
    return combine(wire, effective, config)

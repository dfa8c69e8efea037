"""Shared steps of a verdict: the default for an absent value and the wire > effective >
configured order, with a note for every source that disagrees (pure; docs/audit.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from smbsign.engine.readings import Pick, Reading, describe_source
from smbsign.engine.types import DefaultLike, Evidence, Outcome
from smbsign.engine.wire import WireFact
from smbsign.model import Layer, Provenance, Status

_VERDICT = (Status.PASS, Status.FAIL)


def status_of(ok: bool) -> Status:
    return Status.PASS if ok else Status.FAIL


def default_outcome(
    name: str,
    default_key: str | None,
    ev: Evidence,
    expected: str,
    judge: Callable[[object], bool],
    *,
    observed: str | int | bool | None = "absent",
    prefix: str = "",
) -> Outcome:
    """Verdict from the default that applies when ``name`` is not configured (docs/reference.md §3).

    A compliant default is ``pass`` with a note that the value is not explicitly configured
    (strict benchmarks fail that; docs/reference.md §3.4 asks us to report the effective state).
    """
    if default_key is None:
        return Outcome(
            Status.UNKNOWN,
            observed,
            expected,
            None,
            f"{prefix}{name} is not configured and the catalog gives no default for it",
            by_default=True,
        )
    res: DefaultLike = ev.resolve(default_key, ev.facts, literal=False)
    src = Provenance(kind="default", path="", location=res.label, layer=Layer.DEFAULT)
    if not res.known or res.value is None:
        return Outcome(
            Status.UNKNOWN,
            observed,
            expected,
            src,
            f"{prefix}{name} is not configured and its default is unknown: {res.reason}",
            by_default=True,
        )
    ok = judge(res.value)
    notes = [
        "not explicitly configured; "
        + ("compliant by default" if ok else "the default is not compliant")
        + " (strict benchmarks fail a value that is not set)"
    ]
    if res.source:
        notes.append(f"default from {res.source}")
    why = f": {res.reason}" if res.reason else ""
    return Outcome(
        status_of(ok),
        observed,
        expected,
        src,
        f"{prefix}{name} is not configured; {res.label} is {res.value}{why}",
        notes=tuple(notes),
        by_default=True,
    )


def configured_outcome(
    name: str,
    picked: Pick,
    expected: str,
    absent: Callable[[str | int | bool | None, str], Outcome],
    ignored: list[Reading],
) -> Outcome:
    """Verdict from the winning configured value, or from ``absent`` when there is none."""
    if picked.conflict:
        win = picked.winner or picked.deleted_by
        return Outcome(
            Status.UNKNOWN,
            win.observed if win else None,
            expected,
            win.source if win else None,
            picked.conflict,
            notes=picked.notes,
        )
    if picked.winner is not None:
        w = picked.winner
        said = f"{name} = {w.observed} in {describe_source(w.source)}"
        if w.passes is None:
            return Outcome(
                Status.UNKNOWN,
                w.observed,
                expected,
                w.source,
                f"{said}: {w.note}",
                notes=picked.notes,
            )
        meaning = f" ({w.note})" if w.note else ""
        return Outcome(
            status_of(w.passes),
            w.observed,
            expected,
            w.source,
            f"{said}{meaning}; expected {expected}",
            notes=picked.notes,
        )
    observed: str | int | bool | None = "absent"
    prefix = ""
    if picked.deleted_by is not None:
        observed = "deleted"
        prefix = f"{describe_source(picked.deleted_by.source)} deletes {name}; "
    elif ignored:
        top = ignored[0]
        observed = top.observed
        prefix = f"{top.note}; "
    out = absent(observed, prefix)
    kept = tuple(n for n in picked.notes if not prefix.startswith(n))
    return replace(out, notes=kept + out.notes)


def _differs(a: Outcome, b: Outcome) -> bool:
    return a.status in _VERDICT and b.status in _VERDICT and a.status != b.status


def _src(o: Outcome) -> str:
    return describe_source(o.source) if o.source else "the configuration"


def _config_context(config: Outcome) -> str:
    if config.status is Status.UNKNOWN:
        return f"the configuration alone could not decide: {config.reason}"
    return f"the configuration agrees: {config.reason}"


def _by_wire(wire: WireFact, effective: Outcome | None, config: Outcome) -> Outcome:
    notes = [] if config.by_default else list(config.notes)
    notes.extend(wire.notes)
    out = Outcome(status_of(wire.ok), wire.observed, wire.expected, wire.source, wire.detail)
    if effective is not None:
        notes.extend(effective.notes)
        if _differs(out, effective):
            notes.append(
                f"{_src(effective)} reports {effective.observed} but the wire says "
                f"{wire.observed}: the wire decides"
            )
        else:
            notes.append(f"{_src(effective)} agrees: {effective.reason}")
    if _differs(out, config):
        notes.append(
            f"the configuration says {config.observed} ({_src(config)}: {config.status}) "
            f"but the running server answers {wire.observed} on the wire: the change has "
            "not been applied (Samba: smbcontrol smbd reload-config; Windows: policy "
            "refresh or service restart) or a source missing from the evidence overrides it"
        )
    else:
        notes.append(_config_context(config))
    return replace(out, notes=tuple(notes))


def _by_effective(effective: Outcome, config: Outcome) -> Outcome:
    notes = [] if config.by_default else list(config.notes)
    notes.extend(effective.notes)
    if _differs(effective, config):
        notes.append(
            f"{_src(effective)} reports {effective.observed} but the configuration says "
            f"{config.observed} ({_src(config)}): the policy has not been applied yet, or a "
            "source missing from the evidence overrides it; the reported value decides"
        )
    else:
        notes.append(_config_context(config))
    return replace(effective, notes=tuple(notes))


def combine(wire: WireFact | None, effective: Outcome | None, config: Outcome) -> Outcome:
    """Wire beats effective beats configured; explain each disagreement in ``notes``.

    Notes about the configuration's own default are dropped when another source decides;
    its layer notes (what overrides what) are kept.
    """
    if wire is not None:
        return _by_wire(wire, effective, config)
    if effective is not None:
        return _by_effective(effective, config)
    return config

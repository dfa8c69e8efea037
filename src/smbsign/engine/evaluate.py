"""The audit engine: evidence, wire answers, host facts and the catalog in; findings out (pure).

For every control of the catalog and the one host described by ``facts`` it decides, in this
order (docs/audit.md "How a verdict is decided"):

1. applicability (OS family, role, minimum build) -> ``not_applicable`` or ``unknown``;
2. the wire (a NEGOTIATE answer proves what the running server does, docs/reference.md §5.9);
3. effective values the system reports (``Get-Smb*Configuration``, testparm);
4. configured values, by layer precedence (:mod:`smbsign.engine.readings`, docs/reference.md §4.1);
5. the default for this OS/edition/role when nothing is configured (docs/reference.md §3), else
   ``unknown`` with the reason.

Every source that disagrees with the deciding one is explained in ``notes``. Settings that only
matter for SMB1 are ``not_applicable`` when SMB1 is known off and never ``fail`` while its state
is unknown (docs/reference.md §2.1). Collector errors become ``error`` findings (control
``evidence-error``) and turn verdicts that rest on an absent value into ``unknown``: the
unreadable file may hold the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from smbsign.catalog.schema import Control
from smbsign.engine.facts import implied_family
from smbsign.engine.readings import bound_notes, summarise
from smbsign.engine.samba import samba_outcome
from smbsign.engine.smb1 import is_client_control, smb1_state
from smbsign.engine.types import CatalogLike, Evidence, Outcome
from smbsign.engine.windows import windows_outcome
from smbsign.engine.wire import WIRE_NOTES, unusable
from smbsign.model import (
    CollectError,
    Finding,
    HostFacts,
    Layer,
    OsFamily,
    Provenance,
    ScanRecord,
    SettingValue,
    Status,
)

#: Control id of the finding that reports an unreadable evidence source.
EVIDENCE_ERROR = "evidence-error"
_ALL_ROLES = frozenset({"workstation", "member_server", "domain_controller", "standalone"})


def error_finding(err: CollectError) -> Finding:
    """An ``error`` finding for evidence that could not be read (never dropped)."""
    layer = Layer.GPO if _in_gpo(err.path) else Layer.LOCAL
    return Finding(
        host=err.host,
        control=EVIDENCE_ERROR,
        status=Status.ERROR,
        observed=None,
        expected="readable evidence",
        source=Provenance(kind=err.kind or "unknown", path=err.path, location="", layer=layer),
        reason=err.message,
        title="Evidence could not be read",
        severity="high",
        weight=1,
    )


def _in_gpo(path: str) -> bool:
    low = path.lower().replace("\\", "/")
    return "/policies/{" in low or "domainsysvol/gpo" in low


def _applicability(control: Control, ev: Evidence) -> Outcome | None:
    """``not_applicable`` / ``unknown`` when the control does not (or may not) apply."""
    app = control.applies_to
    families = ", ".join(app.os_families)
    if ev.family is None:
        if len(app.os_families) == 1:
            return Outcome(
                Status.UNKNOWN,
                None,
                "",
                None,
                f"applies only to {families} hosts and the OS family is unknown "
                "(give --os-family, or evidence such as a registry export or smb.conf)",
            )
    elif ev.family.value not in app.os_families:
        return Outcome(
            Status.NOT_APPLICABLE,
            None,
            "",
            None,
            f"applies to {families} hosts; this host is {ev.family.value}",
        )
    roles = frozenset(app.roles)
    if roles != _ALL_ROLES:
        listed = ", ".join(app.roles)
        role = ev.facts.role
        if role is None:
            return Outcome(
                Status.UNKNOWN,
                None,
                "",
                None,
                f"applies only to {listed} and the host role is unknown (give --role)",
            )
        if role.value not in roles:
            return Outcome(
                Status.NOT_APPLICABLE,
                None,
                "",
                None,
                f"applies to {listed}; this host is a {role.value}",
            )
    if app.min_build is not None and ev.family is OsFamily.WINDOWS:
        build = ev.facts.build
        if build is not None and build < app.min_build:
            return Outcome(
                Status.NOT_APPLICABLE,
                None,
                "",
                None,
                f"applies from Windows build {app.min_build}; this host is build {build}",
            )
    return None


def _smb1_only(control: Control, ev: Evidence, out: Outcome) -> Outcome:
    """docs/reference.md §2.1: an SMB1-only setting changes nothing unless SMB1 is on."""
    side = "client" if is_client_control(control) else "server"
    on, why = smb1_state(control, ev)
    if on is False:
        return Outcome(
            Status.NOT_APPLICABLE,
            out.observed,
            out.expected,
            out.source,
            f"this setting only affects SMB1 and SMB1 is off on the {side} side ({why}): "
            "on SMB2 and later it changes nothing",
            notes=(
                f"without SMB1 the verdict would have been: {out.status} — {out.reason}",
                *out.notes,
            ),
        )
    if on is True:
        return _with_notes(out, f"SMB1 is on ({why}), so this SMB1-only setting matters")
    if out.status is Status.FAIL:
        return Outcome(
            Status.UNKNOWN,
            out.observed,
            out.expected,
            out.source,
            f"{out.reason}; but this setting only affects SMB1 and whether SMB1 is on "
            f"({side} side) is unknown, so it is not counted as a failure",
            notes=out.notes,
        )
    return _with_notes(out, "this setting only affects SMB1; whether SMB1 is on is unknown")


def _with_notes(out: Outcome, *notes: str) -> Outcome:
    return replace(out, notes=(*out.notes, *notes))


def _finding(control: Control, host: str, out: Outcome) -> Finding:
    return Finding(
        host=host,
        control=control.id,
        status=out.status,
        observed=out.observed,
        expected=out.expected,
        source=out.source,
        reason=out.reason,
        title=control.title,
        severity=control.severity,
        weight=control.weight,
        notes=bound_notes(tuple(dict.fromkeys(n for n in out.notes if n))),
    )


def evaluate_control(control: Control, ev: Evidence) -> Outcome:
    """Outcome of one control for the host of ``ev``."""
    out = _applicability(control, ev)
    if out is not None:
        return out
    if ev.family is OsFamily.SAMBA:
        out = samba_outcome(control, ev)
    elif ev.family is OsFamily.WINDOWS:
        out = windows_outcome(control, ev)
    else:
        return Outcome(
            Status.UNKNOWN,
            None,
            "",
            None,
            "the OS family is unknown (give --os-family, or evidence such as a registry "
            "export or smb.conf)",
        )
    if control.check.smb1_only and out.status in (Status.PASS, Status.FAIL, Status.UNKNOWN):
        out = _smb1_only(control, ev, out)  # SMB1 off decides before an unknown default
    app = control.applies_to
    if app.min_build is not None and ev.facts.build is None and out.status is not Status.ERROR:
        out = _with_notes(out, f"applies from Windows build {app.min_build}; build unknown")
    if control.check.wire and out.source is not None and out.source.layer is not Layer.WIRE:
        out = _with_notes(out, *WIRE_NOTES.get(control.check.wire, unusable)(ev.observations))
    if ev.incomplete and out.status in (Status.PASS, Status.FAIL):
        missing = summarise(ev.incomplete, sep=", ")
        if out.by_default:
            out = Outcome(
                Status.UNKNOWN,
                out.observed,
                out.expected,
                out.source,
                f"{out.reason}; but evidence could not be read ({missing}) and may set it",
                out.notes,
                by_default=True,
            )
        elif out.source is None or out.source.layer not in (Layer.WIRE, Layer.EFFECTIVE):
            out = _with_notes(
                out,
                f"evidence could not be read ({missing}); a higher layer "
                "in it could override this value",
            )
    return out


def evaluate(
    values: Sequence[SettingValue],
    observations: Sequence[ScanRecord],
    facts: HostFacts,
    catalog: CatalogLike,
    errors: Sequence[CollectError] = (),
) -> list[Finding]:
    """Findings for the host ``facts.host``: one per control of ``catalog``, errors first.

    All inputs describe that one host. What an absent setting means comes from
    ``catalog.defaults`` (the table loaded with those controls), so a catalog read from
    another root is judged with its own defaults.
    """
    resolve = catalog.defaults.resolve
    family = facts.os_family or implied_family(values, (e.kind for e in errors))
    if family is not None and facts.os_family is None:
        facts = replace(facts, os_family=family)  # defaults depend on it
    ev = Evidence.build(
        values, observations, facts, family, resolve, incomplete=[e.path for e in errors]
    )
    findings = [error_finding(e) for e in errors]
    for control in catalog.controls.values():
        findings.append(_finding(control, facts.host, evaluate_control(control, ev)))
    return findings

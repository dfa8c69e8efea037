"""``drift``: does the policy-resolved verdict agree with the wire? (issue #9 item 4, pure).

With ``ad audit --scan`` every finding of a computer is judged twice: from the resolved GPO
values alone (the *policy* verdict) and with the NEGOTIATE probe of the host (the verdict
``smbsign audit --probe`` gives, where the wire decides a control it can observe, docs/reference.md
§4.1). ``drift`` is ``True`` when both are pass/fail and differ, ``False`` when they agree and
``None`` when either is missing; a drifting finding's reason names the likely cause, and
``source.gpo`` keeps naming the GPO behind the policy value (the place to change it).

A name that does not resolve leaves the wire-observable controls ``unknown``: ``--scan`` asked
for the wire, and the configuration alone is not the running server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from smbsign.model import Finding, HostFacts, Layer, OsFamily, ScanRecord, Status

VERDICTS = frozenset({Status.PASS, Status.FAIL})


def _said(f: Finding) -> str:
    return str(f.observed) if f.observed not in (None, "") else f.status.value


def _policy_source(policy: Finding) -> str:
    gpo = policy.source.gpo if policy.source is not None else None
    if gpo is not None:
        return f"GPO {gpo.name!r} {gpo.guid} linked to {gpo.link}"
    if policy.source is None or policy.source.layer is Layer.DEFAULT:
        return "the build default (no GPO sets it)"
    return f"{policy.source.kind} {policy.source.path}"


def causes(policy: Finding, wire: Finding, facts: HostFacts) -> list[str]:
    """Likely causes of a disagreement, most likely first."""
    out: list[str] = []
    product = facts.product_name or ""
    stale = "the DNS record points at another host than this computer (a stale record)"
    if facts.os_family is not OsFamily.WINDOWS:
        return [
            f"not a Windows host (operatingSystem {product or 'empty'!r}): Group Policy "
            "does not configure it; its own configuration (smb.conf 'server signing' on "
            "Samba) decides",
            stale,
        ]
    gpo = policy.source.gpo if policy.source is not None else None
    by_default = gpo is None and (policy.source is None or policy.source.layer is Layer.DEFAULT)
    if gpo is not None:
        out.append(
            f"policy not yet applied: the computer has not refreshed Group Policy, or the "
            f"Server service has not restarted, since GPO {gpo.name!r} changed "
            "(gpupdate /force, then restart the service or the computer)"
        )
        out.append(
            "a local or MDM value: an MDM policy (Policy CSP LocalPoliciesSecurityOptions) "
            "or a local change since the last policy refresh sets the running value"
        )
    elif by_default:
        out.append(
            "a local or MDM value: no GPO sets it, so a local registry/security-policy value "
            "or an MDM policy decides on the host"
        )
        build = f"build {facts.build}" if facts.build else "an unknown build"
        out.append(
            f"a build default: the verdict rests on the default for {product or 'this OS'} "
            f"({build}); the host's real build or edition may default otherwise"
        )
    if any("security filtering" in n for n in policy.notes):
        out.append(
            "security filtering: a GPO filtered out for this computer may have applied under "
            "its previous group membership (a computer reads its groups at startup)"
        )
    out.append(stale)
    return out


def with_drift(policy: Finding, final: Finding, facts: HostFacts, *, wire_checked: bool) -> Finding:
    """``final`` (judged with the wire) with ``drift`` set against ``policy`` (without)."""
    gpo = policy.source.gpo if policy.source is not None else None
    wire_decided = (
        wire_checked
        and final.source is not None
        and final.source.layer is Layer.WIRE
        and final.status in VERDICTS
    )
    if wire_decided and final.source is not None and gpo is not None:
        final = replace(final, source=replace(final.source, gpo=gpo))
    if not wire_checked:
        return replace(final, drift=None)
    if not wire_decided:
        return replace(
            final,
            drift=None,
            notes=(*final.notes, "drift not compared: the wire did not prove the value"),
        )
    if policy.status not in VERDICTS:
        return replace(
            final,
            drift=None,
            notes=(
                *final.notes,
                f"drift not compared: the policy verdict is {policy.status.value} "
                f"({policy.reason})",
            ),
        )
    if policy.status is final.status:
        return replace(final, drift=False)
    why = "; ".join(causes(policy, final, facts))
    reason = (
        f"{final.reason}; drift: the policy says {_said(policy)} ({_policy_source(policy)}) "
        f"but the wire says {_said(final)}; likely: {why}"
    )
    return replace(final, drift=True, reason=reason)


def unresolved(records: Sequence[ScanRecord]) -> str | None:
    """The DNS failure when every record of a computer is a failed name lookup."""
    if records and all(r.reason.startswith("resolve_failed") for r in records):
        return records[0].reason.split(":", 1)[-1].strip() or "the name did not resolve"
    return None


def unresolvable(policy: Finding, why: str) -> Finding:
    """A wire-observable control of a computer whose name did not resolve: unknown."""
    return replace(
        policy,
        status=Status.UNKNOWN,
        drift=None,
        reason=f"the wire could not be probed: {why}; the policy alone says "
        f"{_said(policy)} ({policy.status.value}: {policy.reason})",
    )

"""Each computer's findings, finished: the deciding GPO's notes and uncertainty, roles and the
role requirements (PREVENT-12, EDCA), host and container, and ``drift`` against the wire
(the last step of :func:`smbsign.ad.view.audit`, [MS-GPOL] 3.2.5.1.5 for what decides)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from smbsign.ad.drift import with_drift
from smbsign.ad.explain import notes_for
from smbsign.ad.facts import SCCM
from smbsign.ad.resolve import Decision
from smbsign.model import Finding, HostFacts, Provenance, Status


def finish_one(
    f: Finding,
    by_prov: Mapping[Provenance, Decision],
    roles: tuple[str, ...],
    role_notes: Mapping[str, tuple[frozenset[str], str]],
    why_not: tuple[str, ...] = (),
    gpo_notes: Mapping[str, tuple[str, ...]] | None = None,
    *,
    host: str | None = None,
    container: str | None = None,
) -> Finding:
    """``f`` of this computer (one copy): GPO notes, uncertainty, roles, host, container."""
    notes = [*f.notes, *why_not]
    status, reason = f.status, f.reason
    d = by_prov.get(f.source) if f.source is not None else None
    if d is not None:
        notes.extend(d.notes)
        notes.extend((gpo_notes or {}).get(d.winner.link.guid, ()))  # e.g. a version mismatch
        if d.uncertain and status in (Status.PASS, Status.FAIL):
            status = Status.UNKNOWN
            reason = f"{reason}; but the deciding GPO may not apply: {d.uncertain}"
    for role in roles:
        controls, text = role_notes.get(role, (frozenset(), ""))
        if f.control in controls:
            notes.append(text)
    return replace(
        f,
        host=f.host if host is None else host,
        container=container,
        status=status,
        reason=reason,
        notes=tuple(notes),
        roles=roles,
    )


def role_notes(catalog: object) -> dict[str, tuple[frozenset[str], str]]:
    """Notes for findings on SCCM site systems (PREVENT-12) and Exchange servers (EDCA)."""
    out: dict[str, tuple[frozenset[str], str]] = {}
    frameworks: Mapping[str, object] = getattr(catalog, "frameworks", {}) or {}
    wanted = {
        SCCM: (
            "PREVENT-12",
            "this host is an SCCM site system: Misconfiguration Manager "
            "PREVENT-12 requires SMB signing on every site system",
        ),
        "exchange_server": (
            "EDCA-SEC-043",
            "this host is an Exchange server: EDCA-SEC-043 "
            "requires SMB signing on Exchange servers",
        ),
    }
    for role, (req_id, text) in wanted.items():
        controls: set[str] = set()
        for fw in frameworks.values():
            for req in getattr(fw, "requirements", ()):
                if getattr(req, "id", "") == req_id:
                    controls.update(getattr(req, "controls", ()))
        if controls:
            out[role] = (frozenset(controls), text)
    return out


@dataclass(frozen=True, slots=True)
class Context:
    """What :func:`_finish` needs of one computer."""

    host: str
    by_prov: Mapping[Provenance, Decision]
    roles: tuple[str, ...]
    role_notes: Mapping[str, tuple[frozenset[str], str]]
    why_not: Mapping[str, tuple[str, ...]]
    settings: Mapping[str, frozenset[str]]
    gpo_notes: Mapping[str, tuple[str, ...]]
    container: str

    def finish(self, findings: Iterable[Finding]) -> tuple[Finding, ...]:
        host, container = self.host, self.container
        return tuple(
            finish_one(
                f,
                self.by_prov,
                self.roles,
                self.role_notes,
                notes_for(f.control, self.why_not, self.settings),
                self.gpo_notes,
                host=host,
                container=container,
            )
            for f in findings
        )


def with_drift_all(
    policy: tuple[Finding, ...],
    final: tuple[Finding, ...],
    wire: frozenset[str],
    facts: HostFacts,
) -> tuple[Finding, ...]:
    """The findings judged with the wire, each with ``drift`` against the policy verdict."""
    out = []
    for p, f in zip(policy, final, strict=True):
        if p.control != f.control:  # pragma: no cover - evaluate's order is fixed
            raise AssertionError("policy and wire findings out of order")
        out.append(with_drift(p, f, facts, wire_checked=f.control in wire))
    return tuple(out)

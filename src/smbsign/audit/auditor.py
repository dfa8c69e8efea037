"""The audit core: evidence sources, host facts and a catalog in; findings per host out.

:meth:`Auditor.audit` reads the sources in order and yields one :class:`HostResult` per host,
in the order hosts were first named, as soon as no later source may name that host (a host
named by several sources is judged on all its evidence). The engine judges with the
``Catalog`` given here and its defaults; nothing is printed: notes are values the caller
shows (``smbsign audit`` prints them on stderr).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from smbsign.audit.checklists import checklist_findings
from smbsign.audit.evidence import HostEvidence
from smbsign.audit.sources import EvidenceSource, Wanted, registry_wanted
from smbsign.catalog import Catalog
from smbsign.engine.evaluate import evaluate
from smbsign.engine.facts import merge_facts
from smbsign.model import Finding, HostFacts


@dataclass(frozen=True, slots=True)
class HostResult:
    """The findings for one host and the notes made while judging it (one line each)."""

    host: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()


class Auditor:
    """Judges hosts against ``catalog`` (only the ``controls`` ids when given).

    ``facts``: what the operator says of every host (``--os-family``, ``--role``...; its
    ``host`` is ignored), which wins over the evidence with a note when they disagree.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        controls: Collection[str] | None = None,
        facts: HostFacts | None = None,
    ) -> None:
        self.catalog = catalog
        self.judged = catalog if controls is None else catalog.only(controls)
        self.facts = facts
        self.wanted = Wanted(
            registry=registry_wanted(self.judged.controls.values()),
            hive=registry_wanted(catalog.controls.values(), desired=True),
        )

    def audit(self, sources: Iterable[EvidenceSource]) -> Iterator[HostResult]:
        """One result per host, streaming (see the module docstring)."""
        remaining = list(sources)
        pending: dict[str, HostEvidence] = {}
        while remaining:
            source = remaining.pop(0)
            later = [s.names() for s in remaining]
            for ev in source.gather(self.wanted, tuple(pending)):
                pending.setdefault(ev.host, HostEvidence(ev.host)).merge(ev)
            while pending:
                host = next(iter(pending))
                if any(names is None or host in names for names in later):
                    break  # a later source may add to it; hosts keep their order
                yield self.judge(pending.pop(host))

    def judge(self, ev: HostEvidence) -> HostResult:
        """Findings and notes for one host's evidence."""
        name = ev.host
        notes = [n if ev.only_notes else f"host {name}: {n}" for n in ev.notes]
        if ev.only_notes:  # e.g. what was skipped at the top of --host-per-dir
            return HostResult(name, (), tuple(notes))
        given = replace(self.facts, host=name) if self.facts is not None else None
        if ev.family is not None and (given is None or given.os_family is None):
            given = replace(given or HostFacts(host=name), os_family=ev.family)
        controls = self.judged.controls
        listed, more = checklist_findings(
            name, ev.checklists, given, ev.facts, ev.values, controls, self.catalog
        )
        notes += [f"host {name}: {n}" for n in dict.fromkeys(more)]
        if ev.only_checklists:  # a checklist is not evidence: nothing else to evaluate
            return HostResult(name, tuple(listed), tuple(notes))
        merged = merge_facts(name, given, ev.facts, ev.values)
        notes += [f"host {name}: {n}" for n in merged.notes]
        found = evaluate(ev.values, ev.observations, merged.facts, self.judged, ev.errors)
        return HostResult(name, (*found, *listed), tuple(notes))


def audit(
    catalog: Catalog,
    sources: Sequence[EvidenceSource],
    *,
    controls: Collection[str] | None = None,
    facts: HostFacts | None = None,
) -> Iterator[HostResult]:
    """``Auditor(catalog, controls=..., facts=...).audit(sources)``."""
    return Auditor(catalog, controls=controls, facts=facts).audit(sources)

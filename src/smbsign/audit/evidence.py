"""What an evidence source gathers about one host (:class:`HostEvidence`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smbsign.audit.checklists import Checklist
from smbsign.collect.base import CollectResult
from smbsign.model import CollectError, HostFacts, OsFamily, ScanRecord, SettingValue


@dataclass
class HostEvidence:
    """Everything gathered about one host, in input order.

    ``family`` is the OS family the source itself implies (the local machine, a remote
    registry): it fills ``--os-family`` when the operator did not give one.
    """

    host: str
    values: list[SettingValue] = field(default_factory=list)
    facts: list[HostFacts] = field(default_factory=list)
    errors: list[CollectError] = field(default_factory=list)
    observations: list[ScanRecord] = field(default_factory=list)
    checklists: list[Checklist] = field(default_factory=list)  # not evidence (checklists.py)
    notes: list[str] = field(default_factory=list)  # what the walk skipped (symlinks out, ...)
    family: OsFamily | None = None

    @property
    def only_notes(self) -> bool:
        """True when nothing but notes was gathered (e.g. the top of ``--host-per-dir``)."""
        return not (
            self.values or self.facts or self.errors or self.observations or self.checklists
        )

    @property
    def only_checklists(self) -> bool:
        """True when checklist files are all there is for this host (nothing to evaluate)."""
        return bool(self.checklists) and not (
            self.values or self.facts or self.errors or self.observations
        )

    def add(self, result: CollectResult) -> None:
        """Add what one collector returned."""
        self.values.extend(result.values)
        if result.facts is not None:
            self.facts.append(result.facts)
        self.errors.extend(result.errors)
        self.notes.extend(result.notes)

    def merge(self, other: HostEvidence) -> None:
        """Add the evidence another source gathered about the same host (order kept)."""
        self.values.extend(other.values)
        self.facts.extend(other.facts)
        self.errors.extend(other.errors)
        self.observations.extend(other.observations)
        self.checklists.extend(other.checklists)
        self.notes.extend(other.notes)
        self.family = self.family or other.family

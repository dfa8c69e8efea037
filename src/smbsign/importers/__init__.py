"""smbsign.importers: third-party checklists in, settings and expectations out (pure).

A checklist is not evidence of a host: it says what *should* be checked (Wazuh SCA policies,
HardeningKitty finding lists, Tenable audits, EDCA controls) or, for a Wazuh dashboard export,
what another tool concluded. Interface (docs/policy.md):

- every importer module has ``KIND``, ``LABEL``, ``sniff(data, name)`` and
  ``parse(data, name) -> ImportedPolicy`` which raises only :class:`~smbsign.errors.ParseError`;
- :data:`IMPORTERS` is the explicit wiring table, in sniff priority order;
- :func:`sniff_checklist` names the kind of a file, :func:`load` imports it and turns any
  failure into an :class:`ImportFailure` value (never raises).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from smbsign.errors import ParseError
from smbsign.importers import edca, hardeningkitty, tenable_audit, wazuh_export, wazuh_policy
from smbsign.importers.model import Absent, Expectation, ImportedCheck, ImportedPolicy, Target

#: Wiring table, in sniff priority order.
IMPORTERS: tuple[ModuleType, ...] = (
    wazuh_export,
    hardeningkitty,
    wazuh_policy,
    tenable_audit,
    edca,
)
LABELS: dict[str, str] = {m.KIND: m.LABEL for m in IMPORTERS}
NOT_A_CHECKLIST = (
    "not a recognised checklist format (Wazuh SCA policy or export, HardeningKitty list, "
    "Tenable audit, EDCA control)"
)


@dataclass(frozen=True, slots=True)
class ImportFailure:
    """A file that looked like a checklist (``kind``, may be '') but could not be imported."""

    kind: str
    message: str


def importer_for(data: bytes, name: str) -> ModuleType | None:
    """The first importer whose ``sniff`` accepts ``data``."""
    for module in IMPORTERS:
        if module.sniff(data, name):
            return module
    return None


def sniff_checklist(data: bytes, name: str) -> str | None:
    """The checklist kind of ``data`` (``wazuh_policy``, ...), or None."""
    module = importer_for(data, name)
    return None if module is None else str(module.KIND)


def load(data: bytes, name: str) -> ImportedPolicy | ImportFailure:
    """Recognise and import one checklist file; failures are values."""
    module = importer_for(data, name)
    if module is None:
        return ImportFailure("", NOT_A_CHECKLIST)
    try:
        policy: ImportedPolicy = module.parse(data, name)
    except ParseError as exc:
        return ImportFailure(str(module.KIND), str(exc))
    return policy


__all__ = [
    "IMPORTERS",
    "LABELS",
    "Absent",
    "Expectation",
    "ImportFailure",
    "ImportedCheck",
    "ImportedPolicy",
    "Target",
    "importer_for",
    "load",
    "sniff_checklist",
]

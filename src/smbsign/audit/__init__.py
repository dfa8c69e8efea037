"""smbsign.audit: the audit core as a library (issue #8 item 1).

::

    from smbsign.audit import Auditor, PathsSource
    from smbsign.catalog import load_catalog

    for result in Auditor(load_catalog()).audit([PathsSource((Path("evidence"),))]):
        ...  # result.host, result.findings, result.notes

- :mod:`~smbsign.audit.sources`: the evidence sources and their wiring table ``SOURCES``;
- :mod:`~smbsign.audit.auditor`: :class:`Auditor`, judging each host as soon as its
  evidence is complete (streaming);
- :mod:`~smbsign.audit.facts`: host facts given by the operator, text to values;
- :mod:`~smbsign.audit.checklists`: third-party checklists met among the evidence.

``smbsign audit`` (:mod:`smbsign.cli.audit_cmd`) only turns its options into this call.
"""

from smbsign.audit.auditor import Auditor, HostResult, audit
from smbsign.audit.evidence import HostEvidence
from smbsign.audit.sources import (
    SOURCES,
    EvidenceSource,
    LocalSource,
    PathsSource,
    ProbeSource,
    RemoteSource,
    Wanted,
    WazuhApiSource,
    WireSource,
    registry_wanted,
)

__all__ = [
    "SOURCES",
    "Auditor",
    "EvidenceSource",
    "HostEvidence",
    "HostResult",
    "LocalSource",
    "PathsSource",
    "ProbeSource",
    "RemoteSource",
    "Wanted",
    "WazuhApiSource",
    "WireSource",
    "audit",
    "registry_wanted",
]

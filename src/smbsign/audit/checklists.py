"""Checklist files among the evidence (docs/audit.md "Checklists and third-party results").

The collectors report a file they do not recognise as an ``unknown`` evidence error. Before
that becomes an ``evidence-error`` finding, :func:`split_checklists` re-reads such files (I/O,
bounded like the collectors) and pulls out the ones :mod:`smbsign.importers` recognises;
:func:`checklist_findings` then reports them as what they are: third-party verdicts about the
host for a Wazuh dashboard export, one ``checklist`` (``not_applicable``) finding for a policy
definition, a ``checklist`` ``error`` for one that cannot be imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from smbsign.catalog import Catalog
from smbsign.catalog.schema import Control
from smbsign.collect.base import CollectResult
from smbsign.collect.walk import MAX_FILE_BYTES
from smbsign.engine.facts import merge_facts
from smbsign.importers import ImportedPolicy, ImportFailure, load, sniff_checklist
from smbsign.importers.lint import lint
from smbsign.importers.platforms import platform
from smbsign.importers.results import (
    checklist_error,
    checklist_finding,
    result_findings,
)
from smbsign.model import Finding, HostFacts, OsFamily, Role, SettingValue


@dataclass(frozen=True, slots=True)
class Checklist:
    """A checklist file met among the evidence (or SCA results read from the Wazuh API, whose
    agent reports host ``facts``)."""

    path: str
    loaded: ImportedPolicy | ImportFailure
    facts: HostFacts | None = None


def _read(path: str) -> bytes | None:
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return None if len(data) > MAX_FILE_BYTES else data


def split_checklists(result: CollectResult) -> tuple[CollectResult, list[Checklist]]:
    """Move checklist files out of ``result``'s "unrecognised file" errors."""
    keep = []
    found: list[Checklist] = []
    for err in result.errors:
        data = _read(err.path) if err.kind == "unknown" else None
        name = Path(err.path).name
        if data is not None and sniff_checklist(data, name):
            found.append(Checklist(err.path, load(data, name)))
        else:
            keep.append(err)
    if not found:
        return result, []
    return replace(result, errors=tuple(keep)), found


def _implied(host: str, path: str, policy: ImportedPolicy) -> HostFacts:
    """Facts an export implies: a Windows host, a workstation for a Windows 10/11 policy."""
    plat = platform(policy.platform)
    return HostFacts(
        host=host,
        os_family=OsFamily.WINDOWS,
        role=Role.WORKSTATION if plat.client_os else None,
        sources=(f"{Path(path).name} (Wazuh policy {policy.policy_id or '?'})",),
    )


def checklist_findings(
    host: str,
    checklists: Sequence[Checklist],
    cli: HostFacts | None,
    evidence: Sequence[HostFacts],
    values: Sequence[SettingValue],
    controls: Mapping[str, Control],
    catalog: Catalog,
) -> tuple[list[Finding], list[str]]:
    """Findings (and notes) for the checklists met for ``host``: ``controls`` are the ones
    judged, ``catalog`` the whole catalog they come from (checks are mapped and linted
    against all of it)."""
    findings: list[Finding] = []
    notes: list[str] = []
    if not checklists:
        return findings, notes
    for item in checklists:
        loaded = item.loaded
        if isinstance(loaded, ImportFailure):
            message = loaded.message.removeprefix(f"{Path(item.path).name}: ")
            findings.append(checklist_error(host, item.path, loaded.kind, message))
        elif loaded.has_results:
            implied = _implied(host, item.path, loaded)
            reported = [item.facts] if item.facts is not None else []
            merged = merge_facts(host, cli, [*evidence, *reported, implied], values)
            notes += list(merged.notes)
            got, more = result_findings(loaded, item.path, host, merged.facts, catalog, controls)
            findings += got
            notes += more
        else:
            problems = len(lint(loaded, catalog))
            findings.append(checklist_finding(host, item.path, loaded, problems))
    return findings, notes

"""Wazuh API SCA results as the checklists a dashboard export gives (pure; docs/wazuh.md).

An item of ``GET /sca/{agent_id}/checks/{policy_id}`` carries the fields of a dashboard export
row (``id``, ``title``, ``result``, ``reason``, ``condition``, ``rules``, ``compliance``), so
each check goes through :func:`smbsign.importers.wazuh_export.sca_check` and each policy
becomes an :class:`ImportedPolicy` of kind ``wazuh_export``: mapped, linted and judged exactly
as an export is. The agent gives the host: its name, and facts from ``os``
(``os.build`` = ``CurrentBuildNumber[.UBR]``, ``os.name`` = "Microsoft " + ``ProductName``,
wazuh/wazuh ``src/shared/version_op.c``); the edition is read from the last word of the name
only when it is one ``--edition`` knows (Enterprise, Education, Pro, Home).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smbsign.collect.wazuh_api import AgentResult, PolicyResult
from smbsign.engine.facts import EDITION_ALIASES
from smbsign.importers import wazuh_export
from smbsign.importers.model import ImportedPolicy
from smbsign.model import HostFacts, OsFamily

_BUILD = re.compile(r"^\s*([0-9]{4,6})(?:\.[0-9]+)?\s*$")
MAX_NAME = 253


@dataclass(frozen=True, slots=True)
class AgentEvidence:
    """What one agent contributes: its host name, facts and SCA policies (url, policy)."""

    host: str
    facts: HostFacts
    policies: tuple[tuple[str, ImportedPolicy], ...]
    error: str = ""


def host_name(agent: AgentResult) -> str:
    """The agent's name when it is printable and not too long, else ``agent-<id>``."""
    name = agent.name.strip()
    if name and len(name) <= MAX_NAME and name.isprintable() and " " not in name:
        return name
    return f"agent-{agent.agent_id}"


def agent_facts(host: str, agent: AgentResult) -> HostFacts:
    """Windows, with the build and edition the agent reports (None when it does not)."""
    os_info = agent.agent.get("os")
    os_info = os_info if isinstance(os_info, dict) else {}
    raw_build, raw_name = os_info.get("build"), os_info.get("name")
    m = _BUILD.match(raw_build) if isinstance(raw_build, str) else None
    name = raw_name.strip() if isinstance(raw_name, str) and raw_name.isprintable() else ""
    last = name.rsplit(" ", 1)[-1].lower() if name else ""
    edition = EDITION_ALIASES.get(last) if re.search(r"Windows 1[01] ", name) else None
    return HostFacts(
        host=host,
        os_family=OsFamily.WINDOWS,
        build=int(m[1]) if m else None,
        edition=edition,
        product_name=name or None,
        sources=(f"Wazuh agent {agent.agent_id} (os.platform, os.build, os.name)",),
    )


def policy(result: PolicyResult, agent_id: str) -> ImportedPolicy:
    """One agent's results of one SCA policy, as an export of that policy."""
    checks = []
    for n, item in enumerate(result.checks, 1):
        rules, compliance = item.get("rules"), item.get("compliance")
        problems = []
        if not isinstance(rules, list):
            problems.append("rules is not a list")
        checks.append(
            wazuh_export.sca_check(
                str(item.get("id") or f"item {n}"),
                str(item.get("title") or "").strip(),
                f"agent {agent_id}",
                rules=rules if isinstance(rules, list) else [],
                condition=str(item.get("condition") or ""),
                compliance=compliance if isinstance(compliance, list) else [],
                result=str(item.get("result") or ""),
                reason=str(item.get("reason") or ""),
                problems=problems,
            )
        )
    return ImportedPolicy(
        kind=wazuh_export.KIND,
        label="Wazuh SCA results (API)",
        policy_id=result.policy_id,
        name=f"Wazuh SCA results ({result.policy_id})",
        platform=result.policy_id,
        checks=tuple(checks),
    )


def agent_evidence(agent: AgentResult) -> AgentEvidence:
    """The host, facts and policies of one agent read from the API."""
    host = host_name(agent)
    facts = agent_facts(host, agent)
    if agent.error:
        return AgentEvidence(host, facts, (), agent.error)
    pols = tuple((p.url, policy(p, agent.agent_id)) for p in agent.policies)
    return AgentEvidence(host, facts, pols)

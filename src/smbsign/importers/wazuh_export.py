"""Wazuh dashboard SCA export CSV: one row per check with Wazuh's verdict (docs/reference.md §10.1).

Columns: ``Reason, condition, Description, command, Title, ID, Policy ID, Remediation, Result,
References, Rationale, Compliance, Rules``. ``Compliance`` is a JSON list of ``{value, key}``
(``value`` may hold several comma-separated ids); ``Rules`` a JSON list of ``{rule, type}``
where ``not r:`` rules are typed ``"numeric"`` (a dashboard quirk: the type is ignored, the
rule text is what counts). Each row becomes a check carrying Wazuh's ``Result``; the setting it
is about comes from its rules, never from the id (ids drift, reference.md §8). The export names no
host and no observed value (wazuh/wazuh#27694). :func:`sca_check` is shared with the Wazuh API
importer (:mod:`smbsign.importers.wazuh_api`): the API returns the same fields.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from smbsign.importers.model import ImportedCheck, ImportedPolicy
from smbsign.importers.tables import Row, csv_rows, header_cells
from smbsign.importers.wazuh_rules import build_check

KIND = "wazuh_export"
LABEL = "Wazuh SCA dashboard export"
REQUIRED = ("ID", "Title", "Policy ID", "Result", "Rules", "condition")
_HEADER_WORDS = ("policy id", "result", "rules", "condition")


def sniff(data: bytes, name: str) -> bool:
    """The header row names the dashboard's columns."""
    cols = header_cells(data)
    return all(w in cols for w in _HEADER_WORDS)


def _json_list(cell: str, what: str, problems: list[str]) -> list[dict[str, object]]:
    if not cell.strip():
        return []
    try:
        doc = json.loads(cell)
    except (ValueError, RecursionError):
        problems.append(f"{what} is not JSON")
        return []
    if not isinstance(doc, list):
        problems.append(f"{what} is not a JSON list")
        return []
    return [d for d in doc if isinstance(d, dict)]


def _compliance(items: Sequence[object]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = []
    for item in items:
        if not isinstance(item, dict):
            continue
        key, value = item.get("key"), item.get("value")
        if isinstance(key, str) and isinstance(value, str | int | float):
            ids = tuple(v.strip() for v in str(value).split(",") if v.strip())
            pairs.append((key, ids))
    return tuple(pairs)


def sca_check(
    check_id: str,
    title: str,
    location: str,
    *,
    rules: Sequence[object],
    condition: str,
    compliance: Sequence[object],
    result: str,
    reason: str,
    problems: Sequence[str] = (),
) -> ImportedCheck:
    """One SCA check result from its fields: a dashboard export row (JSON cells decoded) or an
    item of the Wazuh API's ``GET /sca/{agent_id}/checks/{policy_id}`` (same fields: ``rules``
    is a list of ``{rule, type}``, ``compliance`` of ``{key, value}``)."""
    pairs = _compliance(compliance)
    cis = next((i for k, ids in pairs if k.lower() == "cis" for i in ids), "")
    texts = [r.get("rule") if isinstance(r, dict) else r for r in rules]
    check = build_check(
        check_id,
        title,
        location,
        texts,
        condition,
        cis_id=cis,
        compliance=pairs,
        result=result.strip().lower(),
        reason=reason.strip(),
    )
    return replace(check, problems=(*problems, *check.problems)) if problems else check


def _row(row: Row, number: int) -> ImportedCheck:
    problems: list[str] = []
    rules = _json_list(row.get("Rules") or "", "Rules", problems)
    compliance = _json_list(row.get("Compliance") or "", "Compliance", problems)
    return sca_check(
        (row.get("ID") or "").strip() or f"row {number}",
        (row.get("Title") or "").strip(),
        f"row {number}",
        rules=rules,
        condition=row.get("condition") or "",
        compliance=compliance,
        result=row.get("Result") or "",
        reason=row.get("Reason") or "",
        problems=problems,
    )


def parse(data: bytes, name: str) -> ImportedPolicy:
    """Import a dashboard export; :class:`ParseError` if it is not one at all."""
    rows = csv_rows(data, name, REQUIRED, "Wazuh SCA export")
    checks = tuple(_row(row, n) for n, row in rows)
    policies = sorted({(row.get("Policy ID") or "").strip() for _, row in rows})
    policy_id = policies[0] if len(policies) == 1 else ""
    problems = () if len(policies) <= 1 else (f"rows of several policies: {', '.join(policies)}",)
    return ImportedPolicy(
        kind=KIND,
        label=LABEL,
        policy_id=policy_id,
        name=f"Wazuh SCA results ({policy_id or 'several policies'})",
        platform=policy_id,
        checks=checks,
        problems=problems,
    )

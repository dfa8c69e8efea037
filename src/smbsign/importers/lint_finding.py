"""What the checklist linter reports: a :class:`LintFinding` and each code's usual severity.

The codes and what each means are in :mod:`smbsign.importers.lint` (and docs/policy.md);
the reporters (:mod:`smbsign.importers.describe`, :mod:`smbsign.importers.results`) need
only these types.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every code with its usual severity (absent-passes and default-mismatch vary: importers.lint).
SEVERITY = {
    "wrong-hive": "high",
    "absent-passes": "high",
    "default-mismatch": "high",
    "inverted-value": "high",
    "mixed-targets": "high",
    "contradicts-control": "medium",
    "absent-key-differs": "low",
    "id-drift": "medium",
    "import-problem": "medium",
    "duplicate-target": "low",
    "compliance-mapping": "low",
}


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One thing the linter says about a check (``check_id``) or the whole file (``""``)."""

    code: str
    severity: str  # high / medium / low
    check_id: str  # "" for a finding about the whole file
    location: str
    message: str
    control: str = ""
    related: tuple[str, ...] = ()

"""What the checklist importers produce: third-party checks reduced to settings and expectations.

A third-party check (a Wazuh SCA check, a HardeningKitty finding-list row, a Tenable
``REGISTRY_SETTING`` item, an EDCA control) is reduced to the registry value(s) it *really*
reads (:class:`Target`, canonical id from :mod:`smbsign.regpath`), what it accepts for each
(:class:`Expectation`, normalised over the value's domain so that equivalent spellings compare
equal), and what it does with an absent value (:class:`Absent`). The check's own id and title
are kept as written: ids drift between releases (reference.md §8), so nothing downstream keys on
them. Problems found while importing are values (``problems``), never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Absent(StrEnum):
    """What the check scores when the value is absent."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"  # the format leaves it unstated (Tenable item without reg_option)

    @property
    def verb(self) -> str:
        """``passes`` / ``fails`` / ``is not stated``."""
        return {"pass": "passes", "fail": "fails"}.get(self.value, "is not stated")

    def describe(self) -> str:
        if self is Absent.UNKNOWN:
            return "what an absent value scores is not stated"
        return f"an absent value {'passes' if self is Absent.PASS else 'fails'}"


@dataclass(frozen=True, slots=True)
class Expectation:
    """Values that pass, normalised over the value's domain (``expect.normalise``).

    ``op``: ``equals`` / ``at_least`` / ``at_most`` (one bound in ``values``), ``one_of``,
    ``any`` (every value passes: an existence test), ``none`` (no value passes), ``other``
    (not numeric: ``text`` says what is compared). ``passing`` is the set of passing values
    within the domain, used for comparisons.
    """

    op: str
    values: tuple[int, ...] = ()
    passing: frozenset[int] = frozenset()
    text: str = ""

    def describe(self) -> str:
        if self.op == "equals":
            return f"= {self.values[0]}"
        if self.op == "at_least":
            return f">= {self.values[0]}"
        if self.op == "at_most":
            return f"<= {self.values[0]}"
        if self.op == "one_of":
            return "one of " + ", ".join(str(v) for v in self.values)
        if self.op == "any":
            return "present (any value)"
        if self.op == "none":
            return "no value passes"
        return self.text or "not a numeric test"


#: Setting ids of cmdlet properties start with this (registry ids start with a hive).
CMDLET = "cmdlet"


def cmdlet_setting(cmdlet: str, prop: str) -> str:
    """Canonical id of a ``Get-``/``Set-SmbServerConfiguration`` (or client) property: both
    verbs name the same setting (``cmdlet\\smbserverconfiguration\\enablesmb1protocol``)."""
    noun = cmdlet.strip().partition("-")[2] or cmdlet.strip()
    return "\\".join((CMDLET, noun.lower(), prop.strip().lower()))


def is_cmdlet_setting(setting: str) -> bool:
    return setting.lower().startswith(CMDLET + "\\")


@dataclass(frozen=True, slots=True)
class Target:
    """One setting a check reads: a registry value, or a property of the SMB configuration
    cmdlets (``key`` is then ``Get-SmbServerConfiguration`` / ``Get-SmbClientConfiguration``).

    ``absent_split``: Wazuh rules can score an absent *key* and an absent *value* (key
    present) differently (``not r:KEY`` without ``not r:KEY -> VALUE``); then ``when_absent``
    is ``unknown`` and this is (absent key, absent value). That is how the check is written,
    not something the importer failed to read.
    """

    key: str  # as written, hive included
    value: str  # value name as written
    setting: str  # canonical id (smbsign.regpath.setting_id, or cmdlet_setting)
    expect: Expectation
    when_absent: Absent
    stated_default: int | None = None  # the default the checklist assumes (HK, EDCA)
    absent_split: tuple[Absent, Absent] | None = None

    @property
    def short(self) -> str:
        """``LanmanWorkstation\\Parameters\\RequireSecuritySignature`` style (last key parts);
        ``(Get-SmbServerConfiguration).EnableSMB1Protocol`` for a cmdlet property."""
        if is_cmdlet_setting(self.setting):
            return f"({self.key}).{self.value}"
        parts = [p for p in self.key.replace("/", "\\").split("\\") if p]
        return "\\".join([*parts[-2:], self.value])

    def describe_absent(self) -> str:
        """What an absent value scores, in words."""
        if self.absent_split is None:
            return self.when_absent.describe()
        key, value = self.absent_split
        return f"an absent key {key.verb}, an absent value (key present) {value.verb}"


@dataclass(frozen=True, slots=True)
class ImportedCheck:
    """One third-party check, as imported."""

    check_id: str
    title: str
    location: str  # "line 42", "row 3"
    targets: tuple[Target, ...] = ()
    cis_id: str = ""
    condition: str = ""  # Wazuh all / any / none
    rules: tuple[str, ...] = ()  # Wazuh rules as written
    compliance: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (framework key, ids)
    result: str = ""  # a third-party verdict (Wazuh export "passed" / "failed" / ...)
    reason: str = ""  # the third party's reason for that verdict
    problems: tuple[str, ...] = ()

    def compliance_ids(self, *keys: str) -> tuple[str, ...]:
        """Ids mapped under any of ``keys`` (framework keys compared case-insensitively)."""
        wanted = {k.lower() for k in keys}
        return tuple(i for k, ids in self.compliance if k.lower() in wanted for i in ids)


@dataclass(frozen=True, slots=True)
class ImportedPolicy:
    """One imported checklist file."""

    kind: str  # importer KIND: wazuh_policy, wazuh_export, hardeningkitty, tenable_audit, edca
    label: str  # "Wazuh SCA policy", ...
    policy_id: str
    name: str
    platform: str  # key of importers.platforms.PLATFORMS ("" = any Windows)
    checks: tuple[ImportedCheck, ...]
    requirements: tuple[str, ...] = ()  # Wazuh requirement rules as written
    problems: tuple[str, ...] = field(default=())

    @property
    def has_results(self) -> bool:
        """True when the file carries third-party verdicts about a host (an export)."""
        return any(c.result for c in self.checks)

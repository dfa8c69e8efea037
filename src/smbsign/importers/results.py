"""Third-party verdicts (a Wazuh dashboard export) and checklists as ``smbsign audit`` findings.

A Wazuh result is a verdict about one host, made by Wazuh, on *its* rule. It is not taken at
face value: "failed" on ``RequireSecuritySignature -> 1`` with ``condition: all`` means "absent
or not 1", and whether that fails smbsign's control depends on what an absent value means on
that host (reference.md §3). So each result is read back through the check's rule into the set of
registry states it allows, the audit engine judges every state with the host's facts (defaults,
SMB1-only settings, applicability: the same rules as for any evidence), and the finding is that
verdict when all states agree, else ``unknown`` with the states spelled out. Findings carry
``source.kind = "wazuh_export"`` and the layer of the value Wazuh reads (the live registry:
``local``, or ``gpo`` for ``Software\\Policies`` values, as for smbsign's own registry reads).

A checklist that is *not* a verdict about a host (a Wazuh policy, HardeningKitty list, Tenable
audit, EDCA control) becomes one ``checklist`` finding, ``not_applicable``: it is not evidence
of a host's configuration; ``smbsign policy check`` lints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smbsign.catalog import Catalog, DefaultsTable
from smbsign.catalog.schema import Control
from smbsign.collect.base import registry_layer
from smbsign.engine.evaluate import evaluate
from smbsign.importers import expect
from smbsign.importers.lint import LintFinding, lint
from smbsign.importers.mapping import MappedCheck, map_policy
from smbsign.importers.model import Absent, ImportedPolicy, Target
from smbsign.model import Finding, HostFacts, Layer, Provenance, SettingValue, Status

CHECKLIST = "checklist"
ABSENT = "absent"
_DONE = {"passed": True, "failed": False}
State = int | str


@dataclass(frozen=True, slots=True)
class _One:
    """One control and the defaults of the catalog it came from (what the engine judges)."""

    controls: Mapping[str, Control]
    defaults: DefaultsTable


def states(target: Target, passed: bool) -> list[State]:
    """Registry states of ``target`` consistent with the check having ``passed`` (or not)."""
    dom = expect.domain_for(target.setting, target.expect.passing)
    out: list[State] = [v for v in dom if (v in target.expect.passing) == passed]
    absent_ok = target.when_absent is Absent.UNKNOWN or (
        (target.when_absent is Absent.PASS) == passed
    )
    return ([ABSENT] if absent_ok else []) + out


def _value(host: str, target: Target, state: State, src: Provenance) -> list[SettingValue]:
    if state == ABSENT:
        return []
    return [SettingValue(host, target.setting, state, "REG_DWORD", src)]


def _source(path: str, mc: MappedCheck, target: Target, result: str) -> Provenance:
    c = mc.check
    cis = f", CIS {c.cis_id}" if c.cis_id else ""
    where = f"{c.location}: check {c.check_id}{cis}: {result}"
    return Provenance("wazuh_export", path, where, registry_layer(target.setting, Layer.LOCAL))


def _judge(
    host: str,
    control: Control,
    facts: HostFacts,
    context: list[SettingValue],
    values: list[SettingValue],
    defaults: DefaultsTable,
) -> Finding:
    return evaluate([*context, *values], (), facts, _One({control.id: control}, defaults))[0]


def _unknown(host: str, control: Control, src: Provenance | None, reason: str) -> Finding:
    return Finding(
        host, control.id, Status.UNKNOWN, None, "", src, reason, control.title,
        control.severity, control.weight,
    )  # fmt: skip


def _pins(host: str, path: str, mapped: list[MappedCheck]) -> list[SettingValue]:
    """Values a result proves exactly (a passed ``all`` check on ``= N``), as context."""
    out = []
    for mc in mapped:
        passed = _DONE.get(mc.check.result)
        if passed is None or len(mc.targets) != 1:
            continue
        target = mc.targets[0][0]
        allowed = states(target, passed)
        if len(allowed) == 1 and allowed[0] != ABSENT:
            out += _value(host, target, allowed[0], _source(path, mc, target, mc.check.result))
    return out


def _notes(mc: MappedCheck, target: Target, lints: list[LintFinding]) -> list[str]:
    notes = [
        f"Wazuh's rule: {target.value} {target.expect.describe()}, condition "
        f"{mc.check.condition}: {target.when_absent.describe()}",
        "Wazuh does not check the registry type (a REG_SZ with the same text matches too; "
        "Windows ignores it, docs/reference.md §1.1)",
    ]
    notes += [f"checklist defect ({f.code}): {f.message}" for f in lints]
    if mc.check.reason:
        notes.append(f"Wazuh's reason: {mc.check.reason}")
    return notes


def result_findings(
    policy: ImportedPolicy,
    path: str,
    host: str,
    facts: HostFacts,
    catalog: Catalog,
    controls: Mapping[str, Control],
) -> tuple[list[Finding], list[str]]:
    """Findings for the controls an export's rows are about, and notes for the rest."""
    mapped = map_policy(policy, catalog)
    context = _pins(host, path, mapped)
    by_check: dict[str, list[LintFinding]] = {}
    for lf in lint(policy, catalog):
        by_check.setdefault(lf.check_id, []).append(lf)
    findings: list[Finding] = []
    unmapped: list[str] = []
    for mc in mapped:
        pairs = [(t, controls[c]) for t, c in mc.targets if c is not None and c in controls]
        if not any(c for _, c in mc.targets):
            unmapped.append(mc.check.check_id)
        for target, control in pairs:
            findings.append(
                _one(host, path, mc, target, control, facts, context, by_check, len(pairs), catalog)
            )
    notes = []
    if unmapped:
        notes.append(
            f"{path}: {len(unmapped)} row(s) are about settings smbsign does not check "
            f"({', '.join(unmapped)})"
        )
    return findings, notes


def _one(
    host: str,
    path: str,
    mc: MappedCheck,
    target: Target,
    control: Control,
    facts: HostFacts,
    context: list[SettingValue],
    by_check: dict[str, list[LintFinding]],
    n_targets: int,
    catalog: Catalog,
) -> Finding:
    result = mc.check.result or "no result"
    src = _source(path, mc, target, result)
    head = f"Wazuh {mc.check.check_id} {result}"
    passed = _DONE.get(mc.check.result)
    if passed is None:
        why = f": {mc.check.reason}" if mc.check.reason else ""
        return _unknown(host, control, src, f"{head}: Wazuh did not decide it{why}")
    if n_targets > 1:
        return _unknown(host, control, src, f"{head}: the check tests several values at once")
    allowed = states(target, passed)
    if not allowed:
        return _unknown(host, control, src, f"{head}: no registry state fits this result")
    others = [c for c in context if c.setting.lower() != target.setting.lower()]
    verdicts = [
        (s, _judge(host, control, facts, others, _value(host, target, s, src), catalog.defaults))
        for s in allowed
    ]
    statuses = {f.status for _, f in verdicts}
    spelled = " or ".join(str(s) for s, _ in verdicts)
    notes = _notes(mc, target, by_check.get(mc.check.check_id, []))
    first = verdicts[0][1]
    if len(statuses) == 1:
        status = first.status
        reason = f"{head}, so {target.value} is {spelled}: {first.reason}"
        notes += list(first.notes)
    else:
        status = Status.UNKNOWN
        parts = "; ".join(f"{s} -> {f.status.value} ({f.reason})" for s, f in verdicts)
        reason = (
            f"{head}, so {target.value} is {spelled}, and the verdict depends on which: {parts}"
        )
    return Finding(
        host=host,
        control=control.id,
        status=status,
        observed=f"wazuh: {result}",
        expected=first.expected,
        source=src,
        reason=reason,
        title=control.title,
        severity=control.severity,
        weight=control.weight,
        notes=tuple(dict.fromkeys(notes)),
    )


def _checklist(host: str, status: Status, reason: str, **extra: str) -> Finding:
    return Finding(
        host=host,
        control=CHECKLIST,
        status=status,
        observed=None,
        expected=extra.get("expected", "host evidence"),
        source=None,
        reason=reason,
        title=extra.get("title", "Checklist, not host evidence"),
        severity=extra.get("severity", "info"),
        weight=0 if status is Status.NOT_APPLICABLE else 1,
        notes=(extra["note"],) if "note" in extra else (),
    )


def _article(label: str) -> str:
    return f"an {label}" if label[:1].upper() in "AEIOU" else f"a {label}"


def checklist_finding(host: str, path: str, policy: ImportedPolicy, problems: int) -> Finding:
    """The one finding of a checklist that is not a verdict about a host."""
    name = f" {policy.policy_id!r}" if policy.policy_id else ""
    found = f"finds {problems} problem(s) in it" if problems else "finds no problem in it"
    return _checklist(
        host,
        Status.NOT_APPLICABLE,
        f"{path} is {_article(policy.label)}{name} ({len(policy.checks)} checks): a checklist, "
        f"not evidence of a host's configuration; check it with `smbsign policy check {path}`",
        note=f"`smbsign policy check` {found}",
    )


def checklist_error(host: str, path: str, kind: str, message: str) -> Finding:
    """A file that looked like a checklist but could not be imported."""
    return _checklist(
        host,
        Status.ERROR,
        f"{path}: cannot import {kind or 'checklist'}: {message}",
        expected="a readable checklist",
        title="Checklist could not be read",
        severity="medium",
    )

"""Remediation plan: controls or audit findings + target kind + stage -> changes (pure).

A plan is what every renderer and applier reads. It never looks at hosts or files: it
takes catalog controls, optionally the findings of ``smbsign audit`` (only ``fail`` findings
select a control; ``unknown``/``error`` ones are listed as skipped with the reason), the kind
of machine to fix and the stage:

* no stage: the named controls, or by default every control that enforces signing;
* ``audit``: the audit-unsigned-peers policies (stage ``audit`` controls, Windows 11 24H2 /
  Server 2025, docs/reference.md §1.3) for the sides (server / client) being enforced, as the staged
  first step recommended in docs/reference.md §2.3;
* ``enforce``: the controls that require signing (never the audit ones).

Every change carries the impact notes of its control that concern the target (catalog
``considerations`` with their ``targets`` and ``roles``; EDCA-SEC-043) plus, for Windows,
restart and minimum-build notes derived from the desired state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smbsign.catalog.schema import Control, DesiredRegistry, DesiredSamba
from smbsign.engine.facts import SAMBA_ROLES
from smbsign.errors import UsageError
from smbsign.model import Role
from smbsign.remediate.gpo_plan import GpoAction, action_to_dict, gpo_actions


class TargetKind(StrEnum):
    """The kind of machine a plan is for (public CLI values of ``--target``)."""

    WINDOWS_CLIENT = "windows-client"
    WINDOWS_SERVER = "windows-server"
    DOMAIN_CONTROLLER = "domain-controller"
    SAMBA = "samba"

    @property
    def is_windows(self) -> bool:
        return self is not TargetKind.SAMBA


class Stage(StrEnum):
    AUDIT = "audit"
    ENFORCE = "enforce"


# Catalog roles each Windows target covers (schema ``RoleName``); Samba covers every role.
_TARGET_ROLES: dict[TargetKind, frozenset[str]] = {
    TargetKind.WINDOWS_CLIENT: frozenset({"workstation"}),
    TargetKind.WINDOWS_SERVER: frozenset({"member_server", "standalone"}),
    TargetKind.DOMAIN_CONTROLLER: frozenset({"domain_controller"}),
    TargetKind.SAMBA: frozenset(
        {"workstation", "member_server", "domain_controller", "standalone"}
    ),
}
_RESTART_TEXT = {
    "service": "takes effect only after the service restarts (docs/reference.md §4.2)",
    "reboot": "takes effect only after a reboot (docs/reference.md §4.2)",
}


@dataclass(frozen=True, slots=True)
class Impact:
    """What one change may break or need (blast radius)."""

    control: str
    topic: str
    text: str


@dataclass(frozen=True, slots=True)
class Change:
    """One control to put in its desired state on the target.

    ``registry`` is set for Windows targets, ``samba`` for Samba; ``hosts`` lists the hosts
    whose findings selected the control (empty when chosen with ``--controls``).
    """

    control: Control
    registry: tuple[DesiredRegistry, ...]
    samba: tuple[DesiredSamba, ...]
    hosts: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.control.id


@dataclass(frozen=True, slots=True)
class Skipped:
    control: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    target: TargetKind
    stage: Stage | None
    changes: tuple[Change, ...]
    impacts: tuple[Impact, ...]
    skipped: tuple[Skipped, ...]
    source: str = "controls"
    notes: tuple[str, ...] = ()  # about the input (e.g. scan records left out), not a control
    # domain findings (smbsign ad): per OU, the GPO to change or link (remediate.gpo_plan)
    gpo_actions: tuple[GpoAction, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes


def _not_applicable(
    control: Control, target: TargetKind, roles: frozenset[str] | None = None
) -> str | None:
    """Why ``control`` cannot be applied to ``target`` (None when it can); ``roles`` narrows
    the roles the target covers when the host's role is known (a Samba ``server role``)."""
    family = "samba" if target is TargetKind.SAMBA else "windows"
    if family not in control.applies_to.os_families:
        return f"not a {family} control (applies to {', '.join(control.applies_to.os_families)})"
    if not (roles or _TARGET_ROLES[target]) & set(control.applies_to.roles):
        where = f"{target.value} ({', '.join(sorted(roles))})" if roles else target.value
        return f"does not apply to {where} (roles: {', '.join(control.applies_to.roles)})"
    if target is TargetKind.SAMBA and not control.desired.samba:
        return "has no smb.conf desired state"
    if target.is_windows and not control.desired.registry:
        return "has no registry desired state"
    return None


def _impacts(
    control: Control, target: TargetKind, known_roles: frozenset[str] | None = None
) -> list[Impact]:
    """The control's notes for ``target``: its family and roles (catalog ``targets``/``roles``).

    Registry restarts and the minimum Windows build concern Windows targets only.
    """
    family = "samba" if target is TargetKind.SAMBA else "windows"
    roles = known_roles or _TARGET_ROLES[target]
    out = [
        Impact(control.id, c.topic, c.text)
        for c in control.considerations
        if (not c.targets or family in c.targets) and (not c.roles or roles & set(c.roles))
    ]
    if not target.is_windows:
        return out
    restarts = sorted({r.restart for r in control.desired.registry if r.restart != "none"})
    out += [Impact(control.id, "restart", _RESTART_TEXT[r]) for r in restarts]
    if control.applies_to.min_build:
        out.append(
            Impact(
                control.id,
                "other",
                f"needs Windows build {control.applies_to.min_build} or later; "
                "older builds ignore the value",
            )
        )
    return out


def failing_controls(
    findings: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """From finding dicts: {control: failing hosts} and {control: why it was not selected}."""
    failing: dict[str, list[str]] = {}
    unsure: dict[str, str] = {}
    for f in findings:
        control, status = str(f.get("control", "")), str(f.get("status", ""))
        host = str(f.get("host", ""))
        if not control:
            continue
        if status == "fail":
            hosts = failing.setdefault(control, [])
            if host and host not in hosts:
                hosts.append(host)
        elif status in ("unknown", "error"):
            reason = f.get("reason") or status
            unsure.setdefault(control, f"{status} on {host or 'a host'}: {reason}")
    for control in failing:
        unsure.pop(control, None)
    return failing, unsure


def _select_for_stage(
    controls: Mapping[str, Control],
    chosen: list[str],
    stage: Stage | None,
    explicit: bool,
    skipped: list[Skipped],
) -> list[str]:
    """Apply the stage: audit swaps enforcing controls for the audit policies of their side."""
    if stage is None:
        return chosen
    if stage is Stage.ENFORCE:
        keep = []
        for cid in chosen:
            if controls[cid].stage == "audit":
                skipped.append(Skipped(cid, "an audit-stage control (use --stage audit)"))
            else:
                keep.append(cid)
        return keep
    sides = {controls[c].side for c in chosen if controls[c].stage != "audit"}
    audit = [c for c in chosen if controls[c].stage == "audit"]
    if not explicit or sides:
        for cid, control in controls.items():
            if (
                control.stage == "audit"
                and cid not in audit
                and (not explicit or control.side in sides)
            ):
                audit.append(cid)
    for cid in chosen:
        if controls[cid].stage != "audit":
            skipped.append(Skipped(cid, "enforced in the next stage (--stage enforce)"))
    return audit


def build_plan(
    controls: Sequence[Control],
    target: TargetKind,
    *,
    stage: Stage | None = None,
    control_ids: Sequence[str] | None = None,
    findings: Iterable[Mapping[str, Any]] | None = None,
    source: str = "controls",
    notes: Sequence[str] = (),
    roles: frozenset[str] | None = None,
) -> Plan:
    """The changes that bring ``target`` to the desired state of the selected controls.

    ``roles``: the roles the target host is known to have (e.g. from a Samba ``server role``,
    :func:`samba_roles`); controls for other roles are skipped with the reason.

    Selection: ``findings`` (``fail`` ones) if given, else ``control_ids``, else every
    control with ``enforces_signing``. Unknown control ids raise :class:`UsageError`.
    """
    by_id = {c.id: c for c in controls}
    skipped: list[Skipped] = []
    hosts: dict[str, list[str]] = {}
    if findings is not None:
        findings = list(findings)  # read twice: the controls, then the GPO actions
        hosts, unsure = failing_controls(findings)
        chosen = [c for c in hosts if c in by_id]
        skipped += [Skipped(c, "not in the catalog") for c in hosts if c not in by_id]
        skipped += [Skipped(c, r) for c, r in unsure.items()]
        explicit = True
    elif control_ids:
        unknown = [c for c in control_ids if c not in by_id]
        if unknown:
            raise UsageError(f"unknown control id(s): {', '.join(unknown)}")
        chosen = list(dict.fromkeys(control_ids))
        explicit = True
    else:
        chosen = [c.id for c in controls if c.enforces_signing]
        explicit = False
    chosen = _select_for_stage(by_id, chosen, stage, explicit, skipped)

    changes: list[Change] = []
    impacts: list[Impact] = []
    for cid in chosen:
        control = by_id[cid]
        why = _not_applicable(control, target, roles)
        if why:
            skipped.append(Skipped(cid, why))
            continue
        windows = target.is_windows
        changes.append(
            Change(
                control=control,
                registry=control.desired.registry if windows else (),
                samba=() if windows else control.desired.samba,
                hosts=tuple(hosts.get(cid, ())),
            )
        )
        impacts += _impacts(control, target, roles)
    if not changes and stage is Stage.AUDIT and target is TargetKind.SAMBA:
        skipped.append(
            Skipped("-", "Samba has no audit-unsigned-peers policy; use --stage enforce")
        )
    actions: tuple[GpoAction, ...] = ()
    if findings is not None and target.is_windows:
        actions = gpo_actions(findings, {ch.id: _setting_text(ch) for ch in changes})
    return Plan(
        target,
        stage,
        tuple(changes),
        tuple(impacts),
        tuple(skipped),
        source,
        tuple(notes),
        actions,
    )


def samba_roles(global_params: Mapping[str, str]) -> frozenset[str]:
    """The catalog roles of a Samba server from its ``[global]`` parameters: an AD DC
    (``server role``, read with the engine's one table :data:`SAMBA_ROLES`, smb.conf(5))
    serves LDAP; any other role (standalone, member, classic NT4 domain controller) does not."""
    role = SAMBA_ROLES.get(" ".join(global_params.get("server role", "auto").lower().split()))
    if role is Role.DOMAIN_CONTROLLER:
        return frozenset({Role.DOMAIN_CONTROLLER.value})
    return _TARGET_ROLES[TargetKind.SAMBA] - {Role.DOMAIN_CONTROLLER.value}


def _setting_text(change: Change) -> str:
    r"""``HKLM\...\RequireSecuritySignature = 1 (REG_DWORD, GptTmpl.inf)``: what the GPO sets."""
    return "; ".join(
        f"{r.key}\\{r.value} = {r.data} ({r.type}, {r.gpo_file})" for r in change.registry
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """JSON shape of a plan (written as ``plan.json`` next to rendered files)."""
    return {
        "target": plan.target.value,
        "stage": plan.stage.value if plan.stage else None,
        "source": plan.source,
        "changes": [
            {
                "control": ch.id,
                "title": ch.control.title,
                "hosts": list(ch.hosts),
                "registry": [r.model_dump() for r in ch.registry],
                "samba": [s.model_dump() for s in ch.samba],
            }
            for ch in plan.changes
        ],
        "impacts": [{"control": i.control, "topic": i.topic, "text": i.text} for i in plan.impacts],
        "skipped": [{"control": s.control, "reason": s.reason} for s in plan.skipped],
        "notes": list(plan.notes),
        "gpo_actions": [action_to_dict(a) for a in plan.gpo_actions],
    }

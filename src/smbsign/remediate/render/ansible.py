"""Ansible renderer: a collection with one role per control, in the style of the seed role.

Each role (``roles/<control id with _>/``) has ``tasks/main.yml`` (record the previous value
with ``win_reg_stat``, write it with ``ansible.windows.win_regedit`` and an explicit ``type``
- never the module's default ``string``, docs/reference.md §6.7 - then read it back and assert),
``defaults/main.yml`` (one role-prefixed variable per value), ``meta/main.yml``, a README
with the variables table, compliance, registry details, verification, idempotency and notes
(seed ``win_ms_network_server_sign_always``), and ``handlers/main.yml`` with a reboot that
only runs when ``<role>_allow_reboot`` is true for values that need a restart. The collection
also gets ``galaxy.yml``, ``meta/runtime.yml``, a README and an example playbook.

Rollback: before its first change each role records, on the managed host under
``<role>_rollback_key`` (``HKLM:\\SOFTWARE\\smbsign\\AnsibleRollback\\<role>``), every value's
previous type and data and whether it existed (the marker is written last and only once), and
refuses to change a value whose type ``win_regedit`` cannot write back; ``tasks/rollback.yml``
and ``playbooks/smbsign_rollback.yml`` restore exactly that (deleting values that were
absent), read back, and remove the record. Only type and data come from the record; the key
and value names are fixed in the generated tasks.
"""

from __future__ import annotations

import re

from smbsign.catalog.schema import DesiredRegistry
from smbsign.remediate.plan import Change, Plan
from smbsign.remediate.render._common import (
    TOPIC_LABELS,
    RenderContext,
    Rendered,
    at_least,
    full_key,
    one_line,
    ps_drive_key,
    render_text,
    typed_data,
    yaml_quote,
)
from smbsign.remediate.render.ansible_inventory import FILE as INVENTORY
from smbsign.remediate.render.ansible_inventory import inventory

NAMESPACE = "smbsign"
NAME = "remediation"
PLAYBOOK = "smbsign_fix.yml"
ROLLBACK_PLAYBOOK = "smbsign_rollback.yml"
# Where each role records what it found before its first change, on the managed host (HKLM:
# only administrators write there), for the generated rollback playbook.
RECORD_KEY = "HKLM:\\SOFTWARE\\smbsign\\AnsibleRollback"
# Types whose win_reg_stat ``value`` (a list of byte integers) is what win_regedit takes;
# for the others ``raw_value`` is (REG_EXPAND_SZ unexpanded), ansible.windows win_reg_stat
# and win_regedit documentation.
_BYTE_TYPES = "['REG_BINARY', 'REG_NONE']"
_MODULE_TYPES = {
    "REG_DWORD": "dword",
    "REG_QWORD": "qword",
    "REG_SZ": "string",
    "REG_EXPAND_SZ": "expandstring",
    "REG_MULTI_SZ": "multistring",
    "REG_BINARY": "binary",
}
_GPO_NOTE = {
    "GptTmpl.inf": "Security Options, applied by the Security CSE",
    "Registry.pol": "Administrative Templates, applied by the Registry CSE",
}


def role_name(control_id: str) -> str:
    return control_id.replace("-", "_")


def snake(name: str) -> str:
    """``RequireSecuritySignature`` -> ``require_security_signature``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def _yaml_value(data: int | str | tuple[str, ...]) -> str:
    if isinstance(data, int):
        return str(data)
    if isinstance(data, tuple):
        return "[" + ", ".join(yaml_quote(d) for d in data) + "]"
    return yaml_quote(data)


def _display(data: int | str | tuple[str, ...]) -> str:
    return ", ".join(data) if isinstance(data, tuple) else str(data)


def _value_rows(role: str, ch: Change) -> list[dict[str, object]]:
    rows = []
    multi = len(ch.registry) > 1
    for n, reg in enumerate(ch.registry, 1):
        var = f"{role}_{snake(reg.value)}"
        data = typed_data(reg)
        suffix = f"_{n}" if multi else ""
        before, after = f"{role}_before{suffix}", f"{role}_after{suffix}"
        mark, saved = f"{role}_record{suffix}", f"{role}_record_data{suffix}"
        restored = f"{role}_restored{suffix}"
        types = f"{role}_module_types"
        minimum = at_least(ch.control, reg)
        when: list[dict[str, list[str]]] = []  # zero or one folded `when:` condition
        if minimum:  # a higher level already passes the control: never lower it
            compare = f"{after}.value | int >= {var} | int"
            lines = [
                f"not {before}.exists",
                f"or {before}.type != '{reg.type}'",
                f"or {before}.value | int < {var} | int",
            ]
            when.append({"lines": lines})
        elif isinstance(data, tuple):
            compare = f"{after}.value == {var}"
        elif isinstance(data, int):
            compare = f"{after}.value | int == {var} | int"
        else:
            compare = f"{after}.value == {var}"
        rows.append(
            {
                "name": reg.value,
                "name_q": yaml_quote(reg.value),
                "path": yaml_quote(ps_drive_key(reg.key)),
                "type": reg.type,
                "module_type": _MODULE_TYPES[reg.type],
                "var": var,
                "data_expr": '"{{ ' + var + ' }}"',
                "default": _yaml_value(data),
                "before": before,
                "after": after,
                "compare": compare,
                "when": when,
                "minimum": minimum,
                "fail_msg": yaml_quote(
                    f"{reg.value} is not the desired {reg.type} data after the change"
                ),
                "notify": [f"Reboot after {role}"] if reg.restart != "none" else [],
                "reg": reg,
                # rollback record: data under "<n>-<name>" (its previous type), then the
                # marker "<n>-<name>-existed" (1 or 0), written last and only once
                "key_var": '"{{ ' + f"{role}_rollback_key" + ' }}"',
                "mark_name": yaml_quote(f"{n}-{reg.value}-existed"),
                "data_name": yaml_quote(f"{n}-{reg.value}"),
                "mark": mark,
                "saved": saved,
                "restored": restored,
                "types": types,
                "existed_expr": '"{{ 1 if ' + f"{before}.exists" + ' else 0 }}"',
                "before_data": _data_of(before),
                "before_type": '"{{ ' + f"{types}[{before}.type]" + ' }}"',
                "saved_data": _data_of(saved),
                "saved_type": '"{{ ' + f"{types}[{saved}.type]" + ' }}"',
                "fail_type": yaml_quote(
                    f"{reg.value} has a registry type that the rollback cannot write back; "
                    "nothing was changed"
                ),
                "fail_record": yaml_quote(
                    f"The rollback record of {reg.value} is damaged; nothing was restored: "
                    "restore it by hand"
                ),
                "fail_restore": yaml_quote(f"{reg.value} is not as recorded after the rollback"),
            }
        )
    return rows


def _data_of(var: str) -> list[str]:
    """The win_regedit ``data`` that writes back what win_reg_stat registered in ``var``
    (lines of a folded YAML scalar: one Jinja expression, so the value keeps its type)."""
    return [f"{{{{ {var}.value if {var}.type in {_BYTE_TYPES}", f"else {var}.raw_value }}}}"]


def _compliance(ch: Change, ctx: RenderContext) -> tuple[str, list[str]]:
    refs = ctx.refs(ch.id)
    if not refs:
        return "", ["No framework in the smbsign catalog maps to this control yet."]
    by_framework: dict[str, list[str]] = {}
    for ref in refs:
        by_framework.setdefault(ref.framework, []).append(ref.requirement)
    lines = ["This role addresses the following compliance requirements:", ""]
    lines += [f"- **{fw}**: {', '.join(reqs)}" for fw, reqs in by_framework.items()]
    return (
        f" It maps to {len(refs)} requirement(s) in {len(by_framework)} framework(s) "
        "(see Compliance).",
        lines,
    )


def _verify(reg: DesiredRegistry) -> str:
    return (
        f'Get-ItemProperty -Path "{ps_drive_key(reg.key)}" -Name "{reg.value}" '
        f"-ErrorAction SilentlyContinue | Select-Object {reg.value}"
    )


def _role_files(ch: Change, plan: Plan, ctx: RenderContext) -> Rendered:
    role = role_name(ch.id)
    rows = _value_rows(role, ch)
    needs_reboot = any(r["notify"] for r in rows)
    variables = [
        {
            "name": r["var"],
            "default": r["default"],
            "comment": f"{r['type']} data for {full_key(ch.registry[i].key)}\\{r['name']}",
            "description": f"Data for `{r['name']}` ({r['type']}). Default: the desired state "
            "from the catalog.",
        }
        for i, r in enumerate(rows)
    ]
    variables.append(
        {
            "name": f"{role}_rollback_key",
            "default": yaml_quote(f"{RECORD_KEY}\\{role}"),
            "comment": "Where the previous values are recorded for the rollback playbook",
            "description": "Registry key on the host where the role records, before its first "
            "change, each value's previous type and data (or that it was absent); "
            f"`playbooks/{ROLLBACK_PLAYBOOK}` restores them and removes the key.",
        }
    )
    if needs_reboot:
        variables.append(
            {
                "name": f"{role}_allow_reboot",
                "default": "false",
                "comment": "Reboot when a value that needs a restart changed",
                "description": "Set to `true` to let the role reboot the host when a value that "
                "only takes effect after a restart was changed.",
            }
        )
    intro, compliance = _compliance(ch, ctx)
    cmdlet = ch.control.desired.cmdlet
    verify_ps = [_verify(r) for r in ch.registry]
    if cmdlet is not None:
        getter = cmdlet.cmdlet.replace("Set-", "Get-", 1)
        verify_ps.append(f"{getter} | Select-Object {cmdlet.parameter}")
    steps: list[str] = []
    for reg in ch.registry:
        steps += [
            f"{len(steps) + 2}. Navigate to `{full_key(reg.key)}`",
            f"{len(steps) + 3}. Check that `{reg.value}` is {reg.type} {_display(typed_data(reg))}",
        ]
    notes = [
        f"**{TOPIC_LABELS.get(i.topic, i.topic)}**: {one_line(i.text)}"
        for i in plan.impacts
        if i.control == ch.id
    ]
    notes.append(
        "**Layering**: this writes the local registry; a domain GPO that defines the "
        "same value wins and reverts it at the next refresh (docs/reference.md §4.1)."
    )
    common = {
        "generator": ctx.generator,
        "role": role,
        "control": ch.id,
        "title": one_line(ch.control.title),
    }
    play = f"Apply {ch.id}"
    readme = render_text(
        "ansible/role_README.md.j2",
        **common,
        compliance_intro=intro,
        rationale=one_line(ch.control.rationale),
        desired_summary="; ".join(
            f"`{r.value}` = {_display(typed_data(r))} ({r.type})" for r in ch.registry
        ),
        extra_modules=", `win_reboot`" if needs_reboot else "",
        variables=variables,
        play_name=play,
        rollback_playbook=ROLLBACK_PLAYBOOK,
        fqcn=f"{NAMESPACE}.{NAME}.{role}",
        compliance=compliance,
        registry=[
            {
                "path": full_key(r.key),
                "name": r.value,
                "type": r.type,
                "data": _display(typed_data(r))
                + (" or higher (a higher level is left alone)" if at_least(ch.control, r) else ""),
                "gpo_file": r.gpo_file,
                "gpo_note": _GPO_NOTE[r.gpo_file],
            }
            for r in ch.registry
        ],
        verify_ps=verify_ps,
        verify_steps=steps,
        type_list=", ".join(sorted({r.type for r in ch.registry})),
        module_type_list=", ".join(sorted({str(r["module_type"]) for r in rows})),
        before_vars=", ".join(f"`{r['before']}`" for r in rows),
        minimum_notes=[
            f"`{r['name']}` is a minimum level: when it is already {r['type']} "
            f"{_display(typed_data(ch.registry[i]))} or higher the write is skipped, so the "
            "role never lowers it."
            for i, r in enumerate(rows)
            if r["minimum"]
        ],
        notes=notes,
    )
    base = f"roles/{role}"
    out: Rendered = {
        f"{base}/README.md": readme.encode(),
        f"{base}/tasks/main.yml": render_text(
            "ansible/tasks.yml.j2", **common, values=rows
        ).encode(),
        f"{base}/tasks/rollback.yml": render_text(
            "ansible/rollback_tasks.yml.j2",
            **common,
            values=rows,
            any_record=" or ".join(f"{r['mark']}.exists" for r in rows),
            key_var='"{{ ' + f"{role}_rollback_key" + ' }}"',
            nothing_msg=yaml_quote(
                f"{role}: no rollback record on this host, nothing to roll back"
            ),
        ).encode(),
        f"{base}/vars/main.yml": render_text(
            "ansible/vars.yml.j2", **common, types=f"{role}_module_types", map=_MODULE_TYPES
        ).encode(),
        f"{base}/defaults/main.yml": render_text(
            "ansible/defaults.yml.j2", **common, variables=variables
        ).encode(),
        f"{base}/meta/main.yml": render_text(
            "ansible/meta.yml.j2", description=yaml_quote(f"smbsign: {one_line(ch.control.title)}")
        ).encode(),
    }
    if needs_reboot:
        out[f"{base}/handlers/main.yml"] = render_text(
            "ansible/handlers.yml.j2",
            **common,
            handlers=[
                {
                    "name": f"Reboot after {role}",
                    "msg": yaml_quote(f"smbsign: reboot to apply {ch.id}"),
                    "when": f"{role}_allow_reboot | bool",
                }
            ],
        ).encode()
    return out


def render(plan: Plan, ctx: RenderContext) -> Rendered:
    out: Rendered = {}
    for ch in plan.changes:
        out.update(_role_files(ch, plan, ctx))
    hosts, groups = inventory(plan, role_name)  # from findings: roles only where they failed
    if hosts is not None:
        out[INVENTORY] = hosts
    roles = [
        {
            "fqcn": f"{NAMESPACE}.{NAME}.{role_name(c.id)}",
            "control": c.id,
            "title": one_line(c.control.title),
        }
        for c in plan.changes
    ]
    stage = f", stage `{plan.stage.value}`" if plan.stage else ""
    description = yaml_quote(f"smbsign remediation roles for {plan.target.value}")
    repository = [yaml_quote(ctx.collection_repository)] if ctx.collection_repository else []
    out["galaxy.yml"] = render_text(
        "ansible/galaxy.yml.j2",
        namespace=NAMESPACE,
        name=NAME,
        description=description,
        repository=repository,
        inventory=INVENTORY if hosts is not None else "",
    ).encode()
    if not repository:
        out[".ansible-lint"] = render_text(
            "ansible/ansible-lint.yml.j2", generator=ctx.generator
        ).encode()
    out["meta/runtime.yml"] = render_text("ansible/runtime.yml.j2").encode()
    out["CHANGELOG.md"] = render_text(
        "ansible/changelog.md.j2",
        generator=ctx.generator,
        roles=", ".join(role_name(c.id) for c in plan.changes),
    ).encode()
    out["README.md"] = render_text(
        "ansible/collection_README.md.j2",
        namespace=NAMESPACE,
        name=NAME,
        generator=ctx.generator,
        target=plan.target.value,
        stage=stage,
        roles=roles,
        playbook=PLAYBOOK,
        rollback_playbook=ROLLBACK_PLAYBOOK,
        impacts=[f"`{i.control}` ({i.topic}): {one_line(i.text)}" for i in plan.impacts]
        or ["None listed in the catalog."],
    ).encode()
    out[f"playbooks/{ROLLBACK_PLAYBOOK}"] = render_text(
        "ansible/rollback_playbook.yml.j2",
        playbook=f"playbooks/{ROLLBACK_PLAYBOOK}",
        play_name=yaml_quote(f"Roll back smbsign remediation ({plan.target.value})"),
        roles=[r["fqcn"] for r in reversed(roles)],
    ).encode()
    out[f"playbooks/{PLAYBOOK}"] = render_text(
        "ansible/playbook.yml.j2",
        playbook=f"playbooks/{PLAYBOOK}",
        play_name=yaml_quote(f"Apply smbsign remediation ({plan.target.value})"),
        roles=[r["fqcn"] for r in roles],
        when={f"{NAMESPACE}.{NAME}.{role_name(c)}": g for c, g in groups.items()},
    ).encode()
    return out

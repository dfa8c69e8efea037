"""PowerShell DSC renderer: one ``SmbsignSigning`` configuration (docs/reference.md §6.6).

Per control: a SecurityPolicyDsc ``SecurityOption`` when the catalog names one (the Security
Options, applied through secedit like a GPO's GptTmpl.inf); otherwise, per registry value,
GPRegistryPolicyDsc ``RegistryPolicyFile`` (+ one ``RefreshRegistryPolicy``) for values that
live in Registry.pol, or PSDscResources ``Registry`` for plain values. Only the modules the
configuration uses are imported.
"""

from __future__ import annotations

from smbsign.catalog.schema import DesiredRegistry
from smbsign.codecs.text import crlf_utf8
from smbsign.remediate.plan import Plan
from smbsign.remediate.render._common import (
    RenderContext,
    Rendered,
    full_key,
    hive_relative,
    ps_quote,
    render_text,
    typed_data,
)
from smbsign.remediate.render.powershell import comment_safe

FILE = "SmbsignSigning.ps1"
_POLICY_TYPES = {
    "REG_DWORD": "DWORD",
    "REG_SZ": "String",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_MULTI_SZ": "MultiString",
    "REG_QWORD": "QWORD",
    "REG_BINARY": "Binary",
}
_REGISTRY_TYPES = {
    "REG_DWORD": "Dword",
    "REG_SZ": "String",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_MULTI_SZ": "MultiString",
    "REG_QWORD": "Qword",
    "REG_BINARY": "Binary",
}


def resource_name(*parts: str) -> str:
    """``smb-server-signing-required`` -> ``SmbServerSigningRequired`` (DSC instance names)."""
    words = [w for p in parts for w in p.replace("_", "-").split("-") if w]
    return "".join(w[:1].upper() + w[1:] for w in words)


def _data(reg: DesiredRegistry) -> str:
    data = typed_data(reg)
    items = data if isinstance(data, tuple) else (str(data),)
    return "@(" + ", ".join(ps_quote(i) for i in items) + ")"


def render(plan: Plan, ctx: RenderContext) -> Rendered:
    options, policies, registry = [], [], []
    for ch in plan.changes:
        comment = comment_safe(f"{ch.id}: {ch.control.title}")
        option = ch.control.desired.security_option
        if option is not None:
            options.append(
                {
                    "comment": comment,
                    "name": resource_name(ch.id),
                    "property": option.dsc_name,
                    "value": ps_quote(option.dsc_value),
                }
            )
            continue
        for reg in ch.registry:
            row = {
                "comment": comment,
                "name": resource_name(ch.id, reg.value),
                "value_name": ps_quote(reg.value),
                "data": _data(reg),
            }
            if reg.gpo_file == "Registry.pol":
                policies.append(
                    {
                        **row,
                        "key": ps_quote(hive_relative(reg.key)),
                        "type": ps_quote(_POLICY_TYPES[reg.type]),
                    }
                )
            else:
                registry.append(
                    {
                        **row,
                        "key": ps_quote(full_key(reg.key)),
                        "type": ps_quote(_REGISTRY_TYPES[reg.type]),
                    }
                )
    modules = [
        m
        for m, used in (
            ("SecurityPolicyDsc", options),
            ("GPRegistryPolicyDsc", policies),
            ("PSDscResources", registry),
        )
        if used
    ]
    depends = "@(" + ", ".join(ps_quote(f"[RegistryPolicyFile]{p['name']}") for p in policies) + ")"
    summary = [f"- {ch.id}: {comment_safe(ch.control.title)}" for ch in plan.changes]
    summary += [f"Impact ({i.control}, {i.topic}): {comment_safe(i.text)}" for i in plan.impacts]
    text = render_text(
        "dsc/SmbsignSigning.ps1.j2",
        generator=comment_safe(ctx.generator),
        target=plan.target.value,
        stage=plan.stage.value if plan.stage else "default",
        synopsis=f"DSC configuration for {len(plan.changes)} smbsign control(s).",
        summary=summary,
        modules=modules,
        modules_text=", ".join(modules),
        security_options=options,
        policies=policies,
        refresh=[{"depends": depends}] if policies else [],
        registry=registry,
    )
    return {FILE: crlf_utf8(text)}

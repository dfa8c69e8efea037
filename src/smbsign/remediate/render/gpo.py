"""GPO renderer: a Group Policy folder that clients apply, plus an import script.

Security Options (the four signing values, plaintext password, SPN hardening) go to
``Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf`` ``[Registry Values]`` as
``MACHINE\\<path>\\<name>=<type>,<data>``, UTF-16LE with BOM and CRLF ([MS-GPSB] 2.2,
docs/reference.md §6.2, written by :mod:`smbsign.codecs.gpttmpl`); ADMX policies (24H2 audit
policies, SMB1 SecGuide) go to ``Machine/Registry.pol`` through the PReg writer
(:mod:`smbsign.codecs.registrypol`, docs/reference.md §6.3). Clients apply a GPO only if
``gPCMachineExtensionNames`` lists the client-side extensions of its files and the computer
version rose ([MS-GPSB] 1.9, [MS-GPOL] 3.3.5.4): the generated
``Import-SmbsignGpo.ps1`` does both. The GPO GUID is derived from the plan (uuid5), so output
is reproducible.
"""

from __future__ import annotations

import uuid

from smbsign.catalog.schema import DesiredRegistry
from smbsign.codecs.gpttmpl import (
    REGISTRY_VALUES,
    UNICODE_SECTION,
    VERSION_SECTION,
    RegistryValue,
    encode_template,
    registry_value_line,
    write_template,
)
from smbsign.codecs.regdata import TYPE_CODES, encode_data
from smbsign.codecs.registrypol import PolEntry, encode_registry_pol
from smbsign.remediate.plan import Plan
from smbsign.remediate.render._common import (
    RenderContext,
    Rendered,
    gpo_key,
    hive_relative,
    impact_lines,
    ps_quote,
    render_text,
    short_key,
    typed_data,
)

SECURITY_CSE = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
REGISTRY_CSE = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]"
GPTTMPL = "Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
REGISTRY_POL = "Machine/Registry.pol"
_INF_TYPES = {"REG_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_MULTI_SZ"}
_NAMESPACE = uuid.UUID("6f1c2a4e-8d0b-4c53-9a51-5b1e6d0f4a27")
VERSION = 1  # computer version 1, user version 0


def gpttmpl_line(reg: DesiredRegistry) -> str:
    """``MACHINE\\...\\Name=4,1`` ([MS-GPSB] 2.2.5: 1 quoted string, 4 decimal, 7 list)."""
    code = TYPE_CODES[reg.type]
    return registry_value_line(RegistryValue(gpo_key(reg.key), reg.value, code, typed_data(reg)))


def _in_inf(reg: DesiredRegistry) -> bool:
    return reg.gpo_file == "GptTmpl.inf" and reg.type in _INF_TYPES


def _display(data: int | str | tuple[str, ...]) -> str:
    return ",".join(data) if isinstance(data, tuple) else str(data)


def gpo_guid(plan: Plan) -> str:
    seed = "|".join([plan.target.value, str(plan.stage), *(c.id for c in plan.changes)])
    return "{" + str(uuid.uuid5(_NAMESPACE, seed)).upper() + "}"


def render(plan: Plan, ctx: RenderContext) -> Rendered:
    regs = [(ch.id, r) for ch in plan.changes for r in ch.registry]
    inf = [r for _, r in regs if _in_inf(r)]
    pol = [r for _, r in regs if not _in_inf(r)]
    folder = gpo_guid(plan)
    out: Rendered = {}
    layout: list[str] = []
    extensions = []
    if pol:
        entries = [
            PolEntry(
                hive_relative(r.key),
                r.value,
                TYPE_CODES[r.type],
                encode_data(TYPE_CODES[r.type], typed_data(r)),
            )
            for r in pol
        ]
        out[f"{folder}/{REGISTRY_POL}"] = encode_registry_pol(entries)
        layout.append("Machine\\Registry.pol   Administrative Templates (PReg)")
        extensions.append(REGISTRY_CSE)
    if inf:
        lines = [gpttmpl_line(r) for r in inf]
        sections = [UNICODE_SECTION, (REGISTRY_VALUES, lines), VERSION_SECTION]
        out[f"{folder}/{GPTTMPL}"] = encode_template(write_template(sections))
        layout.append("Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf   Security Options")
        extensions.append(SECURITY_CSE)
    display = f"smbsign {plan.target.value}" + (f" {plan.stage.value}" if plan.stage else "")
    out[f"{folder}/gpt.ini"] = (
        render_text("gpo/gpt.ini.j2", version=VERSION, display_name=display)
        .replace("\n", "\r\n")
        .encode("ascii")
    )
    ext = "".join(extensions)
    out["gPCMachineExtensionNames.txt"] = (ext + "\r\n").encode("ascii")
    local = []
    if inf:
        local.append(
            'secedit /configure /db "%TEMP%\\smbsign.sdb" /cfg '
            f'"{folder}\\Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf" '
            "/areas SECURITYPOLICY"
        )
    if pol:
        local.append(
            f'LGPO.exe /m "{folder}\\Machine\\Registry.pol"   '
            "(LGPO.exe: Microsoft Security Compliance Toolkit)"
        )
    local.append("then: gpupdate /target:computer /force, and re-run smbsign audit")
    settings = [
        f"{cid}: {short_key(r.key)}\\{r.value} = {_display(typed_data(r))} ({r.type}, {r.gpo_file})"
        for cid, r in regs
    ]
    common = {"generator": ctx.generator, "target": plan.target.value, "folder": folder}
    out["README.txt"] = (
        render_text(
            "gpo/README.txt.j2",
            **common,
            stage=f", stage {plan.stage.value}" if plan.stage else "",
            version=VERSION,
            layout=layout,
            settings=settings,
            extensions=ext,
            local=local,
            impacts=impact_lines(plan.impacts),
            gpo_actions=[f"{a.action}: {a.text}" for a in plan.gpo_actions],
        )
        .replace("\n", "\r\n")
        .encode("utf-8")
    )
    out["Import-SmbsignGpo.ps1"] = (
        render_text(
            "gpo/Import-SmbsignGpo.ps1.j2",
            **common,
            folder_ps=ps_quote(folder),
            extensions=ps_quote(ext),
            extensions_text=ext,
            display_name=ps_quote(display),
            comment=ps_quote(
                f"Generated by {ctx.generator}: " + ", ".join(c.id for c in plan.changes)
            ),
        )
        .replace("\n", "\r\n")
        .encode("utf-8-sig")
    )
    return out

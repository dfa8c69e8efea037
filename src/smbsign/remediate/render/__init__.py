"""Renderers: one module and template set per output format, wired in an explicit table.

Each renderer is ``render(plan, ctx) -> {relative path: bytes}``; it never touches the file
system (the CLI writes the files). ``windows`` tells which targets a format serves: Windows
formats for ``windows-client``/``windows-server``/``domain-controller``, ``smbconf`` for Samba.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smbsign.remediate.plan import Plan
from smbsign.remediate.render import ansible, dsc, gpo, intune, powershell, regfile, smbconf
from smbsign.remediate.render._common import FrameworkRef, RenderContext, Rendered

__all__ = ["FORMATS", "Format", "FrameworkRef", "RenderContext", "Rendered", "formats_for"]


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    render: Callable[[Plan, RenderContext], Rendered]
    windows: bool
    summary: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "powershell",
            powershell.render,
            True,
            "smbsign-fix.ps1 (snapshot, -WhatIf, verify) + smbsign-rollback.ps1",
        ),
        Format(
            "ansible",
            ansible.render,
            True,
            "collection with one role per control + example playbook",
        ),
        Format(
            "gpo",
            gpo.render,
            True,
            "Group Policy folder (GptTmpl.inf, Registry.pol, gpt.ini) + import script",
        ),
        Format("reg", regfile.render, True, "regedit 5.00 file (UTF-16LE, CRLF)"),
        Format("intune", intune.render, True, "Policy CSP OMA-URI profile JSON for Graph"),
        Format("dsc", dsc.render, True, "SecurityPolicyDsc / GPRegistryPolicyDsc configuration"),
        Format("smbconf", smbconf.render, False, "smb.conf [global] lines for Samba"),
    )
}


def formats_for(windows: bool) -> list[str]:
    """Format names that serve Windows targets (``True``) or Samba (``False``)."""
    return [name for name, f in FORMATS.items() if f.windows is windows]

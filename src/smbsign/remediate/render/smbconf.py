"""smb.conf renderer: the ``[global]`` lines a Samba server needs (docs/reference.md §4.3).

Each line is written by :func:`smbsign.codecs.smbconf.parameter_line`. The output is a
fragment to merge by hand, with the commands that validate and reload it;
``smbsign fix --samba CONF --apply`` performs the same edit in place, safely
(:mod:`smbsign.remediate.apply.samba`).
"""

from __future__ import annotations

from smbsign.codecs.smbconf import parameter_line
from smbsign.remediate.plan import Plan
from smbsign.remediate.render._common import RenderContext, Rendered, impact_lines, render_text

FILE = "smbsign-global.conf"


def render(plan: Plan, ctx: RenderContext) -> Rendered:
    parameters = [
        {"comment": f"{ch.id}: {ch.control.title}", "line": parameter_line(s.parameter, s.value)}
        for ch in plan.changes
        for s in ch.samba
    ]
    text = render_text(
        "smbconf/smbsign-global.conf.j2",
        generator=ctx.generator,
        stage=plan.stage.value if plan.stage else "default",
        impacts=impact_lines(plan.impacts),
        parameters=parameters,
    )
    return {FILE: text.encode("utf-8")}

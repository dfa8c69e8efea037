"""PowerShell renderer: ``smbsign-fix.ps1`` and its matching ``smbsign-rollback.ps1``.

The fix script is idempotent, honours ``-WhatIf`` (``SupportsShouldProcess``), saves every
value it may touch (type and data, or absent) to a JSON snapshot before the first change
(and changes nothing without one),
prefers ``Set-SmbServerConfiguration`` / ``Set-SmbClientConfiguration`` when the machine's
cmdlet has the parameter (docs/reference.md §4.2: no restart, the service is notified), writes typed
registry values otherwise, reads everything back and exits non-zero if a value did not take.
A value the control accepts as a minimum (``at_least``) is never lowered.
The snapshot JSON is the same shape smbsign's own Windows applier writes, so
``smbsign rollback SNAPSHOT --format reg`` can turn it into an undo ``.reg`` file.
"""

from __future__ import annotations

from smbsign.catalog.schema import Control, DesiredRegistry
from smbsign.codecs.text import crlf_utf8
from smbsign.remediate.plan import Change, Plan
from smbsign.remediate.render._common import (
    RenderContext,
    Rendered,
    at_least,
    cmdlet_at_least,
    ps_quote,
    render_text,
    short_key,
    typed_data,
)

FIX_FILE = "smbsign-fix.ps1"
ROLLBACK_FILE = "smbsign-rollback.ps1"


def ps_literal(value: bool | int | str | tuple[str, ...] | None) -> str:
    """A PowerShell literal for a catalog value."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "@(" + ", ".join(ps_quote(v) for v in value) + ")"
    return ps_quote(value)


def comment_safe(text: str) -> str:
    """Text safe inside a ``<# ... #>`` block comment."""
    return " ".join(text.replace("#>", "# >").split())


def _value_row(control: Control, reg: DesiredRegistry) -> dict[str, str]:
    return {
        "key": ps_quote(short_key(reg.key)),
        "name": ps_quote(reg.value),
        "type": ps_quote(reg.type),
        "data": ps_literal(typed_data(reg)),
        "at_least": ps_literal(at_least(control, reg)),
    }


def _change_row(ch: Change) -> dict[str, object]:
    cmdlet = ch.control.desired.cmdlet
    return {
        "control": ps_quote(ch.id),
        "title": ps_quote(ch.control.title),
        "cmdlet": ps_quote(cmdlet.cmdlet) if cmdlet else "$null",
        "getter": ps_quote(cmdlet.cmdlet.replace("Set-", "Get-", 1)) if cmdlet else "$null",
        "parameter": ps_quote(cmdlet.parameter) if cmdlet else "$null",
        "value": ps_literal(cmdlet.value) if cmdlet else "$null",
        "at_least": ps_literal(cmdlet_at_least(ch.control)),
        "rows": [_value_row(ch.control, r) for r in ch.registry],
    }


def render(plan: Plan, ctx: RenderContext) -> Rendered:
    summary = [f"- {ch.id}: {comment_safe(ch.control.title)}" for ch in plan.changes]
    if plan.impacts:
        summary += ["", "Impact:"]
        summary += [f"- {i.control} ({i.topic}): {comment_safe(i.text)}" for i in plan.impacts]
    notes = [ps_quote(f"Note ({i.control}, {i.topic}): {i.text}") for i in plan.impacts]
    values = {
        "generator": comment_safe(ctx.generator),
        "generator_ps": ps_quote(ctx.generator),
        "target": plan.target.value,
        "stage": plan.stage.value if plan.stage else "default",
        "synopsis": comment_safe(
            f"Apply {len(plan.changes)} smbsign control(s) to this {plan.target.value}."
        ),
        "summary": summary,
        "notes": notes,
        "changes": [_change_row(ch) for ch in plan.changes],
    }
    return {
        FIX_FILE: crlf_utf8(render_text("powershell/fix.ps1.j2", **values)),
        ROLLBACK_FILE: crlf_utf8(render_text("powershell/rollback.ps1.j2", **values)),
    }

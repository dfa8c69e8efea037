"""Plain shapes and text of imported checklists and lint findings (``smbsign policy``).

JSON shapes are public interface (docs/policy.md): ``policy_to_dict`` for ``policy show``,
``check_report`` for ``policy check``. Text output is plain (no colour codes).
"""

from __future__ import annotations

import textwrap
from typing import Any

from smbsign.importers.lint import LintFinding
from smbsign.importers.mapping import MappedCheck
from smbsign.importers.model import ImportedPolicy, Target

SCHEMA_VERSION = "1.0"
WIDTH = 100


def target_to_dict(t: Target, control: str | None) -> dict[str, Any]:
    return {
        "key": t.key,
        "value": t.value,
        "setting": t.setting,
        "expect": {"op": t.expect.op, "values": list(t.expect.values), "text": t.expect.text},
        "expect_text": t.expect.describe(),
        "when_absent": t.when_absent.value,
        "absent_split": (
            None
            if t.absent_split is None
            else {"key": t.absent_split[0].value, "value": t.absent_split[1].value}
        ),
        "stated_default": t.stated_default,
        "control": control,
    }


def mapped_to_dict(mc: MappedCheck) -> dict[str, Any]:
    c = mc.check
    return {
        "id": c.check_id,
        "title": c.title,
        "location": c.location,
        "cis_id": c.cis_id,
        "condition": c.condition,
        "result": c.result,
        "targets": [target_to_dict(t, ctl) for t, ctl in mc.targets],
        "controls": list(mc.controls),
        "catalog_lists": {"as": mc.listed_as, "controls": list(mc.listed)},
        "compliance": {k: list(v) for k, v in c.compliance},
        "problems": list(dict.fromkeys(c.problems)),
    }


def policy_head(path: str, p: ImportedPolicy) -> dict[str, Any]:
    return {
        "path": path,
        "kind": p.kind,
        "label": p.label,
        "policy_id": p.policy_id,
        "name": p.name,
        "platform": p.platform,
        "requirements": list(p.requirements),
        "problems": list(p.problems),
    }


def policy_to_dict(path: str, p: ImportedPolicy, mapped: list[MappedCheck]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        **policy_head(path, p),
        "checks": [mapped_to_dict(m) for m in mapped],
    }


def lint_to_dict(f: LintFinding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "check": f.check_id,
        "location": f.location,
        "control": f.control,
        "related": list(f.related),
        "message": f.message,
    }


def check_report(
    path: str, p: ImportedPolicy, mapped: list[MappedCheck], found: list[LintFinding]
) -> dict[str, Any]:
    return {
        **policy_head(path, p),
        "checks": len(p.checks),
        "mapped": sum(1 for m in mapped if m.controls),
        "findings": [lint_to_dict(f) for f in found],
    }


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,
    )


def render_check(reports: list[dict[str, Any]]) -> str:
    """Text of ``policy check``: per file a summary line, then one block per finding."""
    out: list[str] = []
    for r in reports:
        n = len(r["findings"])
        ident = f" {r['policy_id']!r}" if r["policy_id"] else ""
        out.append(
            f"{r['path']}: {r['label']}{ident}, {r['checks']} checks ({r['mapped']} mapped to "
            f"smbsign controls): {n} problem{'s' if n != 1 else ''}"
        )
        for f in r["findings"]:
            where = f"check {f['check']} ({f['location']})" if f["check"] else "file"
            out += _wrap(f"[{f['severity']}] {f['code']}: {where}: {f['message']}", "  ")
    return "\n".join(out)


def render_show(path: str, p: ImportedPolicy, mapped: list[MappedCheck]) -> str:
    """Text of ``policy show``: the checks, what each reads and the control it maps to."""
    ident = f" {p.policy_id!r}" if p.policy_id else ""
    out = [f"{path}: {p.label}{ident} {p.name}".rstrip()]
    out += [f"  requirement: {r}" for r in p.requirements]
    out += [f"  problem: {x}" for x in p.problems]
    for mc in mapped:
        c = mc.check
        cis = f" [CIS {c.cis_id}]" if c.cis_id else ""
        result = f" -> {c.result}" if c.result else ""
        out += _wrap(f"{c.check_id}{cis} ({c.location}){result}: {c.title}", "")
        if not mc.targets:
            out.append("    reads no setting smbsign knows how to compare")
        for t, control in mc.targets:
            default = "" if t.stated_default is None else f", assumed default {t.stated_default}"
            out += _wrap(
                f"reads {t.short}: expects {t.expect.describe()}; "
                f"{t.describe_absent()}{default} -> {control or 'no smbsign control'}",
                "    ",
            )
        if mc.listed and set(mc.listed) != set(mc.controls):
            out += _wrap(f"catalog ({mc.listed_as}) lists it as {', '.join(mc.listed)}", "    ")
        out += [f"    problem: {x}" for x in dict.fromkeys(c.problems)]
    return "\n".join(out)

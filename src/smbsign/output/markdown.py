"""Markdown (tickets, pull requests): :mod:`smbsign.report.markdown`; live records and
findings are rendered as the run they make; a diff as a ticket comment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smbsign.output.base import Format, Kind, lazy_render

if TYPE_CHECKING:
    from smbsign.report.diff import Diff


def render_diff(d: Diff) -> bytes:
    """``smbsign diff -f markdown``: for a ticket or a pull request."""
    from smbsign.report import markdown
    from smbsign.report.diff import CATEGORIES, headline

    out = [f"## smbsign diff `{d.a}` → `{d.b}`", "", markdown.esc(headline(d)), ""]
    for cat in CATEGORIES:
        changes = d.category(cat)
        if changes:
            out += [f"### {cat.capitalize()} ({len(changes)})", ""]
            out += markdown.table(
                ("Scope", "Host", "Port / control", "Before", "After"),
                [(c.scope, c.host, c.item, c.before or "—", c.after or "—") for c in changes],
            )
            out.append("")
    return ("\n".join(out).rstrip() + "\n").encode()


FORMAT = Format(
    name="markdown",
    suffix=".md",
    help="Markdown",
    render=lazy_render("smbsign.report.markdown"),
    documents={Kind.DIFF: render_diff},
)

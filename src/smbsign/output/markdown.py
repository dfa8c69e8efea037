"""Markdown (tickets, pull requests): :mod:`smbsign.report.markdown`; live records and
findings are rendered as the run they make."""

from smbsign.output.base import Format, lazy_render

FORMAT = Format(
    name="markdown", suffix=".md", help="Markdown", render=lazy_render("smbsign.report.markdown")
)

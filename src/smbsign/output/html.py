"""HTML (one self-contained page): :mod:`smbsign.report.html`; live records and findings
are rendered as the run they make."""

from smbsign.output.base import Format, lazy_render

FORMAT = Format(
    name="html",
    suffix=".html",
    help="one self-contained HTML page",
    render=lazy_render("smbsign.report.html"),
)

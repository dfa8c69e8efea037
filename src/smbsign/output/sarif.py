"""SARIF 2.1.0 (code-scanning dashboards): :mod:`smbsign.report.sarif`; live records and
findings are rendered as the run they make."""

from smbsign.output.base import Format, lazy_render

FORMAT = Format(
    name="sarif", suffix=".sarif", help="SARIF 2.1.0", render=lazy_render("smbsign.report.sarif")
)

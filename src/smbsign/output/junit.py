"""JUnit XML (CI test reports): :mod:`smbsign.report.junit`; live records and findings are
rendered as the run they make."""

from smbsign.output.base import Format, lazy_render

FORMAT = Format(
    name="junit", suffix=".xml", help="JUnit XML for CI", render=lazy_render("smbsign.report.junit")
)

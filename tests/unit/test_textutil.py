"""The small shared text helpers: CSV formula guard, JSON Lines lines, ASCII digits."""

import json

import pytest

from smbsign.serialize import json_line
from smbsign.textutil import formula_safe, is_decimal, plural


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_start_is_quoted(text: str) -> None:
    assert formula_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["10.0.0.1", "fe80::1%eth0", "", "a=b", "closed: refused"])
def test_plain_text_is_unchanged(text: str) -> None:
    assert formula_safe(text) == text


def test_json_line_is_one_line_whatever_the_text() -> None:
    obj = {"host": "a\u2028b\x85c\u2029d", "n": 1}
    line = json_line(obj)
    assert line.endswith("\n") and len(line.splitlines()) == 1
    assert json.loads(line) == obj
    assert (
        json_line(obj, separators=(",", ":"))
        == json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        .replace("\u2028", "\\u2028")
        .replace("\x85", "\\u0085")
        .replace("\u2029", "\\u2029")
        + "\n"
    )


def test_is_decimal_rejects_non_ascii_digits() -> None:
    assert (
        is_decimal("445") and not is_decimal("44²") and not is_decimal("") and not is_decimal("-1")
    )


def test_plural() -> None:
    assert [plural(n, "target") for n in (0, 1, 2)] == ["0 targets", "1 target", "2 targets"]
    assert plural(1, "address", "addresses") == "1 address"
    assert plural(3, "address", "addresses") == "3 addresses"
    assert plural(65536, "target") == "65,536 targets"


def test_findings_table_summary_is_singular() -> None:
    """#11 item 14: "1 finding: 1 fail (1 host)", not "1 findings"."""
    from smbsign.model import Finding, Status
    from smbsign.report.findings_out import render_table

    one = Finding("h1", "smb-server-signing-required", Status.FAIL, 0, "1", None, "off")
    text = render_table([one], width=200).decode()
    assert "1 finding: 1 fail (1 host)" in text

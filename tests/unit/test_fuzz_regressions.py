"""Every crash the fuzzing campaign found, kept as a regression test (docs/fuzzing.md).

``tests/fixtures/fuzz-regressions/<target>/<file>`` is an input that once made the target's
parser raise something other than its typed parse error; each must now run clean through the
harness of ``fuzz/targets.py``. The tests below it pin the one-line error each now gives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fuzz.run import run_input  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402

from smbsign.collect import gpttmpl  # noqa: E402
from smbsign.errors import RemediationError, UsageError  # noqa: E402
from smbsign.remediate.snapshot import Snapshot  # noqa: E402
from smbsign.scan import target_files  # noqa: E402
from smbsign.scan.target_spec import parse_spec  # noqa: E402

REGRESSIONS = ROOT / "tests" / "fixtures" / "fuzz-regressions"
CASES = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file())


def read(target: str, name: str) -> bytes:
    return (REGRESSIONS / target / name).read_bytes()


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crash_input_runs_clean(path: Path) -> None:
    run_input(TARGETS[path.parent.name], path.read_bytes())


def test_every_regression_names_a_target() -> None:
    assert CASES
    assert {p.parent.name for p in CASES} <= set(TARGETS)


def _parse_all(parser: target_files.FileParser, data: bytes) -> list[object]:
    return [*parser.feed(data), *parser.close()]


@pytest.mark.parametrize("name", ["unknown-encoding.xml", "multibyte-encoding.xml"])
def test_nmap_xml_with_an_encoding_expat_cannot_read_is_a_usage_error(name: str) -> None:
    """expat raises LookupError for an encoding it does not know and ValueError for a
    multi-byte one (UTF-7): a malformed file, exit 2."""
    with pytest.raises(UsageError, match=r"scan\.xml: .*encoding"):
        _parse_all(target_files.AutoParser("scan.xml"), read("nmap_xml", name))


def test_zmap_csv_header_without_saddr_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"z\.csv:1: .*saddr"):
        _parse_all(target_files.ZmapCsv("z.csv"), read("zmap_list", "header-without-saddr.csv"))


def test_nul_in_an_ipv6_scope_is_a_usage_error() -> None:
    """if_nametoindex raises ValueError for an embedded NUL: a bad target, not a traceback."""
    with pytest.raises(UsageError, match="no network interface"):
        parse_spec("2001:db8::1%et\x00h0")
    with pytest.raises(UsageError, match=r"list\.txt:2: "):
        _parse_all(target_files.PlainList("list.txt"), read("plain_list", "nul-in-scope.txt"))


def test_gpttmpl_dword_with_leading_zeros_is_decimal() -> None:
    """``4,01`` is REG_DWORD 1 ([MS-GPSB] 2.2.5 writes decimal); int('01', 0) raised."""
    result = gpttmpl.collect(read("gpttmpl", "dword-leading-zero.inf"), "GptTmpl.inf", "h")
    assert not result.errors
    got = {v.setting.rsplit("\\", 1)[1]: v.value for v in result.values}
    assert got == {"requiresecuritysignature": 1, "enablesecuritysignature": 0}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("values-not-a-list.json", "'values' is not a list"),
        ("dword-infinity.json", "malformed: cannot convert float infinity"),
        ("qword-too-big.json", "REG_QWORD data out of range"),
    ],
)
def test_malformed_snapshot_values_are_a_one_line_error(name: str, why: str) -> None:
    """TypeError / OverflowError from a manifest's values became RemediationError."""
    manifest = json.loads(read("snapshot_manifest", name))
    with pytest.raises(RemediationError, match=why):
        Snapshot(Path("x"), manifest).priors()

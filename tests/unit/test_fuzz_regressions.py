"""Every crash the fuzzing campaign found, kept as a regression test (docs/fuzzing.md).

``tests/fixtures/fuzz-regressions/<target>/<file>`` is an input that once made the target's
parser raise something other than its typed parse error; each must now run clean through the
harness of ``fuzz/targets.py``. The tests below it pin the one-line error each now gives.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fuzz.run import run_input  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402
from fuzz.targets_ad import directory_over, search  # noqa: E402

from smbsign.ad.ldap import DirectoryError  # noqa: E402
from smbsign.ad.resolve import Applies  # noqa: E402
from smbsign.ad.security import Token, parse_security_descriptor, security_status  # noqa: E402
from smbsign.collect import gpttmpl  # noqa: E402
from smbsign.errors import ParseError, RemediationError, UsageError  # noqa: E402
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


# ----------------------------------------------------------------- the domain view (ad_*)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("diagnostic-not-utf8.bin", r"search of DC=lab,DC=test failed: insufficientAccessRights"),
        ("referral-not-utf8.bin", r"answered with a referral \(ldap://\ufffd/DC=other\)"),
        ("paged-cookie-truncated.bin", r"bad answer to DC=lab,DC=test: "),
    ],
)
def test_bad_strings_and_controls_of_a_dc_answer_are_one_line_directory_errors(
    name: str, error: str
) -> None:
    """pyasn1 decodes lazily: ``str()`` of a non-UTF-8 diagnostic or referral, or the paging
    control's value, raised pyasn1's errors out of ``LdapDirectory.search`` (a traceback)."""
    d = directory_over(read("ad_search", name))
    with pytest.raises(DirectoryError, match=error) as exc:
        list(search(d))
    assert str(exc.value).startswith("DC fuzz: ") and "\n" not in str(exc.value)


def test_a_reference_that_is_not_utf8_is_kept_with_replacement_characters() -> None:
    d = directory_over(read("ad_search", "reference-not-utf8.bin"))
    assert list(search(d)) == []
    assert d.referrals == ["ldap://\ufffd\ufffd/DC=y"]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("ace-size-zero-count-65535.bin", r"ACE 0 of the DACL has a size \(0\)"),
        ("acl-size-beyond-descriptor.bin", r"the DACL size 47769 does not fit"),
        ("sid-revision-5.bin", r"an ACE's SID is malformed"),
    ],
)
def test_malformed_dacl_is_a_parse_error(name: str, error: str) -> None:
    """impacket trusted AceCount (an ACE of size 0 was parsed 65,535 times: over a minute per
    descriptor) and printed a SID of any revision (``S-5-21``)."""
    parse = parse_security_descriptor.__wrapped__  # uncached
    with pytest.raises(ParseError, match=error):
        parse(read("ad_security", name))


def _sd(*aces: bytes, count: int | None = None) -> bytes:
    data = b"".join(aces)
    n = len(aces) if count is None else count
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(data), n, 0) + data
    return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl


def _ace(kind: int, mask: int, sid: bytes) -> bytes:
    body = struct.pack("<I", mask) + sid
    return struct.pack("<BBH", kind, 2, 4 + len(body)) + body


def test_a_zero_size_ace_is_not_read_again_and_again() -> None:
    """AceCount 3 over one ACE of size 0 made impacket return the same ACE three times."""
    au = bytes([1, 1]) + (5).to_bytes(6, "big") + struct.pack("<I", 11)
    zero = bytearray(_ace(0, 0x20094, au))
    zero[2:4] = b"\0\0"
    with pytest.raises(ParseError, match="does not fit"):
        parse_security_descriptor.__wrapped__(_sd(bytes(zero), count=3))


def test_a_sid_authority_above_one_byte_is_not_read_as_nt_authority() -> None:
    """impacket read only the last byte of the 6-byte identifier authority: a SID with
    authority 0x010000000005 read as S-1-5-11 (Authenticated Users), and the GPO 'applied'."""
    odd = bytes([1, 1]) + bytes([1, 0, 0, 0, 0, 5]) + struct.pack("<I", 11)
    data = _sd(_ace(0, 0x100 | 0x10, odd))
    dacl = parse_security_descriptor.__wrapped__(data)
    assert dacl.aces is not None and dacl.aces[0].sid == "S-1-1099511627781-11"
    token = Token(frozenset({"S-1-5-11", "S-1-1-0"}), "S-1-5-21-1-2-3", "pc")
    assert security_status(data, token).applies is not Applies.YES

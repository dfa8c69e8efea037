"""Offline registry hives (SYSTEM, SOFTWARE): values, ControlSet resolution, facts, damage.

No Windows host runs here. The committed fixtures in ``fixtures/collect/hive`` are written by
hivex (``make_hives.py``); other hives come from ``regf_builder``, whose output is read back
by hivex (``hivexsh``) and by regipy's own ``RegistryHive`` API, so neither the fixtures nor
the builder are validated only by the code under test.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from datetime import timedelta

import pytest
from collect_helpers import FIX, SRV_EN, SRV_REQ, WKS_REQ, by_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regf_builder import (
    REG_BINARY,
    REG_DWORD,
    REG_MULTI_SZ,
    REG_SZ,
    Key,
    build,
    build_hive,
    dword,
    find_nk,
    multi_sz,
    patch_u32,
    system_tree,
    sz,
)

from smbsign.audit import registry_wanted
from smbsign.catalog import load_catalog
from smbsign.codecs.reg import parse_data
from smbsign.collect import collect_file, collect_paths, hive, sniff_kind
from smbsign.collect.base import CollectResult
from smbsign.collect.hivefile import MAX_WORK, Hive
from smbsign.model import CollectError, Layer, Role, SettingValue

HIVES = FIX / "hive"
SRV = r"Services\LanmanServer\Parameters"
WKS = r"Services\LanmanWorkstation\Parameters"
POL_SRV = (
    "hklm\\software\\policies\\microsoft\\windows\\lanmanserver\\auditclientdoesnotsupportsigning"
)
PRODUCT_TYPE = "hklm\\system\\currentcontrolset\\control\\productoptions\\producttype"
HIVEXSH = shutil.which("hivexsh")
needs_hivex = pytest.mark.skipif(HIVEXSH is None, reason="hivexsh (Debian libhivex-bin) missing")


#: What an audit asks a hive for: every registry value the catalog checks or sets (the
#: collector itself never loads the catalog).
WANTED = registry_wanted(load_catalog().controls.values(), desired=True)


def hive_collect(data: bytes, path: str, host: str, **kw: object) -> CollectResult:
    kw.setdefault("wanted", WANTED)
    return hive.collect(data, path, host, **kw)  # type: ignore[arg-type]


def read(name: str, **kw: object) -> CollectResult:
    path = HIVES / name
    return hive_collect(path.read_bytes(), str(path), "h1", **kw)  # type: ignore[arg-type]


def server(*values: tuple[str, int, bytes], current: int = 1) -> bytes:
    return build_hive(system_tree(current, {current: {SRV: list(values)}}))


def messages(result: CollectResult) -> str:
    return " | ".join(e.message for e in result.errors)


# ------------------------------------------------------------------- fixtures (hivex-written)


def test_required_hive_values_locations_and_role():
    result = read("SYSTEM.server-required.pass.hive")
    got = by_id(result)
    assert result.errors == ()
    assert got[SRV_REQ].value == 1 and got[SRV_REQ].value_type == "REG_DWORD"
    assert got[SRV_EN].value == 1 and got[WKS_REQ].value == 1
    assert got[SRV_REQ].provenance.location == (
        "HKLM\\SYSTEM\\ControlSet001\\Services\\LanmanServer\\Parameters\\RequireSecuritySignature"
    )
    assert {v.provenance.layer for v in result.values} == {Layer.LOCAL}
    assert {v.provenance.kind for v in result.values} == {"hive"}
    assert got["hklm\\system\\currentcontrolset\\services\\mrxsmb10\\start"].value == 4
    assert result.facts is not None and result.facts.role is Role.MEMBER_SERVER
    assert result.facts.build is None  # build and edition live in SOFTWARE


def test_current_2_reads_controlset002_not_the_stale_001():
    result = read("SYSTEM.dc-not-required.fail.hive")
    got = by_id(result)
    assert got[SRV_REQ].value == 0
    assert "\\ControlSet002\\" in got[SRV_REQ].provenance.location
    assert all("ControlSet001" not in v.provenance.location for v in result.values)
    assert result.facts is not None and result.facts.role is Role.DOMAIN_CONTROLLER


def test_wrong_type_stays_a_string():
    got = by_id(read("SYSTEM.wrong-type.fail.hive"))
    assert got[SRV_REQ].value == "1" and got[SRV_REQ].value_type == "REG_SZ"


def test_software_hive_facts_and_policy_layer():
    result = read("SOFTWARE.24h2-enterprise.hive")
    got = by_id(result)
    assert result.errors == ()
    facts = result.facts
    assert facts is not None and (facts.build, facts.edition) == (26100, "Enterprise")
    assert facts.product_name == "Windows 10 Enterprise" and facts.role is None
    assert got[POL_SRV].value == 1 and got[POL_SRV].provenance.layer is Layer.GPO
    assert got[POL_SRV].provenance.location.startswith("HKLM\\SOFTWARE\\Policies\\Microsoft\\")
    assert not any(v.setting.startswith("hklm\\system\\") for v in result.values)


def test_truncated_copy_is_an_error_not_an_exception():
    result = read("SYSTEM.truncated.error.hive")
    assert "truncated" in messages(result)
    assert SRV_REQ not in by_id(result)


def test_wanted_limits_what_is_read():
    result = read(
        "SYSTEM.server-required.pass.hive",
        wanted=[(f"HKLM\\SYSTEM\\CurrentControlSet\\{SRV}", "requiresecuritysignature")],
    )
    ids = {v.setting for v in result.values}
    assert ids == {SRV_REQ, PRODUCT_TYPE}  # the asked-for value plus the fact values present


@needs_hivex
def test_fixtures_agree_with_hivex():
    """Every value the collector reports is what hivex reads at the reported location."""
    for path in sorted(HIVES.glob("*.hive")):
        if ".error." in path.name:
            continue
        for value in hive_collect(path.read_bytes(), str(path), "h").values:
            key, _, name = (
                value.provenance.location.partition("\\")[2].partition("\\")[2].rpartition("\\")
            )
            assert hivex_values(path.read_bytes(), key)[name.lower()] == value.value, value


# ------------------------------------------------------------------------ builder-made hives


def hivex_values(data: bytes, key: str) -> dict[str, object]:
    """Values of ``key`` as hivexsh prints them (``.reg`` syntax), parsed by name."""
    with tempfile.NamedTemporaryFile(suffix=".hive") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(
            [HIVEXSH, handle.name],
            input=f"cd {key}\nlsval\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    values: dict[str, object] = {}
    for line in out.splitlines():
        m = re.match(r'^"((?:[^"\\]|\\.)*)"=(.*)$', line)
        if m:
            values[m.group(1).lower()] = parse_data(m.group(2))[0]
    return values


def test_controlset_resolution_and_missing_sets():
    tree = system_tree(
        2, {n: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(2 - n))]} for n in (1, 2)}
    )
    got = by_id(hive_collect(build_hive(tree), "SYSTEM", "h"))
    assert got[SRV_REQ].value == 0 and "ControlSet002" in got[SRV_REQ].provenance.location
    tree.key("Select").set("Current", REG_DWORD, dword(3))
    result = hive_collect(build_hive(tree), "SYSTEM", "h")
    assert "names ControlSet003, which the hive does not have" in messages(result)
    assert SRV_REQ not in by_id(result)
    tree.key("Select").set("Current", REG_SZ, sz("2"))
    assert "not a control set number" in messages(hive_collect(build_hive(tree), "S", "h"))
    tree.subkeys = [k for k in tree.subkeys if k.name != "Select"]
    assert "Select\\Current is missing" in messages(hive_collect(build_hive(tree), "S", "h"))


def test_absent_values_are_absent_without_errors():
    result = hive_collect(server(("Other", REG_DWORD, dword(1))), "SYSTEM", "h")
    assert result.errors == () and SRV_REQ not in by_id(result) and PRODUCT_TYPE in by_id(result)
    bare = system_tree(1, {1: {}}, product_type=None)
    result = hive_collect(build_hive(bare), "SYSTEM", "h")
    assert result.errors == () and result.values == () and result.facts is None


def test_names_match_case_insensitively_and_location_keeps_stored_case():
    tree = system_tree(
        1,
        {
            1: {
                r"SERVICES\lanmanserver\PARAMETERS": [
                    ("requiresecuritysignature", REG_DWORD, dword(1))
                ]
            }
        },
    )
    got = by_id(hive_collect(build_hive(tree), "SYSTEM", "h"))
    assert got[SRV_REQ].provenance.location == (
        "HKLM\\SYSTEM\\ControlSet001\\SERVICES\\lanmanserver\\PARAMETERS\\requiresecuritysignature"
    )


def test_data_in_cells_and_types():
    tree = system_tree(
        1,
        {
            1: {
                SRV: [
                    ("RequireSecuritySignature", REG_DWORD, dword(1)),
                    ("EnableSecuritySignature", REG_SZ, sz("1")),
                    ("NullSessionPipes", REG_MULTI_SZ, multi_sz("a", "b")),
                    ("Blob", REG_BINARY, b"\x01\x02\x03\x04\x05"),
                ]
            }
        },
    )
    names = ("RequireSecuritySignature", "EnableSecuritySignature", "NullSessionPipes", "Blob")
    wanted = [(f"HKLM\\SYSTEM\\CurrentControlSet\\{SRV}", n) for n in names]
    for inline in (True, False):
        got = by_id(hive_collect(build_hive(tree, inline=inline), "S", "h", wanted=wanted))
        base = SRV_REQ.rpartition("\\")[0]
        assert got[SRV_REQ].value == 1
        assert got[SRV_EN].value == "1" and got[SRV_EN].value_type == "REG_SZ"
        assert got[base + "\\nullsessionpipes"].value == ("a", "b")
        assert got[base + "\\blob"].value == b"\x01\x02\x03\x04\x05"


def test_bad_dword_size_and_big_data_are_errors_other_values_still_read():
    short = server(
        ("RequireSecuritySignature", REG_DWORD, b"\x01\x00"),
        ("EnableSecuritySignature", REG_DWORD, dword(1)),
    )
    result = hive_collect(short, "S", "h")
    assert "REG_DWORD data is 2 bytes, expected 4" in messages(result)
    assert by_id(result)[SRV_EN].value == 1 and SRV_REQ not in by_id(result)
    big = server(("RequireSecuritySignature", REG_SZ, sz("x" * 9000)))
    assert "big-data value" in messages(hive_collect(big, "S", "h"))


def test_index_root_lists_are_followed():
    tree = system_tree(1, {1: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(1))]}})
    services = tree.key("ControlSet001\\Services")
    for i in range(300):
        services.key(f"Svc{i:04d}")
    data = build_hive(tree, leaf_size=32)
    assert b"ri" in data and by_id(hive_collect(data, "S", "h"))[SRV_REQ].value == 1


def test_damaged_subkey_list_is_an_error_never_absent():
    data = server(("RequireSecuritySignature", REG_DWORD, dword(1)))
    nk = find_nk(data, "Services")
    claims_more = patch_u32(data, nk + 20, 2)  # claims 2 subkeys, its list holds 1
    result = hive_collect(claims_more, "S", "h")
    assert "subkey list holds 1 of the 2 subkeys" in messages(result)
    assert SRV_REQ not in by_id(result)
    unknown_list = patch_u32(data, 4096 + 4 + struct.unpack_from("<I", data, nk + 28)[0], 0x4141)
    assert "unknown subkey list type" in messages(hive_collect(unknown_list, "S", "h"))
    # the list entry of LanmanServer made to point at a value record instead of a key node
    params = find_nk(data, "Parameters")
    vk = struct.unpack_from("<I", data, 4096 + 4 + struct.unpack_from("<I", data, params + 40)[0])[
        0
    ]
    lanman_list = 4096 + 4 + struct.unpack_from("<I", data, nk + 28)[0]
    not_a_key = patch_u32(data, lanman_list + 4, vk)
    result = hive_collect(not_a_key, "S", "h")
    assert "is not a key node" in messages(result) and SRV_REQ not in by_id(result)


def test_unreadable_value_record_blocks_absence_but_not_other_values():
    data = server(("EnableSecuritySignature", REG_DWORD, dword(1)), ("Other", REG_DWORD, dword(2)))
    nk = find_nk(data, "Parameters")
    values_list = 4096 + 4 + struct.unpack_from("<I", data, nk + 40)[0]
    broken = patch_u32(data, values_list + 4, 0x00FFFFF0)  # second vk points past the end
    result = hive_collect(broken, "S", "h")
    assert by_id(result)[SRV_EN].value == 1  # found before any doubt
    assert "cannot tell whether RequireSecuritySignature is set" in messages(result)


def test_header_problems_are_reported_and_values_still_read():
    data = server(("RequireSecuritySignature", REG_DWORD, dword(1)))
    dirty = build_hive(
        system_tree(1, {1: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(1))]}}),
        sequence=(7, 6),
    )
    result = hive_collect(dirty, "S", "h")
    assert "hive is dirty (sequence numbers 7 != 6)" in messages(result)
    assert by_id(result)[SRV_REQ].value == 1
    bad_sum = patch_u32(data, 508, 0x12345678, fix_checksum=False)
    assert "checksum mismatch" in messages(hive_collect(bad_sum, "S", "h"))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ((28, 1), "transaction log"),
        ((20, 2), "unsupported hive format version 2.5"),
        ((24, 1), "unsupported hive format version 1.1"),
        ((36, 0), "root key offset does not point to a key node"),
    ],
)
def test_unusable_headers(patch, message):
    result = hive_collect(patch_u32(server(), *patch), "S", "h")
    assert result.values == () and message in messages(result)


def test_other_hives_are_named_in_the_error():
    ntuser = Key("ROOT")
    ntuser.key("Software\\Microsoft")
    ntuser.key("Control Panel")
    result = hive_collect(build_hive(ntuser, file_name="\\??\\C:\\Users\\a\\ntuser.dat"), "N", "h")
    assert "not a SYSTEM or SOFTWARE hive" in messages(result) and "ntuser.dat" in messages(result)
    software = Key("ROOT")  # no Microsoft/Policies keys: the base block name decides
    assert hive_collect(build_hive(software, file_name="SOFTWARE"), "x", "h").errors == ()


def test_hostile_counts_are_bounded():
    data = server(("RequireSecuritySignature", REG_DWORD, dword(1)))
    nk = find_nk(data, "Parameters")
    assert "claims 4294967295 values" in messages(
        hive_collect(patch_u32(data, nk + 36, 0xFFFFFFFF), "S", "h")
    )
    services = find_nk(data, "Services")
    result = hive_collect(patch_u32(data, services + 20, 0xFFFFFFFF), "S", "h")
    assert "holds 1 of the 4294967295 subkeys it claims" in messages(result)
    lanman_list = 4096 + 4 + struct.unpack_from("<I", data, services + 28)[0]
    huge = struct.unpack("<I", b"lh\xff\xff")[0]  # a leaf claiming 65535 entries
    result = hive_collect(patch_u32(data, lanman_list, huge), "S", "h")
    assert f"stopped after {MAX_WORK} records" in messages(result)


@given(elements=st.integers(1, 0xFFFF), claimed=st.integers(1, 0xFFFF), empty=st.booleans())
@settings(
    max_examples=12, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow]
)
def test_crafted_index_root_is_bounded(elements, claimed, empty):
    """An ``ri`` of up to 65535 entries all pointing at one list (empty or holding the real
    ``LanmanServer`` key) ends in an error within the deadline, never a hang or a verdict."""
    tree = system_tree(1, {1: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(1))]}})
    data, _ = build(tree)
    services = find_nk(data, "Services")
    real_list = struct.unpack_from("<I", data, services + 28)[0]
    leaf = b"lh\x00\x00" if empty else None
    cells = (leaf,) if leaf else ()
    data, extra = build(tree, extra_cells=cells)
    target = extra[0] if empty else real_list
    ri = b"ri" + struct.pack("<H", elements) + struct.pack("<I", target) * elements
    data, extra = build(tree, extra_cells=(*cells, ri))
    data = patch_u32(data, services + 28, extra[-1])
    data = patch_u32(data, services + 20, claimed)
    result = hive_collect(data, "S", "h")
    if elements == claimed == 1 and not empty:
        assert by_id(result)[SRV_REQ].value == 1
    else:
        assert result.errors and SRV_REQ not in by_id(result)


# ------------------------------------------------------ never raises on damaged or random input

SEED = server(("RequireSecuritySignature", REG_DWORD, dword(1)), ("Name", REG_SZ, sz("v" * 40)))


def check(result: CollectResult) -> None:
    assert isinstance(result, CollectResult)
    assert all(isinstance(v, SettingValue) for v in result.values)
    assert all(
        isinstance(e, CollectError) and e.message and "\n" not in e.message for e in result.errors
    )


@given(cut=st.integers(0, len(SEED)))
@settings(max_examples=200, deadline=timedelta(seconds=5))
def test_truncations_never_raise(cut):
    result = hive_collect(SEED[:cut], "S", "h")
    check(result)
    if cut < len(SEED):
        assert result.errors  # a cut copy is always reported


@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(SEED) - 1), st.integers(1, 255)), min_size=1, max_size=12
    )
)
@settings(max_examples=400, deadline=timedelta(seconds=5))
def test_byte_flips_never_raise(flips):
    data = bytearray(SEED)
    for pos, xor in flips:
        data[pos] ^= xor
    check(hive_collect(bytes(data), "S", "h"))


@given(body=st.binary(max_size=9000))
@settings(max_examples=200, deadline=timedelta(seconds=5))
def test_random_bodies_never_raise(body):
    check(hive_collect(b"regf" + body, "S", "h"))
    check(hive_collect(SEED[:4096] + body, "S", "h"))


# ------------------------------------------------------------- independent readers of the builder


@st.composite
def trees(draw: st.DrawFn) -> Key:
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-."
    # hivexsh's "cd" reads "." / ".." as navigation and trims spaces: keep such names out
    name = st.text(alphabet=chars, min_size=1, max_size=12).filter(
        lambda n: n.strip() == n and n.strip(".") != ""
    )
    root = Key("ROOT")
    for _ in range(draw(st.integers(1, 6))):
        path = "\\".join(draw(st.lists(name, min_size=1, max_size=3)))
        key = root.key(path)
        for vname in draw(st.lists(name, max_size=4, unique_by=str.upper)):
            kind = draw(st.sampled_from([REG_DWORD, REG_SZ, REG_MULTI_SZ]))
            if kind == REG_DWORD:
                key.set(vname, kind, dword(draw(st.integers(0, 2**32 - 1))))
            elif kind == REG_SZ:
                key.set(vname, kind, sz(draw(name)))
            else:
                key.set(vname, kind, multi_sz(*draw(st.lists(name, min_size=1, max_size=3))))
    return root


def expected(root: Key, prefix: tuple[str, ...] = ()) -> dict[tuple[tuple[str, ...], str], object]:
    from smbsign.codecs.regdata import decode_data

    out: dict[tuple[tuple[str, ...], str], object] = {}
    for name, code, raw in root.values:
        out[(prefix, name)] = decode_data(code, raw)
    for child in root.subkeys:
        out.update(expected(child, (*prefix, child.name)))
    return out


@needs_hivex
@given(tree=trees(), leaf=st.sampled_from([2, 512]), inline=st.booleans())
@settings(max_examples=25, deadline=None)
def test_builder_output_read_back_by_hivex_regipy_and_hivefile(
    tree, leaf, inline, tmp_path_factory
):
    from regipy.registry import RegistryHive

    data = build_hive(tree, leaf_size=leaf, inline=inline)
    path = tmp_path_factory.mktemp("h") / "x.hive"
    path.write_bytes(data)
    reader = Hive(data)
    assert reader.problems == []
    regipy_hive = RegistryHive(str(path))
    for (keypath, name), value in expected(tree).items():
        key = "\\".join(keypath)
        assert hivex_values(data, key)[name.lower()] == value
        node = regipy_hive.get_key("\\" + key)
        raw = node.get_value(name, case_sensitive=False)
        assert (tuple(raw) if isinstance(raw, list) else raw) == value
        found = reader.key(keypath)
        assert found is not None
        assert reader.value(found[0], name, key)[0] == value


# ---------------------------------------------------------------------- sniffing and walking


def test_sniffing_is_by_magic():
    data = (HIVES / "SYSTEM.server-required.pass.hive").read_bytes()
    assert sniff_kind(data, "anything.txt") is hive
    assert not hive.sniff(b"REGEDIT4\r\n", "SYSTEM") and not hive.sniff(b"PReg\x01\x00", "x")
    for other in ("reg/server-required.pass.reg", "pol/lanman.pass.Registry.pol"):
        assert sniff_kind((FIX / other).read_bytes(), "SYSTEM") is not hive


def test_directory_walk_picks_up_both_hives(tmp_path):
    host = tmp_path / "srv01"
    host.mkdir()
    shutil.copy(HIVES / "SYSTEM.server-required.pass.hive", host / "SYSTEM")
    shutil.copy(HIVES / "SOFTWARE.24h2-enterprise.hive", host / "SOFTWARE")
    out = list(collect_paths([host], None, wanted=WANTED))
    assert [h for h, _ in out] == ["srv01", "srv01"]
    merged = {v.setting: v for _, r in out for v in r.values}
    assert merged[SRV_REQ].value == 1 and merged[POL_SRV].value == 1
    facts = [r.facts for _, r in out if r.facts]
    assert {f.role for f in facts} == {Role.MEMBER_SERVER, None}
    assert {f.build for f in facts} == {26100, None}
    assert all(not r.errors for _, r in out)


def test_hives_may_exceed_the_general_file_limit(tmp_path):
    big = tmp_path / "SYSTEM"
    with big.open("wb") as handle:  # a real hive followed by slack, 17 MiB in all
        handle.write(SEED)
        handle.truncate(17 * 2**20)
    result = collect_file(big, "h", wanted=WANTED)
    assert by_id(result)[SRV_REQ].value == 1 and result.errors == ()
    text = tmp_path / "big.reg"
    with text.open("wb") as handle:
        handle.write(b"REGEDIT4\r\n")
        handle.truncate(17 * 2**20)
    assert "over the" in collect_file(text, "h").errors[0].message


def test_unicode_digits_are_not_numbers():
    """'²'.isdigit() is True but int('²') raises: found by fuzzing hives, also in .reg, GptTmpl
    and PowerShell JSON facts. Such text is no number: no build, a bad type code error."""
    from smbsign.collect import gpttmpl, pwsh_json, regfile

    software = Key("ROOT")
    software.key("Microsoft\\Windows NT\\CurrentVersion").set("CurrentBuild", REG_SZ, sz("²6100"))
    facts = hive_collect(build_hive(software, file_name="SOFTWARE"), "S", "h").facts
    assert facts is None or facts.build is None
    reg = (
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\r\n"
        '"CurrentBuild"="²6100"\r\n'
    ).encode()
    facts = regfile.collect(reg, "x.reg", "h").facts
    assert facts is None or facts.build is None
    pwsh = '{"Server": {"EnableSMB1Protocol": false}, "Facts": {"CurrentBuild": "²6100"}}'
    facts = pwsh_json.collect(pwsh.encode(), "x.json", "h").facts
    assert facts is None or facts.build is None
    inf = "[Unicode]\r\nUnicode=yes\r\n[Registry Values]\r\nMACHINE\\System\\X\\Y=²,1\r\n"
    result = gpttmpl.collect(inf.encode(), "GptTmpl.inf", "h")
    assert "bad type code" in " ".join(e.message for e in result.errors)


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("SYSTEM.server-required.pass.hive", "pass"),
        ("SYSTEM.dc-not-required.fail.hive", "fail"),
        ("SYSTEM.wrong-type.fail.hive", "fail"),
        ("SYSTEM.truncated.error.hive", "unknown"),
    ],
)
def test_audit_verdicts_from_hives(tmp_path, fixture, status):
    """The whole ``smbsign audit`` pipeline on a host directory holding SYSTEM + SOFTWARE."""
    import json
    import sys
    from pathlib import Path

    host = tmp_path / "srv01"
    host.mkdir()
    shutil.copy(HIVES / fixture, host / "SYSTEM")
    shutil.copy(HIVES / "SOFTWARE.24h2-enterprise.hive", host / "SOFTWARE")
    cli = Path(sys.executable).with_name("smbsign")
    args = ["audit", str(host), "--format", "json", "--controls", "smb-server-signing-required"]
    out = subprocess.run(
        [str(cli), *args], capture_output=True, text=True, timeout=120, check=False
    )
    findings = {f["control"]: f for f in json.loads(out.stdout)["findings"]}
    assert findings["smb-server-signing-required"]["status"] == status
    if status == "unknown":
        assert findings["evidence-error"]["source"]["kind"] == "hive"


def test_a_hive_asked_for_nothing_reads_facts_and_says_so():
    """The collector does not load the catalog: the caller names the values; asked for none,
    it reads the host facts only and reports an error, so such an audit never looks clean."""
    result = hive.collect((HIVES / "SYSTEM.server-required.pass.hive").read_bytes(), "S", "h1")
    assert SRV_REQ not in by_id(result)  # not even the signing values the catalog checks
    assert result.facts is not None and result.facts.role is Role.MEMBER_SERVER
    assert "no registry values were asked for" in messages(result)

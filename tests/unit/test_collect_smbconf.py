"""smb.conf collector (reference.md §4.3) checked against the real testparm (Samba 4.17, Debian)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from collect_helpers import FIX, by_id

from smbsign.codecs import smbconf as codec
from smbsign.collect import collect_file, smbconf, testparm
from smbsign.collect.walk import disk_loader
from smbsign.errors import ParseError
from smbsign.model import Layer, OsFamily, Role

CONF = FIX / "smbconf"
TESTPARM = shutil.which("testparm")
needs_testparm = pytest.mark.skipif(TESTPARM is None, reason="testparm (samba) not installed")


def values(name: str) -> dict[str, object]:
    return {k: v.value for k, v in by_id(collect_file(CONF / name, "h")).items()}


def real(conf: Path, param: str) -> str:
    assert TESTPARM is not None
    proc = subprocess.run(
        [TESTPARM, "-s", f"--parameter-name={param}", str(conf)], capture_output=True, check=False
    )
    return proc.stdout.decode().strip()


@pytest.mark.parametrize(
    ("name", "signing"),
    [
        ("mandatory.pass.smb.conf", "required"),
        ("auto.fail.smb.conf", "if_required"),
        ("synonyms.pass.smb.conf", "required"),
        ("continuation.pass.smb.conf", "required"),
        ("override.fail.smb.conf", "off"),
        ("include.pass.smb.conf", "required"),
        ("latin1.pass.smb.conf", "required"),
    ],
)
def test_server_signing(name, signing):
    assert values(name)["samba:server signing"] == signing


def test_provenance_points_at_the_winning_line():
    v = by_id(collect_file(CONF / "include.pass.smb.conf", "h"))["samba:server signing"]
    assert v.provenance.path.endswith("include/signing.conf")
    assert (v.provenance.location, v.provenance.kind, v.provenance.layer) == (
        "line 2",
        "smbconf",
        Layer.LOCAL,
    )
    cont = by_id(collect_file(CONF / "continuation.pass.smb.conf", "h"))
    assert cont["samba:server signing"].provenance.location == "line 3"
    assert cont["samba:vfs objects"].value == "acl_xattr streams_xattr"


def test_synonyms_and_names():
    v = values("synonyms.pass.smb.conf")
    assert v["samba:server min protocol"] == "NT1"
    assert v["samba:server max protocol"] == "SMB3_11"
    assert v["samba:server smb encrypt"] == "desired"
    assert v["samba:client signing"] == "off"


def test_share_sections_do_not_leak_into_global():
    assert values("continuation.pass.smb.conf")["samba:server signing"] == "required"


def test_invalid_value_is_an_error_and_no_value():
    result = collect_file(CONF / "invalid.error.smb.conf", "h")
    assert "samba:server signing" not in by_id(result)
    assert (
        result.errors[0].message == "line 2: invalid value 'bogus' for parameter 'server signing'"
    )


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("addc.pass.smb.conf", Role.DOMAIN_CONTROLLER),
        ("member.fail.smb.conf", Role.MEMBER_SERVER),
        ("auto.fail.smb.conf", Role.STANDALONE),
    ],
)
def test_role_facts(name, role):
    facts = collect_file(CONF / name, "h").facts
    assert facts is not None and facts.os_family is OsFamily.SAMBA and facts.role is role


def test_include_cycle_is_bounded():
    result = collect_file(CONF / "cycle.smb.conf", "h")
    assert by_id(result)["samba:server signing"].value == "required"
    assert "cycle" in result.errors[0].message


def test_include_without_loader_is_reported():
    result = smbconf.collect(b"[global]\ninclude = /etc/x.conf\n", "smb.conf", "h")
    assert "not followed" in result.errors[0].message


def test_include_depth_bound(tmp_path):
    for i in range(smbconf.MAX_DEPTH + 3):
        (tmp_path / f"{i}.conf").write_text(f"[global]\ninclude = {i + 1}.conf\n")
    result = smbconf.collect((tmp_path / "0.conf").read_bytes(), str(tmp_path / "0.conf"), "h",
                             loader=disk_loader)  # fmt: skip
    assert any("too deep" in e.message for e in result.errors)
    assert any("cannot be read" in e.message for e in result.errors) is False


def test_missing_include_and_macro():
    data = b"[global]\ninclude = missing.conf\ninclude = /etc/samba/%m.conf\n"
    result = smbconf.collect(data, str(CONF / "x.conf"), "h", loader=disk_loader)
    assert [e.message.split(":")[0] for e in result.errors] == ["line 2", "line 3"]


# ---------------------------------------------------------------- real testparm oracles


@needs_testparm
@pytest.mark.parametrize(
    "name",
    ["mandatory.pass.smb.conf", "auto.fail.smb.conf", "synonyms.pass.smb.conf",
     "continuation.pass.smb.conf", "override.fail.smb.conf", "include.pass.smb.conf"],
)  # fmt: skip
def test_agrees_with_testparm(name, monkeypatch):
    monkeypatch.chdir(CONF)  # testparm resolves relative includes against its cwd
    ours = values(name)["samba:server signing"]
    theirs = real(CONF / name, "server signing")
    printed = {"off": "No"}.get(str(ours), ours)
    assert theirs == printed


def _dump(conf: Path) -> tuple[int, set[tuple[str, str]]]:
    """(exit code, {(section, 'name = value')}) of ``testparm -s -v``."""
    proc = subprocess.run([TESTPARM, "-s", "-v", str(conf)], capture_output=True, check=False)
    section, lines = "", set()
    for line in proc.stdout.decode().splitlines():
        if line.startswith("["):
            section = line
        elif "=" in line:
            lines.add((section, " ".join(line.split())))
    return proc.returncode, lines


#: ``writeable`` is printed through its inverted synonym ``read only`` (smb.conf(5)).
_PRINTED_AS = {"writeable": "read only"}


@needs_testparm
@pytest.mark.parametrize(
    # testparm sets its own log level, so "debuglevel" cannot be checked through it
    "synonym",
    sorted(set(codec.SYNONYMS) - {"debuglevel"}),
)
def test_every_synonym_is_a_synonym_for_testparm(synonym, tmp_path):
    """Setting the synonym changes the canonical parameter (as testparm prints it) and no other
    named parameter (derived parametric options such as ``idmap config * : range`` aside)."""
    canonical = codec.SYNONYMS[synonym]
    printed = _PRINTED_AS.get(canonical, canonical)
    base = tmp_path / "base.conf"
    base.write_text("[global]\n[s]\npath = /tmp\n")
    _, before = _dump(base)
    changed: set[str] = set()
    for probe in ("zz_probe", "yes", "no", "NT1", "desired", "0700", "7"):
        conf = tmp_path / "smb.conf"
        conf.write_text(f"[global]\n{synonym} = {probe}\n[s]\npath = /tmp\n{synonym} = {probe}\n")
        rc, after = _dump(conf)
        if rc != 0:
            continue
        changed = {line.split(" = ")[0] for _, line in after - before}
        changed = {name for name in changed if ":" not in name}
        if changed:
            break
    assert changed == {printed}
    assert codec.canonical_name(synonym.upper().replace(" ", "  ")) == canonical


@needs_testparm
@pytest.mark.parametrize(
    "param", ["server signing", "client signing", "client ipc signing", "server smb encrypt"]
)
@pytest.mark.parametrize("value", [*codec.ENUMS["server signing"], "bogus", "Mandatory", " Auto "])
def test_enum_table_matches_testparm(param, value, tmp_path):
    conf = tmp_path / "smb.conf"
    conf.write_text(f"[global]\n{param} = {value}\n")
    theirs = real(conf, param)
    try:
        ours = codec.canonical_value(param, value)
    except ParseError:
        assert theirs == ""
        return
    assert theirs == {"off": "No"}.get(ours, ours)


@needs_testparm
def test_effective_view_from_testparm():
    result = testparm.effective_samba(CONF / "addc.pass.smb.conf", "dc1")
    assert result.errors == ()
    got = by_id(result)
    assert got["samba:server signing"].value == "default"  # configured enum, docs/reference.md §4.4
    assert got["samba:server role"].value == "active directory domain controller"
    v = got["samba:server signing"]
    assert (v.provenance.kind, v.provenance.layer) == ("testparm", Layer.EFFECTIVE)
    assert result.facts is not None and result.facts.role is Role.DOMAIN_CONTROLLER
    assert result.facts.samba_version and result.facts.samba_version[0].isdigit()


@needs_testparm
def test_effective_view_of_a_config_with_includes_has_no_error(monkeypatch):
    """testparm applies includes and still lists ``include = X`` in its dump: that line is
    neither an error nor read again (it was, in a first version: every --local audit of a
    config with an include reported an evidence error)."""
    monkeypatch.chdir(CONF)  # testparm resolves relative includes against its cwd
    result = testparm.effective_samba(CONF / "include.pass.smb.conf", "h")
    assert result.errors == ()
    v = by_id(result)["samba:server signing"]
    assert v.value == "required" and v.provenance.kind == "testparm"


@needs_testparm
def test_effective_view_of_invalid_config_is_an_error():
    result = testparm.effective_samba(CONF / "invalid.error.smb.conf", "h")
    assert result.values == ()
    assert result.errors[0].message.startswith("config invalid (testparm exit 1)")


def test_testparm_missing():
    result = testparm.effective_samba(
        CONF / "auto.fail.smb.conf", "h", testparm="/nonexistent/testparm"
    )
    assert result.values == () and "could not run" in result.errors[0].message


@pytest.mark.timeout(20)
def test_include_of_a_fifo_or_device_is_an_error_never_a_blocking_read(tmp_path):
    """``include = /dev/zero`` would read forever and a FIFO never answer: both are errors,
    and the rest of the file still counts."""
    os.mkfifo(tmp_path / "pipe.conf")
    conf = tmp_path / "smb.conf"
    conf.write_text(
        "[global]\ninclude = /dev/zero\ninclude = pipe.conf\nserver signing = mandatory\n"
    )
    result = collect_file(conf, "h")
    messages = sorted(e.message for e in result.errors)
    assert messages == [
        "line 2: include '/dev/zero' cannot be read: not a regular file",
        "line 3: include 'pipe.conf' cannot be read: not a regular file",
    ]
    assert by_id(result)["samba:server signing"].value == "required"


def test_include_bigger_than_the_limit_is_an_error(tmp_path, monkeypatch):
    from smbsign.collect import walk

    monkeypatch.setattr(walk, "MAX_FILE_BYTES", 64)
    (tmp_path / "big.conf").write_text("[global]\n" + "; filler\n" * 20)
    data = b"[global]\ninclude = big.conf\n"
    result = smbconf.collect(data, str(tmp_path / "smb.conf"), "h", loader=walk.disk_loader)
    assert [e.message for e in result.errors] == [
        "line 2: include 'big.conf' cannot be read: file too large"
    ]


# ---------------------------------------------------------------- #11 item 12: offline testparm


@needs_testparm
def test_offline_smbconf_is_cross_checked_with_testparm(tmp_path):
    """testparm's complaints about an offline smb.conf become notes of its result."""
    conf = tmp_path / "smb.conf"
    conf.write_text(
        "[global]\n\tworkgroup = LAB\n\tserver signing = mandatory\n\tbogus parameter = 1\n"
        "\tbell\x07name = 2\n"
    )
    result = collect_file(conf, "h")
    notes = " | ".join(result.notes)
    assert "Unknown parameter" in notes and "bogus parameter" in notes, result.notes
    assert "\x07" not in notes  # control characters from the file never reach a terminal
    assert result.values  # the collector's own reading is unchanged


@needs_testparm
def test_offline_testparm_never_reads_includes_of_an_untrusted_file(tmp_path):
    secret = tmp_path / "secret.conf"
    secret.write_text("[global]\n\thunter2-not-a-parameter = x\n")
    conf = tmp_path / "evidence" / "smb.conf"
    conf.parent.mkdir()
    conf.write_text(f"[global]\n\tconfig file = {secret}\n\tinclude = {secret}\n")
    notes = " | ".join(testparm.offline_notes(conf.read_bytes()))
    assert "hunter2" not in notes, notes
    assert "2 lines" in notes and "include" in notes


def test_offline_testparm_missing_is_said(monkeypatch):
    monkeypatch.setattr(testparm, "find_testparm", lambda: None)
    notes = testparm.offline_notes(b"[global]\n\tworkgroup = LAB\n")
    assert notes and "not installed" in notes[0]


@needs_testparm
def test_offline_testparm_notes_are_bounded(tmp_path):
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\n" + "".join(f"\tunknown{i} = 1\n" for i in range(200)))
    notes = testparm.offline_notes(conf.read_bytes())
    assert len(notes) <= testparm.MAX_LINT_NOTES + 1
    assert "more" in notes[-1]


@needs_testparm
def test_offline_testparm_rejection_is_a_note(tmp_path):
    notes = testparm.offline_notes(b"[global]\n\tserver signing = wibble\n")
    assert any("wibble" in n for n in notes) and any("would not load" in n for n in notes)

"""Recognition by content, directory walking and host naming (docs/collectors.md)."""

from __future__ import annotations

import os
import shutil

import pytest
from collect_helpers import FIX, SRV_REQ, by_id

from smbsign.collect import COLLECTORS, collect_file, collect_paths, sniff_kind
from smbsign.collect.walk import MAX_DEPTH


def test_every_collector_has_the_interface():
    kinds = [m.KIND for m in COLLECTORS]
    assert kinds == [
        "hive",
        "registrypol",
        "regfile",
        "gpttmpl",
        "secedit",
        "winreg",
        "pwsh_json",
        "smbconf",
    ]
    assert all(callable(m.sniff) and callable(m.collect) for m in COLLECTORS)


def test_recognised_by_content_not_name(tmp_path):
    renamed = {
        "a.txt": FIX / "reg" / "server-required.pass.reg",
        "b.txt": FIX / "pol" / "lanman.pass.Registry.pol",
        "c.txt": FIX / "pwsh" / "server-plain.fail.json",
        "d.txt": FIX / "smbconf" / "mandatory.pass.smb.conf",
        "e.txt": FIX / "winreg" / "member-2022.fail.json",
        "f.txt": FIX / "inf" / "secedit-export.fail.ansi.inf",
    }
    got = {}
    for name, src in renamed.items():
        shutil.copy(src, tmp_path / name)
        got[name] = sniff_kind((tmp_path / name).read_bytes(), name).KIND
    assert got == {"a.txt": "regfile", "b.txt": "registrypol", "c.txt": "pwsh_json",
                   "d.txt": "smbconf", "e.txt": "winreg", "f.txt": "secedit"}  # fmt: skip


def test_directory_names_the_host_and_unknown_files_are_errors(tmp_path):
    host_dir = tmp_path / "dc01"
    (host_dir / "sub").mkdir(parents=True)
    shutil.copy(FIX / "reg" / "server-required.pass.reg", host_dir / "export.reg")
    shutil.copy(FIX / "pol" / "lanman.fail.Registry.pol", host_dir / "sub" / "Registry.pol")
    (host_dir / "notes.bin").write_bytes(b"\x00\x01\x02garbage")
    (host_dir / ".hidden").write_text("ignored")
    out = list(collect_paths([host_dir], None))
    assert [h for h, _ in out] == ["dc01"] * 3
    errors = [e for _, r in out for e in r.errors]
    assert [(e.kind, os.path.basename(e.path)) for e in errors] == [("unknown", "notes.bin")]
    assert all(v.host == "dc01" for _, r in out for v in r.values)


def test_single_file_stem_and_explicit_host():
    path = FIX / "smbconf" / "mandatory.pass.smb.conf"
    ((host, _),) = collect_paths([path], None)
    assert host == "mandatory.pass.smb"
    ((host, result),) = collect_paths([path], "nas1")
    assert host == "nas1" and {v.host for v in result.values} == {"nas1"}


def test_json_computer_name_overrides_derived_but_not_explicit_host():
    path = FIX / "pwsh" / "smbsign-shape.pass.json"
    ((host, _),) = collect_paths([path], None)
    assert host == "WS01"
    ((host, result),) = collect_paths([path], "given")
    assert host == "given" and result.facts is not None and result.facts.host == "given"


def test_symlink_loop_and_depth_are_bounded(tmp_path):
    root = tmp_path / "h"
    deep = root
    for i in range(MAX_DEPTH + 4):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    shutil.copy(FIX / "reg" / "server-required.pass.reg", deep / "x.reg")
    shutil.copy(FIX / "reg" / "server-required.pass.reg", root / "top.reg")
    (root / "loop").symlink_to(root, target_is_directory=True)
    out = list(collect_paths([root], None))
    read = [r for _, r in out if r.values]
    assert len(read) == 1  # only top.reg: too-deep file skipped, loop not followed twice
    assert by_id(read[0])[SRV_REQ].value == 1
    notes = [n for _, r in out for n in r.notes]
    assert any("deeper than" in n for n in notes) and any("loop" in n for n in notes), notes


def test_size_limit_and_unreadable(tmp_path):
    big = tmp_path / "big.reg"
    big.write_bytes(b"REGEDIT4\r\n" + b";" * 2000)
    assert "over the 100 limit" in collect_file(big, "h", max_bytes=100).errors[0].message
    missing = collect_file(tmp_path / "nope.reg", "h")
    assert missing.errors[0].kind == "io"


def test_gpo_tree_walk_attributes_both_files():
    out = list(collect_paths([FIX / "gpo"], "dc1"))
    kinds = sorted({v.provenance.kind for _, r in out for v in r.values if v.setting == SRV_REQ})
    assert kinds == ["gpttmpl", "registrypol"]


def test_deletion_markers_cover_the_right_settings():
    from smbsign.regpath import deletion_covers

    reg = by_id(collect_file(FIX / "reg" / "deletions.fail.reg", "h"))
    key_marker = reg["hklm\\system\\currentcontrolset\\services\\lanmanworkstation\\parameters\\*"]
    wks = "hklm\\system\\currentcontrolset\\services\\lanmanworkstation\\parameters\\"
    assert deletion_covers(key_marker, wks + "RequireSecuritySignature")
    assert deletion_covers(key_marker, wks + "sub\\x")
    assert not deletion_covers(key_marker, SRV_REQ)
    pol = by_id(collect_file(FIX / "pol" / "deletions.Registry.pol", "h"))
    vals = pol["hklm\\software\\policies\\microsoft\\windows\\lanmanworkstation\\*"]
    base = "hklm\\software\\policies\\microsoft\\windows\\lanmanworkstation\\"
    assert deletion_covers(vals, base + "requireencryption")
    assert not deletion_covers(vals, base + "sub\\value")
    assert not deletion_covers(reg[SRV_REQ], SRV_REQ)  # a value deletion is not a key marker


@pytest.mark.timeout(20)
def test_fifo_device_and_broken_link_are_errors_never_a_blocking_read(tmp_path):
    """A FIFO given or found would block ``read()`` forever: it is reported, not opened."""
    fifo = tmp_path / "pipe.reg"
    os.mkfifo(fifo)
    assert collect_file(fifo, "h").errors[0].message.startswith("not a regular file")
    (tmp_path / "zero.reg").symlink_to("/dev/zero")  # outside the tree: never opened
    (tmp_path / "gone.reg").symlink_to(tmp_path / "missing")
    out = list(collect_paths([tmp_path], None))
    errors = sorted((e.path.rpartition("/")[2], e.message) for _, r in out for e in r.errors)
    assert [name for name, _ in errors] == ["gone.reg", "pipe.reg"]
    assert errors[0][1].startswith("cannot read")
    assert errors[1][1].startswith("not a regular file")
    assert any("zero.reg" in n and "/dev/zero" in n for _, r in out for n in r.notes)


def test_empty_directory_is_an_error_not_a_clean_audit(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "dots").mkdir()
    (tmp_path / "dots" / ".hidden.reg").write_text("REGEDIT4\r\n")
    out = list(collect_paths([tmp_path / "empty", tmp_path / "dots"], None))
    assert [(h, r.errors[0].message[:16]) for h, r in out] == [
        ("empty", "no evidence file"),
        ("dots", "no evidence file"),
    ]


# ------------------------------------------------------------------ #11 item 4: stay inside


def _notes(out):
    return [n for _, r in out for n in r.notes]


def test_directory_symlink_out_of_the_tree_is_not_followed(tmp_path):
    """``g/dirloop/up -> ..`` must not make the parent's files evidence of ``g/dirloop``."""
    g = tmp_path / "g"
    shutil.copy(FIX / "reg" / "server-required.pass.reg", tmp_path / "outside.reg")
    (g / "dirloop").mkdir(parents=True)
    shutil.copy(FIX / "reg" / "server-required.pass.reg", g / "parent.reg")
    (g / "dirloop" / "up").symlink_to("..", target_is_directory=True)
    (g / "dirloop" / "mine.reg").write_bytes(
        (FIX / "reg" / "server-required.pass.reg").read_bytes()
    )
    out = list(collect_paths([g / "dirloop"], None))
    paths = {v.provenance.path for _, r in out for v in r.values}
    assert paths == {str(g / "dirloop" / "mine.reg")}
    notes = _notes(out)
    assert len(notes) == 1 and "up" in notes[0] and "not followed" in notes[0]


def test_file_symlinks_inside_are_read_once_and_outside_never(tmp_path):
    root = tmp_path / "h"
    root.mkdir()
    shutil.copy(FIX / "reg" / "server-required.pass.reg", tmp_path / "secret.reg")
    shutil.copy(FIX / "reg" / "server-required.pass.reg", root / "a.reg")
    (root / "b.reg").symlink_to(root / "a.reg")  # inside: the same file, read once
    (root / "c.reg").symlink_to(tmp_path / "secret.reg")  # outside the root: skipped
    (root / "d.reg").symlink_to("/etc/passwd")
    out = list(collect_paths([root], None))
    paths = {v.provenance.path for _, r in out for v in r.values}
    assert paths == {str(root / "a.reg")}
    notes = _notes(out)
    assert any("c.reg" in n and "outside" in n for n in notes), notes
    assert any("d.reg" in n and "outside" in n for n in notes), notes
    assert not any(e for _, r in out for e in r.errors)


def test_skipped_notes_are_bounded(tmp_path):
    root = tmp_path / "h"
    root.mkdir()
    shutil.copy(FIX / "reg" / "server-required.pass.reg", root / "a.reg")
    for i in range(300):
        (root / f"l{i:03}").symlink_to(tmp_path, target_is_directory=True)
    notes = _notes(list(collect_paths([root], None)))
    assert len(notes) <= 11
    assert "290 more" in notes[-1]


def test_only_outside_links_is_no_evidence_and_says_why(tmp_path):
    root = tmp_path / "h"
    root.mkdir()
    shutil.copy(FIX / "reg" / "server-required.pass.reg", tmp_path / "x.reg")
    (root / "x.reg").symlink_to(tmp_path / "x.reg")
    out = list(collect_paths([root], None))
    assert not [v for _, r in out for v in r.values]
    errors = [e.message for _, r in out for e in r.errors]
    assert errors and "no evidence file" in errors[0] and "skipped" in errors[0]


def test_smbconf_include_out_of_the_evidence_tree_is_not_read(tmp_path):
    """An include is a path of the audited host: one that leaves the evidence directory
    (absolute, ``..``, or a symlink) is an error, never this machine's file read as evidence."""
    (tmp_path / "outside.conf").write_text("[global]\n\tserver signing = mandatory\n")
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "inside.conf").write_text("[global]\n\tclient signing = required\n")
    (ev / "smb.conf").write_text(
        f"[global]\n\tinclude = {tmp_path / 'outside.conf'}\n\tinclude = ../outside.conf\n"
        "\tinclude = inside.conf\n\tserver signing = disabled\n"
    )
    for arg in (ev, ev / "smb.conf"):
        out = list(collect_paths([arg], None))
        paths = {v.provenance.path for _, r in out for v in r.values}
        assert str(tmp_path / "outside.conf") not in paths
        assert any(p.endswith("inside.conf") for p in paths), paths
        errors = [e.message for _, r in out for e in r.errors]
        assert len(errors) == 2 and all("outside" in m for m in errors), errors

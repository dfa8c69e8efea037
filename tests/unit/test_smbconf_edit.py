"""The smb.conf editor keeps every byte it does not have to change (docs/reference.md §4.3)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.remediate.apply.smbconf_edit import ParamEdit, edit_globals

SIGN = ParamEdit("server signing", "mandatory", frozenset({"required"}))
IPC = ParamEdit("client ipc signing", "required", frozenset({"required"}))


def edit(text: str, *edits: ParamEdit) -> tuple[str, tuple[str, ...]]:
    result = edit_globals(text.encode(), edits or (SIGN,))
    return result.data.decode(), result.changes


def test_edits_only_the_parameter_line_and_keeps_comments_order_includes() -> None:
    src = (
        "# Samba config - keep me\n"
        "[global]\n"
        "   workgroup = EXAMPLE   \n"
        "   ; server signing = disabled   (a comment, not a setting)\n"
        "   Server  Signing=auto\n"
        "   include = /etc/samba/local.conf\n"
        "   unknown option = 1\n"
        "\n"
        "# Shares\n"
        "[homes]\n"
        "   server signing = auto\n"
    )
    out, changes = edit(src)
    want = src.replace("   Server  Signing=auto\n", "   Server  Signing=mandatory\n")
    assert out == want  # the share-section line and the comment are not global settings
    assert changes == ("server signing: auto -> mandatory (line 5)",)


def test_inserts_missing_parameters_at_the_end_of_global_with_its_indentation() -> None:
    src = "[global]\n    workgroup = X\n    log level = 1\n\n; shares\n[data]\n    path = /d\n"
    out, changes = edit(src, SIGN, IPC)
    assert out == (
        "[global]\n    workgroup = X\n    log level = 1\n"
        "    server signing = mandatory\n    client ipc signing = required\n"
        "\n; shares\n[data]\n    path = /d\n"
    )
    assert changes == (
        "server signing: (not set) -> mandatory (added)",
        "client ipc signing: (not set) -> required (added)",
    )


def test_keeps_crlf_line_endings() -> None:
    src = "[global]\r\n\tworkgroup = X\r\n\tserver signing = disabled\r\n[s]\r\n\tpath = /s\r\n"
    out, _ = edit(src, SIGN, IPC)
    assert out == (
        "[global]\r\n\tworkgroup = X\r\n\tserver signing = mandatory\r\n"
        "\tclient ipc signing = required\r\n[s]\r\n\tpath = /s\r\n"
    )


def test_equivalent_values_are_left_alone() -> None:
    for value in ("mandatory", "required", "Forced", "enforced", "force"):
        src = f"[global]\n\tserver signing = {value}\n"
        out, changes = edit(src)
        assert out == src and changes == ()


def test_a_stricter_value_is_not_downgraded() -> None:
    """client min protocol = SMB3 already passes the SMB1 control; SMB2_02 would weaken it."""
    smb2 = ParamEdit("client min protocol", "SMB2_02", frozenset({"SMB2_02", "SMB3", "SMB3_11"}))
    src = "[global]\n\tclient min protocol = SMB3\n"
    assert edit(src, smb2) == (src, ())
    assert edit("[global]\n\tclient min protocol = NT1\n", smb2)[0] == (
        "[global]\n\tclient min protocol = SMB2_02\n"
    )


def test_synonyms_and_spacing_in_names_match() -> None:
    smb1 = ParamEdit("server min protocol", "SMB2_02", frozenset({"SMB2_02"}))
    out, changes = edit("[global]\n\tmin protocol = NT1\n", smb1)
    assert out == "[global]\n\tmin protocol = SMB2_02\n"
    assert changes == ("server min protocol: NT1 -> SMB2_02 (line 2)",)
    assert edit("[global]\n serversigning = auto\n")[0] == "[global]\n serversigning = mandatory\n"


def test_every_global_section_and_implicit_globals_are_edited() -> None:
    src = "server signing = auto\n[GLOBAL]\n server signing = disabled\n[ global ]\n x = 1\n"
    out, changes = edit(src)
    assert out == (
        "server signing = mandatory\n[GLOBAL]\n server signing = mandatory\n[ global ]\n x = 1\n"
    )
    assert len(changes) == 2


def test_continuation_lines_become_one_line() -> None:
    out, _ = edit("[global]\n\tserver signing = \\\n\t\tauto\n\tlog level = 1\n")
    assert out == "[global]\n\tserver signing = mandatory\n\tlog level = 1\n"


def test_no_global_section_gets_one_before_the_first_share() -> None:
    out, _ = edit("# comment\n[data]\n\tpath = /d\n")
    assert out == "# comment\n[global]\n\tserver signing = mandatory\n\n[data]\n\tpath = /d\n"
    assert edit("")[0] == "[global]\n\tserver signing = mandatory\n"
    assert (
        edit("# only a comment")[0] == "# only a comment\n[global]\n\tserver signing = mandatory\n"
    )


def test_non_utf8_bytes_survive() -> None:
    src = b"[global]\n\tserver string = caf\xe9 \xff\n\tserver signing = auto\n"
    out = edit_globals(src, [SIGN]).data
    assert out == src.replace(b"= auto", b"= mandatory")


def test_an_invalid_value_is_replaced() -> None:
    assert (
        edit("[global]\n\tserver signing = bogus\n")[0]
        == "[global]\n\tserver signing = mandatory\n"
    )


lines = st.one_of(
    st.sampled_from(
        [
            "[global]",
            "[data]",
            "[ Global ]",
            "  server signing = auto",
            "server signing=yes",
            "\tclient ipc signing = default",
            "; server signing = off",
            "# comment",
            "",
            "\tinclude = /etc/samba/x.conf",
            "path = /srv",
            "  workgroup = W",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\\"),
        max_size=30,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=25), st.booleans())
def test_editing_is_idempotent_and_only_touches_setting_lines(body: list[str], crlf: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    src = eol.join(body).encode("utf-8", "surrogateescape")
    once = edit_globals(src, [SIGN, IPC])
    twice = edit_globals(once.data, [SIGN, IPC])
    assert twice.data == once.data and twice.changes == ()
    # Every original line that does not set one of the two parameters is still there, in order.
    kept = [
        ln
        for ln in src.split(b"\n")
        if b"signing" not in ln.lower() or ln.strip()[:1] in (b";", b"#", b"[")
    ]
    out_lines = once.data.split(b"\n")
    it = iter(out_lines)
    assert all(any(o == k for o in it) for k in kept)


@pytest.mark.skipif(shutil.which("testparm") is None, reason="testparm not installed")
@pytest.mark.parametrize(
    "src",
    [
        "[global]\n\tserver signing = auto\n",
        "",
        "[data]\n\tpath = /tmp\n",
        "server signing = disabled\n[global]\n\tworkgroup = W\n[x]\n\tpath = /tmp\n",
        "[global]\r\n\tserver signing = desired\r\n",
    ],
)
def test_testparm_reads_the_edited_value(src: str, tmp_path: Path) -> None:
    conf = tmp_path / "smb.conf"
    conf.write_bytes(edit_globals(src.encode(), [SIGN, IPC]).data)
    for name, want in (("server signing", "required"), ("client ipc signing", "required")):
        proc = subprocess.run(
            ["testparm", "-s", "--parameter-name", name, str(conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert proc.stdout.strip() == want, (src, proc.stderr)


def test_a_global_header_with_inner_blanks_is_the_global_section() -> None:
    """Samba matches ``[global]`` with strwicmp (case and blanks ignored), as the reader does:
    the value in ``[Glo bal]`` is edited in place, not overridden by a second ``[global]``."""
    from smbsign.collect import smbconf

    src = "[Glo bal]\n\tserver signing = auto\n[s]\n\tpath = /x\n"
    out, _ = edit(src)
    assert out == src.replace("= auto", "= mandatory")
    values = {v.setting: v.value for v in smbconf.collect(out.encode(), "smb.conf", "h").values}
    assert values["samba:server signing"] == "required"

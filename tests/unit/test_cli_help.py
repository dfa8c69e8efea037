"""Help conventions of every command (#8 item 7): flags show no ``<bool>`` value type, and
every command's help lists its exit codes from the one table (``cli._common.EXIT_CODES``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from smbsign.cli import app
from smbsign.cli.lazy import COMMANDS, load_module_group


def _paths() -> Iterator[tuple[str, ...]]:
    yield ()
    yield ("version",)
    seen: set[str] = set()
    for row in COMMANDS:
        if row.name in seen:
            continue
        seen.add(row.name)
        cmd: Any = load_module_group(row.module).commands[row.name]
        yield (row.name,)
        for sub in getattr(cmd, "commands", {}):
            yield (row.name, sub)


PATHS = list(_paths())


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "root" for p in PATHS])
def test_no_flag_shows_a_bool_metavar(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert "--help" in text
    assert "<bool>" not in text


def test_an_option_with_a_value_still_shows_its_type() -> None:
    text = _help(("controls", "show"))
    assert "<text|json>" in text, text


def _is_leaf(path: tuple[str, ...]) -> bool:
    return path != () and not any(p[: len(path)] == path and len(p) > len(path) for p in PATHS)


LEAVES = [p for p in PATHS if _is_leaf(p)]


@pytest.mark.parametrize("path", [(), *LEAVES], ids=["root", *(" ".join(p) for p in LEAVES)])
def test_help_lists_exit_codes_from_the_one_table(path: tuple[str, ...]) -> None:
    from smbsign.cli._common import EXIT_CODES

    text = " ".join(_help(path).replace("│", " ").split())
    found = re.search(r"Exit codes: (.*?)\.(?:\s|$)", text)
    assert found, f"no 'Exit codes:' in the help of {' '.join(path) or 'smbsign'}"
    codes = {int(c) for c in re.findall(r"(?:^|[;,] ?)(\d+) ", found.group(1))}
    assert codes, found.group(0)
    assert codes <= set(EXIT_CODES), codes - set(EXIT_CODES)
    if path == ():
        assert codes == set(EXIT_CODES)


def test_exit_epilog_refuses_a_code_outside_the_table() -> None:
    from smbsign.cli._common import exit_epilog

    assert exit_epilog(0, (2, "bad")).startswith("Exit codes: 0 ")
    with pytest.raises(ValueError, match="42"):
        exit_epilog((42, "answer"))


def _command(path: tuple[str, ...]) -> Any:
    import typer

    root: Any = typer.main.get_command(app)
    if not path:
        return root
    if path[0] == "version":
        return root.commands["version"]
    module = next(row.module for row in COMMANDS if row.name == path[0])
    cmd: Any = load_module_group(module).commands[path[0]]
    for name in path[1:]:
        cmd = cmd.commands[name]
    return cmd


# Short options that mean the same on every command that has the long one (docs/cli.md).
SHORTS = {
    "-f": "--format",
    "-o": "--output",
    "-q": "--quiet",
    "-V": "--version",
    "-iL": "--input-list",
    "-y": "--yes",
    "-n": "--dry-run",
}


def test_short_options_are_the_same_on_every_command() -> None:
    """A short option names one long option everywhere, and a long option that has a short
    one has it on every command that offers it."""
    seen: dict[str, set[tuple[str, ...]]] = {}
    for path in PATHS:
        for param in _command(path).params:
            if param.param_type_name != "option":
                continue
            names = [*param.opts, *param.secondary_opts]
            longs = [n for n in names if n.startswith("--")]
            shorts = tuple(sorted(n for n in names if not n.startswith("--")))
            for short in shorts:
                assert SHORTS.get(short) in longs, (path, short, longs)
            for long in longs:
                seen.setdefault(long, set()).add(shorts)
                if long in SHORTS.values():
                    want = next(s for s, lo in SHORTS.items() if lo == long)
                    assert want in shorts, (path, long, shorts)
    assert {long: s for long, s in seen.items() if len(s) > 1} == {}

"""The root CLI imports a subcommand only when it is used (#8 item 6).

Start-up speed itself is measured by ``bench/startup_bench.py``, never timed here; these
tests check the structure that makes it fast, and that the lazy table does not drift from
the commands it stands for.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from smbsign.cli import app
from smbsign.cli.lazy import COMMANDS, load_module_group

HEAVY = ("pydantic", "sqlalchemy", "jinja2", "asyncio", "yaml", "smbsign.catalog", "smbsign.scan")


def _modules_after(code: str, *argv: str) -> set[str]:
    probe = (
        "import sys, json\n"
        f"sys.argv = ['smbsign', *{list(argv)!r}]\n"
        "try:\n"
        f"    {code}\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.__stderr__.write(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [(), ("--help",), ("--version",), ("-V",)])
def test_root_help_and_version_import_no_subcommand(argv: tuple[str, ...]) -> None:
    loaded = _modules_after("from smbsign.cli import main; main()", *argv)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    commands = sorted(m for m in loaded if m.startswith("smbsign.cli.") and m.endswith("_cmd"))
    assert heavy == [], heavy
    assert commands == [], commands


def test_a_subcommand_imports_only_its_module() -> None:
    loaded = _modules_after("from smbsign.cli import main; main()", "controls", "--help")
    commands = sorted(m for m in loaded if m.startswith("smbsign.cli.") and m.endswith("_cmd"))
    assert commands == ["smbsign.cli.controls_cmd"]


@pytest.mark.parametrize("row", COMMANDS, ids=[row.name for row in COMMANDS])
def test_table_summary_is_the_commands_own_first_help_line(row: object) -> None:
    from smbsign.cli.lazy import LazyCommand

    assert isinstance(row, LazyCommand)
    group = load_module_group(row.module)
    cmd = group.commands.get(row.name)
    assert cmd is not None, f"{row.module} does not register {row.name!r}"
    first = " ".join((cmd.help or "").strip().split("\n\n")[0].split())
    assert first == row.summary


def test_every_registered_command_is_in_the_table() -> None:
    """A module that registers a command the table does not list would hide it."""
    names = {row.name for row in COMMANDS}
    for module in sorted({row.module for row in COMMANDS}):
        group = load_module_group(module)
        assert set(group.commands) <= names, (module, set(group.commands) - names)


def test_version_option_prints_the_version() -> None:
    from smbsign import __version__

    root = typer.main.get_command(app)
    with pytest.raises(SystemExit) as exc:
        root.main(["--version"], standalone_mode=True)
    assert exc.value.code == 0
    out = subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "-V"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == __version__


def test_controls_listing_loads_no_output_stack() -> None:
    """``smbsign controls`` prints its own table: the output registry (every format module,
    rich, the run model) is not imported for it, only for commands that write through it."""
    loaded = _modules_after("from smbsign.cli import main; main()", "controls")
    stack = sorted(
        m
        for m in loaded
        if m.startswith(("smbsign.output", "smbsign.run", "smbsign.scan", "rich", "sqlalchemy"))
    )
    assert stack == [], stack


@pytest.mark.parametrize(
    "argv",
    [("controls",), ("controls", "-f", "json"), ("controls", "--framework", "bsi", "-q")],
    ids=["table", "json", "framework"],
)
def test_controls_listing_imports_no_pydantic(argv: tuple[str, ...]) -> None:
    """The listing of the packaged catalog comes from its index (catalog/listing.py) and the
    options' values need no pydantic coercion (cli/_coerce.py): neither pydantic, the catalog
    schemas nor YAML are imported for it (#8 item 6)."""
    loaded = _modules_after("from smbsign.cli import main; main()", *argv)
    heavy = sorted(
        m
        for m in loaded
        if m.split(".")[0] in ("pydantic", "pydantic_core", "yaml")
        or m in ("typer._adapters", "smbsign.catalog.schema", "smbsign.catalog.loader")
    )
    assert heavy == [], heavy

"""The root command group: subcommands are imported when they are used, not for ``--help``.

Each command module pulls in what its job needs (pydantic schemas, the catalog, asyncio,
SQLAlchemy, jinja2): importing all of them made ``smbsign --help`` take about a second. The
root group therefore knows its subcommands from an explicit table (name, module, one-line
summary) and imports a module only when one of its commands is resolved for running, for
its own ``--help`` or for shell completion. The root help lists the table's summaries;
``tests/unit/test_cli_lazy.py`` checks that they equal each command's own first help line.

No discovery: a new command is one row in :data:`COMMANDS` (docs/architecture.md).

Typer 0.29 builds on its own vendored copy of click (``typer._click``), which is private; the
overrides below therefore type the click context and formatter as ``Any`` instead of naming
that private module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

import typer
from typer.core import TyperCommand, TyperGroup

from smbsign.cli._help import HouseGroup, adopt


class CommandModule(Protocol):
    """What a command module offers: ``register(app)`` adds its commands to a Typer app."""

    def register(self, app: typer.Typer) -> None: ...


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """One row of the wiring table: a command name, the module that registers it, and the
    one-line summary the root help shows without importing that module."""

    name: str
    module: str
    summary: str


COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "demo",
        "smbsign.cli.demo_cmd",
        "Start a built-in lab of real Samba servers, scan it, show the results, tear it down.",
    ),
    LazyCommand(
        "scan",
        "smbsign.cli.scan_cmd",
        "Check SMB signing on hosts over the network, without credentials.",
    ),
    LazyCommand(
        "audit",
        "smbsign.cli.audit_cmd",
        "Audit SMB signing settings from evidence files, this machine or remote registries.",
    ),
    LazyCommand(
        "ad",
        "smbsign.cli.ad_cmd",
        "Resolve which GPO decides SMB signing for each computer of an AD domain.",
    ),
    LazyCommand(
        "fix",
        "smbsign.cli.fix_cmd",
        "Plan, render and safely apply SMB signing remediation.",
    ),
    LazyCommand(
        "rollback",
        "smbsign.cli.rollback_cmd",
        "Restore a snapshot taken by `smbsign fix` (a safety snapshot is taken first).",
    ),
    LazyCommand(
        "snapshots",
        "smbsign.cli.snapshots_cmd",
        "List and prune the snapshots that `smbsign fix` and `smbsign rollback` take.",
    ),
    LazyCommand(
        "history",
        "smbsign.cli.report_cmd",
        "List recorded scan and audit runs, newest first.",
    ),
    LazyCommand(
        "diff",
        "smbsign.cli.report_cmd",
        "Show hosts and controls that regressed, were fixed, appeared or vanished (exit 1: worse).",
    ),
    LazyCommand(
        "report",
        "smbsign.cli.report_cmd",
        "Render a stored run in any format (html is one self-contained file).",
    ),
    LazyCommand(
        "import",
        "smbsign.cli.import_cmd",
        "Load fleet scan parts and audit outputs (JSONL) into the history store.",
    ),
    LazyCommand(
        "controls",
        "smbsign.cli.controls_cmd",
        "List the control catalog, or explain one control (`controls show ID`).",
    ),
    LazyCommand(
        "policy",
        "smbsign.cli.policy_cmd",
        "Import third-party checklists (Wazuh SCA, HardeningKitty, Tenable, EDCA) and lint them.",
    ),
)

_BY_NAME = {row.name: row for row in COMMANDS}
_LISTING = "smbsign.listing"  # ctx.meta flag: the root help is being formatted


def load_module_group(module: str) -> TyperGroup:
    """Import ``module`` and return the click group of the commands it registers."""
    mod: CommandModule = importlib.import_module(module)
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    mod.register(holder)
    group = typer.main.get_group(holder)
    assert isinstance(group, TyperGroup)
    adopt(group)  # help conventions (cli/_help.py) for every command it registers
    return group


class LazyGroup(HouseGroup):
    """A Typer root group whose table commands are imported on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, TyperGroup] = {}
        for command in self.commands.values():  # the eager ones (``version``)
            adopt(command)

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return eager + [row.name for row in COMMANDS if row.name not in eager]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        eager = super().get_command(ctx, cmd_name)
        if eager is not None:
            return eager
        row = _BY_NAME.get(cmd_name)
        if row is None:
            return None
        if ctx.meta.get(_LISTING):
            return TyperCommand(row.name, help=row.summary, short_help=row.summary)
        group = self._loaded.get(row.module)
        if group is None:
            group = self._loaded[row.module] = load_module_group(row.module)
        return group.get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx.meta.pop(_LISTING, None)

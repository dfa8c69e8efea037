"""`smbsign policy`: import and lint third-party checklists (docs/policy.md).

``smbsign policy check FILE... [--format table|json]`` imports each checklist (Wazuh SCA policy
or dashboard export, HardeningKitty finding list, Tenable audit, EDCA control), maps its checks
to smbsign controls by the registry value they read and lints them. Exit codes: 0 no lint
finding, 1 at least one lint finding, 2 usage (no such file, not a checklist, unreadable).
``smbsign policy show FILE [--format table|json]`` lists the imported checks.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from smbsign.catalog import Catalog, load_catalog
from smbsign.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_RUNTIME,
    EXIT_USAGE,
    exit_epilog,
    fail,
    write_atomic,
)
from smbsign.cli._output import QuietOption
from smbsign.collect.walk import MAX_FILE_BYTES
from smbsign.errors import CatalogError
from smbsign.importers import ImportedPolicy, ImportFailure, load
from smbsign.importers.describe import (
    SCHEMA_VERSION,
    check_report,
    policy_to_dict,
    render_check,
    render_show,
)
from smbsign.importers.lint import lint
from smbsign.importers.mapping import map_policy


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
]
CHECK_EPILOG = exit_epilog(
    (EXIT_OK, "no lint finding"),
    (EXIT_FINDINGS, "some lint finding"),
    (EXIT_USAGE, "usage error, or a file that cannot be read or imported"),
    (EXIT_RUNTIME, "the control catalog is broken"),
)
SHOW_EPILOG = exit_epilog(
    (EXIT_OK, "shown"), (EXIT_USAGE, "usage error, or a file that cannot be read or imported")
)

app = typer.Typer(
    help="Import third-party checklists (Wazuh SCA, HardeningKitty, Tenable, EDCA) and lint them.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
)


def _error(message: str) -> None:
    sys.stderr.write(f"smbsign: error: {' '.join(message.split())}\n")


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        fail(f"the control catalog is invalid: {exc}", EXIT_RUNTIME)


def read_checklist(path: Path) -> ImportedPolicy | str:
    """Import ``path``; a one-line error message instead when it cannot be."""
    try:
        if path.is_dir():
            return f"{path}: is a directory (give checklist files)"
        if path.exists() and not path.is_file():  # a FIFO would block the read forever
            return f"{path}: not a regular file (FIFO, device or socket)"
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if len(data) > MAX_FILE_BYTES:
        return f"{path}: larger than {MAX_FILE_BYTES} bytes"
    loaded = load(data, path.name)
    if isinstance(loaded, ImportFailure):
        return f"{path}: {loaded.message.removeprefix(f'{path.name}: ')}"
    return loaded


def _emit(text: str, output: Path | None = None) -> None:
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_atomic(output, text.encode())
    except OSError as exc:
        fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE)


@app.command("check", epilog=CHECK_EPILOG)
def check(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Checklist files.")],
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    quiet: QuietOption = False,
) -> None:
    """Lint checklists against the catalog: wrong hives, inverted values, duplicates, ..."""
    _ = quiet  # nothing but the report (and one line per unreadable file) is written
    catalog = _catalog()
    reports: list[dict[str, Any]] = []
    errors = 0
    for path in files:
        loaded = read_checklist(path)
        if isinstance(loaded, str):
            _error(loaded)
            errors += 1
            continue
        mapped = map_policy(loaded, catalog)
        reports.append(check_report(str(path), loaded, mapped, lint(loaded, catalog)))
    if reports:
        if fmt is Format.JSON:
            doc = {"schema_version": SCHEMA_VERSION, "files": reports}
            _emit(json.dumps(doc, indent=2), output)
        else:
            _emit(render_check(reports), output)
    if errors:
        raise SystemExit(EXIT_USAGE)
    raise SystemExit(EXIT_FINDINGS if any(r["findings"] for r in reports) else EXIT_OK)


@app.command("show", epilog=SHOW_EPILOG)
def show(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="One checklist file.")],
    fmt: FormatOpt = Format.TABLE,
    output: OutputOpt = None,
    quiet: QuietOption = False,
) -> None:
    """List the imported checks: what each reads, expects, does when absent, and its control."""
    _ = quiet  # nothing but the list is written
    catalog = _catalog()
    loaded = read_checklist(file)
    if isinstance(loaded, str):
        fail(loaded, EXIT_USAGE)
    mapped = map_policy(loaded, catalog)
    if fmt is Format.JSON:
        _emit(json.dumps(policy_to_dict(str(file), loaded, mapped), indent=2), output)
    else:
        _emit(render_show(str(file), loaded, mapped), output)


def register(app_: typer.Typer) -> None:
    """Add ``smbsign policy`` to ``app_``."""
    app_.add_typer(app, name="policy")

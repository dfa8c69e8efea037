"""The ``smbsign`` command: thin wiring of the parts; the only place that prints or exits.

Exit codes (public interface, docs/cli.md): 0 everything checked is compliant, 1 at least
one host or control is not, 2 usage error (bad arguments, unreadable input), 3 the run
itself failed (for example the demo lab could not be built).
"""

from __future__ import annotations

import os
import sys

import typer

from smbsign import __version__
from smbsign.cli._common import EXIT_CODES, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, exit_epilog, fail
from smbsign.cli.lazy import LazyGroup
from smbsign.errors import SmbsignError, UsageError

# The subcommands are wired in ``smbsign.cli.lazy.COMMANDS`` (explicit table) and imported
# when used, so that ``--help``, ``--version`` and completion start at once (docs/cli.md).
app = typer.Typer(
    name="smbsign",
    help="Find and fix missing SMB signing across Windows and Samba fleets.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
    epilog=exit_epilog(*EXIT_CODES) + " Each command's --help says what they mean for it.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit


@app.callback()
def _root(
    _version: bool = typer.Option(
        False,
        "--version",
        "-V",
        is_eager=True,
        callback=_print_version,
        help="Print the smbsign version and exit.",
    ),
) -> None:
    """Find and fix missing SMB signing across Windows and Samba fleets."""


@app.command("version", epilog=exit_epilog((EXIT_OK, "printed")))
def version() -> None:
    """Print the smbsign version."""
    typer.echo(__version__)


def main() -> None:
    """Console entry point: one-line errors, never a traceback."""
    # smbsign uses no pydantic plugin; looking them up scans every installed package's entry
    # points (about 25 ms of each start that loads the catalog). PYDANTIC_DISABLE_PLUGINS is
    # pydantic's own switch; a value the user set is kept (docs/cli.md).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app()
    except UsageError as exc:
        fail(str(exc), EXIT_USAGE)
    except SmbsignError as exc:
        fail(str(exc), EXIT_RUNTIME)
    except KeyboardInterrupt:
        sys.stderr.write("smbsign: interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # last resort: a bug must still end as one line
        if os.environ.get("SMBSIGN_DEBUG"):
            raise
        fail(
            f"internal error ({type(exc).__name__}: {exc}); please report it "
            "(set SMBSIGN_DEBUG=1 to see the traceback)",
            EXIT_RUNTIME,
        )

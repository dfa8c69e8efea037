"""Deferred coercion (cli/_coerce.py) gives typer's own values and errors (#8 item 6).

The house parameter classes (cli/_help.py) build typer's pydantic-based coercion only for a
value that needs it. Each case runs one command twice, once as typer builds it and once with
the house command class (what ``adopt`` gives every smbsign command), and the results must be
equal.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from smbsign.cli._coerce import DeferredCoercion
from smbsign.cli._help import HouseArgument, HouseCommand, HouseOption


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


def _app(seen: list[Any], house: bool) -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.command(cls=HouseCommand if house else None)
    def cmd(
        name: Annotated[str, typer.Argument()],
        text: Annotated[str | None, typer.Option("--text")] = None,
        count: Annotated[int | None, typer.Option("--count", min=1, max=5)] = None,
        path: Annotated[Path | None, typer.Option("--path")] = None,
        color: Annotated[Color, typer.Option("--color")] = Color.RED,
        tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
        flag: Annotated[bool, typer.Option("--flag")] = False,
    ) -> None:
        seen.append((name, text, count, path, color, tags, flag))

    @app.command()
    def other() -> None:
        """A second command, so that ``cmd`` is a subcommand."""

    return app


def _run(argv: list[str], house: bool) -> tuple[int, str, list[Any]]:
    seen: list[Any] = []
    result = CliRunner().invoke(_app(seen, house), argv)
    return result.exit_code, result.output, seen


CASES = [
    ["cmd", "n"],
    ["cmd", "n", "--text", "héllo wörld", "--text", ""],
    ["cmd", "n", "--count", "3", "--path", "a/b", "--color", "blue", "--tag", "x", "--tag", "y"],
    ["cmd", "n", "--count", "9"],
    ["cmd", "n", "--count", "three"],
    ["cmd", "n", "--color", "green"],
    ["cmd", "--flag"],
    ["cmd", "n", "--flag", "--text", "  spaced  "],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(a) for a in CASES])
def test_house_classes_coerce_like_typer(argv: list[str]) -> None:
    assert _run(argv, house=True) == _run(argv, house=False)


def test_house_classes_are_in_use() -> None:
    """The comparison above compares something: the house classes and deferred coercion are
    what parse the values."""
    command = typer.main.get_command(_app([], house=True))
    ctx = command.make_context("prog", ["cmd", "n", "--text", "t"])
    sub = command.get_command(ctx, "cmd")  # type: ignore[attr-defined]
    params = {p.name: p for p in sub.get_params(ctx)}
    assert type(params["name"]) is HouseArgument
    assert type(params["text"]) is HouseOption
    assert isinstance(params["text"].get_runtime_param(), DeferredCoercion)

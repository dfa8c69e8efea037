"""Every third-party module the package imports is a declared dependency (core or an extra).

A module that is only installed in the development venv by chance (``click`` arrives with
the test tools; typer vendors its own copy) works in every test and breaks the command for a
user who installed the wheel: ``smbsign demo`` from a fresh venv found ``smbsign scan``
crashing on ``import click`` (#8 item 8).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "smbsign"
# Extras a user installs for a feature (not the test tools).
RUNTIME_EXTRAS = ("postgres", "remote", "hive", "fuzz")
# Modules only an extra's feature imports (lazily, from a function): their module-level
# imports may come with that extra.
EXTRA_ONLY = {"src/smbsign/collect/rrp_impacket.py"}
# Import names of declared distributions that may be absent here (so unmapped).
NOT_INSTALLED = {"atheris": "atheris"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extras: tuple[str, ...]) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return {_norm(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in reqs}


def _closure(names: set[str]) -> set[str]:
    """``names`` and what they require unconditionally (as installed here), transitively: a
    module of a declared distribution's own dependency is there wherever smbsign is."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" not in req.replace("extra==", "extra =="):
                todo.append(_norm(re.split(r"[\s\[<>=!~;(]", req, maxsplit=1)[0]))
    return seen


def _imports() -> dict[tuple[str, bool], set[str]]:
    """(top-level name, imported at module level) -> files, for every third-party import."""
    found: dict[tuple[str, bool], set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nested = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(f)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "smbsign" or top in sys.stdlib_module_names:
                    continue
                rel = str(path.relative_to(ROOT))
                key = (top, id(node) not in nested and rel not in EXTRA_ONLY)
                found.setdefault(key, set()).add(rel)
    return found


def test_every_third_party_import_is_declared() -> None:
    """A module-level import must come with the core dependencies (a plain ``pip install
    smbsign``); an import inside a function (a feature's lazy import) may also come with a
    runtime extra."""
    core = _closure(_declared(()))
    with_extras = _closure(_declared(RUNTIME_EXTRAS))
    dists = packages_distributions()
    undeclared = {}
    for (top, module_level), where in _imports().items():
        owners = {_norm(d) for d in dists.get(top, ())} or {NOT_INSTALLED.get(top, top)}
        if not owners & (core if module_level else with_extras):
            undeclared[top] = sorted(where)
    assert undeclared == {}

"""The generated PowerShell parses, calls only what exists and exits only as documented.

No PowerShell runs here (Debian ships no package; the PyPI/npm "pwsh" installers download a
binary at install time), so every ``.ps1`` the renderers write - fix and rollback scripts,
the GPO import script, the DSC configuration - is parsed with a real PowerShell grammar
(tree-sitter-powershell from ``tree-sitter-language-pack``), not by counting braces:

* no syntax error (``ERROR``/``MISSING`` node) and no template leftover (``{{``, ``{%``);
* the scripts' own ``param`` block carries ``[CmdletBinding(SupportsShouldProcess = $true)]``
  (``-WhatIf``/``-Confirm``);
* every command is a function the script defines or a known Windows PowerShell 5.1 cmdlet,
  and every call of a script function passes a valid number of positional arguments and
  only parameter names the function declares;
* every ``exit`` code is one the script's help documents.

Negative controls mutate a script (a lost brace, a misspelt helper, an extra argument, an
undocumented exit code) and must be caught, so these checks can fail. What this cannot
prove is runtime behaviour on Windows (docs/fix.md says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from smbsign.catalog import load_catalog
from smbsign.cli.fix_cmd import _context
from smbsign.remediate.plan import Stage, TargetKind, build_plan
from smbsign.remediate.render import FORMATS

ts = pytest.importorskip(
    "tree_sitter_language_pack", reason="tree-sitter-language-pack (test extra) not installed"
)
PARSER = ts.get_parser("powershell")

# Cmdlets of Windows PowerShell 5.1 and its GroupPolicy / ActiveDirectory modules that the
# generated scripts may call; anything else must be defined in the script itself.
KNOWN_CMDLETS = {
    "ConvertFrom-Json", "ConvertTo-Json", "Copy-Item", "ForEach-Object", "Get-ADObject",
    "Get-Command", "Get-Content", "Get-GPO", "Get-Item", "Join-Path", "New-GPO", "New-Item",
    "New-ItemProperty", "New-Object", "Out-Null", "Remove-ItemProperty", "Select-Object",
    "Set-ADObject", "Set-StrictMode", "Sort-Object", "Test-Path", "Where-Object",
    "Write-Output",
}  # fmt: skip
EXIT_CODES = {
    "smbsign-fix.ps1": {0, 1, 2, 3},
    "smbsign-rollback.ps1": {0, 1, 2},
    "Import-SmbsignGpo.ps1": {0, 2, 3},
}


def nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children:
        yield from nodes(child)


def text(node: Any) -> str:
    return bytes(node.text).decode()


def scripts() -> dict[str, str]:
    """Every .ps1 of every Windows target and stage, keyed by a readable name."""
    catalog = load_catalog()
    controls = list(catalog.controls.values())
    windows = [c.id for c in controls if "windows" in c.applies_to.os_families]
    out: dict[str, str] = {}
    for target in (
        TargetKind.WINDOWS_CLIENT,
        TargetKind.WINDOWS_SERVER,
        TargetKind.DOMAIN_CONTROLLER,
    ):
        for stage, ids in ((None, windows), (Stage.AUDIT, None), (Stage.ENFORCE, None)):
            plan = build_plan(controls, target, stage=stage, control_ids=ids)
            for fmt in ("powershell", "gpo", "dsc"):
                for rel, data in FORMATS[fmt].render(plan, _context(catalog, "")).items():
                    if rel.endswith(".ps1"):
                        name = f"{target.value}/{stage or 'all'}/{fmt}/{rel}"
                        out[name] = data.decode("utf-8-sig").replace("\r\n", "\n")
    return out


SCRIPTS = scripts()


def problems(name: str, source: str) -> list[str]:
    """Everything wrong with one script (empty when it is sound)."""
    found: list[str] = []
    for leftover in ("{{", "{%", "{#"):
        if leftover in source:
            found.append(f"template leftover {leftover!r}")
    root = PARSER.parse(source.encode()).root_node
    for n in nodes(root):
        if n.type == "ERROR" or n.is_missing:
            found.append(f"syntax error at line {n.start_point[0] + 1}: {text(n)[:60]!r}")
    base = name.rsplit("/", 1)[-1]
    if base == "SmbsignSigning.ps1":  # a DSC configuration: resource blocks, not commands
        return found
    found += _shouldprocess(root)
    functions = _functions(root)
    for cmd in (n for n in nodes(root) if n.type == "command"):
        name_node = cmd.children[0]
        if name_node.type != "command_name":
            continue  # `& $Cmdlet @arguments`: the callee is data
        called = text(name_node)
        if called in functions:
            found += _arity(called, functions[called], cmd)
        elif called not in KNOWN_CMDLETS:
            found.append(f"calls unknown command {called!r}")
    documented = documented_exit_codes(source)
    if documented != EXIT_CODES[base]:
        found.append(f"help documents exit codes {sorted(documented)}")
    used = set()
    for n in nodes(root):
        if n.type == "flow_control_statement" and text(n.children[0]).lower() == "exit":
            code = text(n)[4:].strip()
            if not code.isdigit() or int(code) not in documented:
                found.append(f"undocumented exit code {code!r}")
            else:
                used.add(int(code))
    if used != documented:
        found.append(f"documented exit codes never used: {sorted(documented - used)}")
    return found


def documented_exit_codes(source: str) -> set[int]:
    """The codes listed in the comment-based help: ``Exit codes: 0 ...; 1 ...; 2 ...``."""
    match = re.search(r"Exit codes:(.*?)(?:\n\.[A-Z]|#>)", source, re.S)
    if match is None:
        return set()
    return {int(c) for c in re.findall(r"(?:^|[:;])\s*(\d+)\s", ":" + match.group(1))}


def _shouldprocess(root: Any) -> list[str]:
    blocks = [c for c in root.children if c.type == "param_block"]
    if len(blocks) != 1:
        return ["no script-level param block"]
    attrs = [text(n) for n in nodes(blocks[0]) if n.type == "attribute"]
    if "[CmdletBinding(SupportsShouldProcess = $true)]" not in attrs:
        return ["param block without [CmdletBinding(SupportsShouldProcess = $true)]"]
    return []


def _functions(root: Any) -> dict[str, tuple[list[str], int]]:
    """Script function -> (parameter names, how many have no default)."""
    out = {}
    for fn in (n for n in nodes(root) if n.type == "function_statement"):
        name = text(next(c for c in fn.children if c.type == "function_name"))
        params = [n for n in nodes(fn) if n.type == "script_parameter"]
        names = [
            text(next(c for c in p.children if c.type == "variable"))[1:].lower() for p in params
        ]
        required = sum(
            1 for p in params if not any(c.type == "script_parameter_default" for c in p.children)
        )
        out[name] = (names, required)
    return out


def _arity(name: str, spec: tuple[list[str], int], cmd: Any) -> list[str]:
    params, required = spec
    elements = next((c for c in cmd.children if c.type == "command_elements"), None)
    positional, named, expect_value = 0, [], False
    for el in elements.children if elements is not None else ():
        if el.type == "command_parameter":
            named.append(text(el).lstrip("-").rstrip(":").lower())
            expect_value = True
        elif el.type != "command_argument_sep":
            positional += 0 if expect_value else 1
            expect_value = False
    bad = [n for n in named if n not in params]
    out = [f"{name}: unknown parameter -{n}" for n in bad]
    if not required - len(named) <= positional <= len(params) - len(named):
        out.append(f"{name}: {positional} positional argument(s) for parameters {params}")
    return out


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_generated_powershell_is_sound(name: str) -> None:
    assert problems(name, SCRIPTS[name]) == []


def test_every_kind_of_script_is_checked() -> None:
    kinds = {name.rsplit("/", 1)[-1] for name in SCRIPTS}
    assert kinds == {*EXIT_CODES, "SmbsignSigning.ps1"}


FIX = next(s for n, s in SCRIPTS.items() if n.endswith("/all/powershell/smbsign-fix.ps1"))


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda s: s.replace("    return $true\n}", "    return $true\n", 1), "syntax error"),
        (lambda s: s.replace("'before smbsign-fix.ps1'", "'before smbsign-fix.ps1", 1), "syntax"),
        (lambda s: s.replace("Set-RegValue $r.Key", "Set-RegValu $r.Key", 1), "unknown command"),
        (
            lambda s: s.replace(
                "Get-RegState $r.Key $r.Name $change.Control", "Get-RegState $r.Key", 1
            ),
            "positional",
        ),
        (
            lambda s: s.replace(
                "Get-RegState $r.Key $r.Name $change.Control",
                "Get-RegState -Key $r.Key -Nme $r.Name $change.Control",
                1,
            ),
            "unknown parameter -nme",
        ),
        (lambda s: s.replace("exit 3", "exit 7", 1), "undocumented exit code"),
        (lambda s: s.replace("; 3 a change failed", "; a change failed", 1), "help documents"),
        (
            lambda s: s.replace("SupportsShouldProcess = $true", "PositionalBinding = $true", 1),
            "CmdletBinding",
        ),
        (
            lambda s: s.replace("$Changes = @(", "$Changes = @({{ changes }}", 1),
            "template leftover",
        ),
    ],
)
def test_the_checks_catch_broken_scripts(mutate: Any, needle: str) -> None:
    broken = mutate(FIX)
    assert broken != FIX
    found = problems("x/smbsign-fix.ps1", broken)
    assert any(needle in p for p in found), found

"""Edit ``[global]`` parameters of an smb.conf in place, keeping every other byte (pure).

Written by hand because no library edits smb.conf losslessly (``configparser`` rewrites the
whole file and breaks on Samba syntax, docs/reference.md §4.3). Only the lines that set one of the
requested parameters inside a ``[global]`` section (any case and blanks, as Samba's
``strwicmp`` compares; or before the first section, which Samba treats as global) are
touched; comments, order, blank lines, ``include =`` lines, other sections, unknown
parameters and line endings stay as they are. Parameter names match
case- and whitespace-insensitively, synonyms included (``min protocol`` is
``server min protocol``), through :func:`smbsign.codecs.smbconf.canonical_name`; values
compare by their canonical enum (``mandatory`` == ``required``) through
:func:`canonical_value`. A value that is already acceptable is left alone (idempotent). A
parameter set nowhere is added at the end of the last ``[global]`` section, after its last
parameter line, with that line's indentation; with no ``[global]`` at all, a ``[global]``
section is inserted before the first section. Bytes that are not UTF-8 survive
(``surrogateescape``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from smbsign.codecs.smbconf import canonical_name, canonical_value, is_global
from smbsign.errors import ParseError

_SECTION = re.compile(r"^\s*\[([^\]]*)\]")
_ASSIGN = re.compile(r"^(?P<indent>\s*)(?P<name>[^=]*?)(?P<sep>\s*=\s*)(?P<value>.*?)\s*$")


@dataclass(frozen=True, slots=True)
class ParamEdit:
    """Set ``parameter`` to ``value`` unless its canonical value is already in ``accept``."""

    parameter: str
    value: str
    accept: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return canonical_name(self.parameter)

    def acceptable(self, raw_value: str) -> bool:
        try:
            current = canonical_value(self.name, raw_value)
        except ParseError:
            return False
        wanted = {_canon(self.name, v) for v in (*self.accept, self.value)}
        return current in wanted


def _canon(name: str, value: str) -> str:
    try:
        return canonical_value(name, value)
    except ParseError:
        return value


@dataclass(frozen=True, slots=True)
class EditResult:
    data: bytes
    changes: tuple[str, ...]  # what was edited, one line each
    kept: tuple[str, ...]  # parameters already acceptable

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class _Line:
    start: int  # first physical line index
    end: int  # last physical line index (continuations)
    text: str  # logical text, continuations joined
    in_global: bool


def _logical(lines: list[str]) -> list[_Line]:
    out: list[_Line] = []
    in_global = True  # parameters before any section header are global
    i = 0
    while i < len(lines):
        start, parts = i, list[str]()
        while True:
            body = lines[i].rstrip("\r")
            if body.endswith("\\") and i + 1 < len(lines):
                parts.append(body[:-1] if not parts else body.strip()[:-1])
                i += 1
                continue
            parts.append(body if not parts else body.strip())
            break
        text = "".join(parts)
        m = _SECTION.match(text)
        if m:
            in_global = is_global(m.group(1))
        out.append(_Line(start, i, text, in_global and not m))
        i += 1
    return out


def _is_param(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and stripped[0] not in "#;[" and "=" in stripped


def edit_globals(data: bytes, edits: Sequence[ParamEdit]) -> EditResult:
    """Return the new file bytes and a description of each edit."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    crlf = sum(ln.endswith("\r") for ln in lines) > len(lines) // 2
    eol = "\r" if crlf else ""
    logical = _logical(lines)
    wanted = {e.name: e for e in edits}
    found: set[str] = set()
    replace: dict[int, tuple[int, str]] = {}  # start -> (end, new physical line)
    changes: list[str] = []
    kept: list[str] = []
    last_param: int | None = None  # physical index of the last global parameter line
    first_section: int | None = None
    last_global_header: int | None = None
    for ln in logical:
        if _SECTION.match(ln.text):
            first_section = ln.start if first_section is None else first_section
            if is_global(_SECTION.match(ln.text).group(1)):  # type: ignore[union-attr]
                last_global_header = ln.end
            continue
        if not ln.in_global or not _is_param(ln.text):
            continue
        last_param = ln.end
        m = _ASSIGN.match(ln.text)
        if m is None:
            continue
        edit = wanted.get(canonical_name(m.group("name")))
        if edit is None:
            continue
        found.add(edit.name)
        where = f"line {ln.start + 1}"
        if edit.acceptable(m.group("value")):
            kept.append(f"{edit.name} = {m.group('value')} ({where})")
            continue
        new = f"{m.group('indent')}{m.group('name')}{m.group('sep')}{edit.value}{eol}"
        replace[ln.start] = (ln.end, new)
        changes.append(f"{edit.name}: {m.group('value') or '(empty)'} -> {edit.value} ({where})")

    missing = [e for e in edits if e.name not in found]
    insert_at, insert_lines = _insertion(
        lines, logical, missing, eol, last_param, last_global_header, first_section
    )
    for e in missing:
        changes.append(f"{e.name}: (not set) -> {e.value} (added)")

    out: list[str] = []
    i = 0
    while i < len(lines):
        if insert_at == i:
            out += insert_lines
        if i in replace:
            end, new = replace[i]
            out.append(new)
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    if insert_at is not None and insert_at >= len(lines):
        if out and out[-1] == "":  # file ended with a newline: insert before the final ""
            out[-1:] = [*insert_lines, ""]
        else:
            out += insert_lines
            out.append("")
    new_text = "\n".join(out)
    return EditResult(new_text.encode("utf-8", "surrogateescape"), tuple(changes), tuple(kept))


def _insertion(
    lines: list[str],
    logical: list[_Line],
    missing: Sequence[ParamEdit],
    eol: str,
    last_param: int | None,
    last_global_header: int | None,
    first_section: int | None,
) -> tuple[int | None, list[str]]:
    """Where to insert the parameters that are set nowhere, and the lines to insert."""
    if not missing:
        return None, []
    # End of the last [global] section: after its last parameter line, else after its header.
    anchor: int | None = None
    if last_global_header is not None:
        anchor = last_global_header
        for ln in logical:
            if ln.start > last_global_header and _SECTION.match(ln.text):
                break
            if ln.start > last_global_header and ln.in_global and _is_param(ln.text):
                anchor = ln.end
    elif last_param is not None and (first_section is None or last_param < first_section):
        anchor = last_param
    indent = "\t"
    if anchor is not None:
        m = re.match(r"^\s*", lines[anchor])
        probe = lines[anchor] if _is_param(lines[anchor]) else ""
        indent = m.group(0) if probe and m else "\t"
        body = [f"{indent}{e.name} = {e.value}{eol}" for e in missing]
        return anchor + 1, body
    body = [f"[global]{eol}", *(f"{indent}{e.name} = {e.value}{eol}" for e in missing)]
    if first_section is not None:
        return first_section, [*body, eol]
    at = len(lines)
    if lines and lines[-1] == "" and len(lines) > 1 and lines[-2].strip():
        body = [eol, *body]
    return at, body

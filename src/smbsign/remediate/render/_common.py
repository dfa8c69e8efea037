"""Helpers shared by the renderers: the Jinja2 environment, registry path forms, quoting.

Templates receive only ready-made strings and lists (no logic beyond loops, ARCHITECTURE.md
"templates hold no logic"); everything that needs a decision or escaping happens here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from smbsign.catalog.schema import Control, DesiredRegistry
from smbsign.regpath import setting_id, split_hive

Rendered = dict[str, bytes]  # path relative to the format's output directory -> bytes

_ROOTS = {"hklm": "HKEY_LOCAL_MACHINE", "hkcu": "HKEY_CURRENT_USER", "hku": "HKEY_USERS"}
_SHORT = {"hklm": "HKLM", "hkcu": "HKCU", "hku": "HKU"}
_GPO = {"hklm": "MACHINE", "hkcu": "USER"}
# PowerShell ends a single-quoted string at any of these (about_Quoting_Rules).
_PS_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


@dataclass(frozen=True, slots=True)
class FrameworkRef:
    """One framework requirement that maps to a control (for compliance sections)."""

    framework: str
    requirement: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What renderers need besides the plan; no clock, so output is reproducible."""

    generator: str = "smbsign"
    mappings: Mapping[str, tuple[FrameworkRef, ...]] = field(default_factory=dict)
    collection_repository: str = ""  # Ansible galaxy.yml ``repository`` (empty: none)

    def refs(self, control_id: str) -> tuple[FrameworkRef, ...]:
        return tuple(self.mappings.get(control_id, ()))


def environment() -> jinja2.Environment:
    """Jinja2 over ``remediate/templates``; strict (an undefined name is an error)."""
    # Output is scripts, INI, YAML and .reg text, never HTML: HTML escaping would corrupt it.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("smbsign.remediate", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(template: str, **values: Any) -> str:
    return environment().get_template(template).render(**values)


def _split(key: str) -> tuple[str, str]:
    hive, rest = split_hive(key)
    return hive or "hklm", rest


def full_key(key: str) -> str:
    """``HKEY_LOCAL_MACHINE\\SYSTEM\\...`` (``.reg`` files need full root names,
    reference.md §6.1)."""
    hive, rest = _split(key)
    return f"{_ROOTS[hive]}\\{rest}"


def short_key(key: str) -> str:
    """``HKLM\\SYSTEM\\...`` (display form)."""
    hive, rest = _split(key)
    return f"{_SHORT[hive]}\\{rest}"


def ps_drive_key(key: str) -> str:
    """``HKLM:\\SYSTEM\\...`` (PowerShell / Ansible ``win_regedit`` path form,
    reference.md §6.7)."""
    hive, rest = _split(key)
    return f"{_SHORT[hive]}:\\{rest}"


def gpo_key(key: str) -> str:
    """``MACHINE\\SYSTEM\\...`` as in GptTmpl.inf ``[Registry Values]`` (docs/reference.md §6.2)."""
    hive, rest = _split(key)
    return f"{_GPO[hive]}\\{rest}"


def hive_relative(key: str) -> str:
    """The key without its hive, as Registry.pol stores it (docs/reference.md §6.3)."""
    return _split(key)[1]


def multi_items(data: int | str) -> tuple[str, ...]:
    """REG_MULTI_SZ items of catalog data: NUL-separated, else comma-separated."""
    text = str(data)
    sep = "\x00" if "\x00" in text else ","
    return tuple(item.strip() for item in text.split(sep) if item.strip())


def typed_data(reg: DesiredRegistry) -> int | str | tuple[str, ...]:
    """Catalog data as the Python value of its registry type."""
    if reg.type in ("REG_DWORD", "REG_QWORD"):
        return int(reg.data)
    if reg.type == "REG_MULTI_SZ":
        return multi_items(reg.data)
    return str(reg.data)


def at_least(control: Control, reg: DesiredRegistry) -> bool:
    """True when the control passes at any data >= the desired one (a minimum level).

    Scripts and appliers then leave a stronger value alone instead of lowering it (e.g.
    ``SmbServerNameHardeningLevel`` 2 passes a ``>= 1`` control, docs/reference.md §1.3).
    """
    check = control.check.registry
    return (
        check is not None
        and check.expected.at_least is not None
        and reg.type in ("REG_DWORD", "REG_QWORD")
        and setting_id(check.key, check.value) == setting_id(reg.key, reg.value)
    )


def cmdlet_at_least(control: Control) -> bool:
    """Like :func:`at_least` for the control's ``Set-Smb*Configuration`` parameter."""
    check, desired = control.check.cmdlet, control.desired.cmdlet
    return (
        check is not None
        and desired is not None
        and check.expected.at_least is not None
        and check.property.lower() == desired.parameter.lower()
    )


def ps_quote(text: str) -> str:
    """A PowerShell single-quoted string literal (``'`` doubled; no expansion)."""
    for quote in _PS_QUOTES:
        text = text.replace(quote, quote * 2)
    return "'" + text + "'"


def yaml_quote(text: str) -> str:
    """A YAML single-quoted scalar (``'`` doubled; backslashes stay literal)."""
    return "'" + text.replace("'", "''") + "'"


TOPIC_LABELS = {
    "smb1_peers": "SMB1 peers",
    "guest_access": "Guest access",
    "nas_printers": "NAS and printers",
    "file_share_witness": "File share witnesses",
    "performance": "Performance",
    "legacy_clients": "Legacy clients",
    "group_policy": "Group Policy",
    "restart": "Restart",
    "other": "Note",
}


def one_line(text: str) -> str:
    """Collapse whitespace (catalog texts may span lines; comments and tables may not)."""
    return " ".join(text.split())


def impact_lines(plan_impacts: Iterable[Any]) -> list[str]:
    """``Impact (<control>, <topic>): <text>`` lines for file headers."""
    return [f"Impact ({i.control}, {i.topic}): {one_line(i.text)}" for i in plan_impacts]

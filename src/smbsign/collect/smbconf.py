"""Samba ``smb.conf`` (offline evidence), reference.md §3.3, §4.3 and smb.conf(5) "FILE FORMAT".

Lines, names, synonyms and values are read by :mod:`smbsign.codecs.smbconf` (Samba's rules, not
``configparser``'s). Here: a later assignment overrides an earlier one; ``include =`` is
followed at the point it appears when a loader is given (relative paths against the including
file's directory; Samba itself uses its working directory), with cycle, depth and size bounds.

Only ``[global]`` yields settings: ``samba:<canonical name>``, value ``value_type`` ``samba``.
Signing and encryption parameters take the canonical enum ``default``, ``off``,
``if_required``, ``desired``, ``required`` (``auto`` -> ``if_required``, ``mandatory`` ->
``required``); protocols, ``server role`` and ``security`` are canonicalised too; a value
Samba rejects is an error and yields no value. Host facts: ``os_family=samba`` and the role
(``auto`` derives it from ``security``/``domain logons`` as Samba does); classic NT4-style
PDC/BDC roles give ``role=None`` because their signing default is "off", unlike an AD DC
(docs/reference.md §3.3): use ``samba:server role`` for the exact role.
Kind ``smbconf``, layer ``local`` (also for files that look like testparm output: samba-tool
provision writes smb.conf in that form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smbsign.codecs.smbconf import (
    canonical_name,
    canonical_value,
    is_global,
    logical_lines,
    looks_like_smbconf,
    section_name,
    split_parameter,
)
from smbsign.codecs.text import decode_text
from smbsign.collect.base import CollectResult, failed
from smbsign.errors import ParseError
from smbsign.model import CollectError, HostFacts, Layer, OsFamily, Provenance, Role, SettingValue

KIND = "smbconf"
MAX_DEPTH = 10
MAX_FILES = 100
MAX_TOTAL_BYTES = 16 * 2**20

#: ``include`` target -> (resolved path, bytes); raises OSError when it cannot be read.
Loader = Callable[[str, str], tuple[str, bytes]]

ROLE_FACTS: dict[str, Role | None] = {
    "standalone server": Role.STANDALONE,
    "member server": Role.MEMBER_SERVER,
    "classic primary domain controller": None,
    "classic backup domain controller": None,
    "active directory domain controller": Role.DOMAIN_CONTROLLER,
    "IPA primary domain controller": Role.DOMAIN_CONTROLLER,
}


def sniff(data: bytes, name: str) -> bool:
    return looks_like_smbconf(data, name)


@dataclass
class _State:
    loader: Loader | None
    host: str
    kind: str
    layer: Layer
    values: dict[str, SettingValue] = field(default_factory=dict)
    errors: list[CollectError] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    total: int = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append(CollectError(self.host, path, self.kind, message))


def _parse(state: _State, text: str, path: str, depth: int) -> None:
    in_global = True
    for number, line in logical_lines(text):
        where = f"line {number}"
        if not line or line[0] in ";#":
            continue
        section = section_name(line)
        if section is not None:
            in_global = is_global(section)
            continue
        try:
            name, value = split_parameter(line)
        except ParseError as exc:
            state.error(path, f"{where}: {exc}")
            continue
        param = canonical_name(name)
        if param == "include":  # followed in any section, as Samba does
            _include(state, value, path, where, depth)
            continue
        if not in_global:
            continue
        try:
            value = canonical_value(param, value)
        except ParseError as exc:
            state.error(path, f"{where}: {exc}")
            state.values.pop(param, None)
            continue
        prov = Provenance(state.kind, path, where, state.layer)
        state.values[param] = SettingValue(state.host, f"samba:{param}", value, "samba", prov)


def _include(state: _State, target: str, path: str, where: str, depth: int) -> None:
    if not target or target.lower() == "registry":
        return
    if state.loader is None:
        state.error(path, f"{where}: include {target!r} not followed (no base directory)")
        return
    if "%" in target:
        state.error(path, f"{where}: include {target!r} uses a substitution; not followed")
        return
    if depth >= MAX_DEPTH or len(state.seen) >= MAX_FILES:
        state.error(path, f"{where}: include {target!r} not followed (too deep or too many)")
        return
    try:
        resolved, data = state.loader(target, path)
    except OSError as exc:
        state.error(path, f"{where}: include {target!r} cannot be read: {exc.strerror or exc}")
        return
    if resolved in state.seen:
        state.error(path, f"{where}: include {target!r} forms a cycle; not followed again")
        return
    state.total += len(data)
    if state.total > MAX_TOTAL_BYTES:
        state.error(path, f"{where}: include {target!r} not followed (total size limit)")
        return
    state.seen.add(resolved)
    try:
        text = decode_text(data)
    except ParseError as exc:
        state.error(resolved, str(exc))
        return
    _parse(state, text, resolved, depth + 1)


def role_fact(values: dict[str, str]) -> Role | None:
    """Effective role as Samba derives it (``server role = auto`` -> from ``security``)."""
    role = values.get("server role", "auto")
    if role != "auto":
        return ROLE_FACTS.get(role)
    security = values.get("security", "auto")
    if security in ("ads", "domain"):
        return Role.MEMBER_SERVER
    if values.get("domain logons") == "yes":
        return None  # classic PDC/BDC
    return Role.STANDALONE


def collect(data: bytes, path: str, host: str, *, loader: Loader | None = None) -> CollectResult:
    """Global parameters of an smb.conf (and its includes when ``loader`` is given)."""
    try:
        text = decode_text(data)
    except ParseError as exc:
        return failed(host, path, KIND, str(exc))
    state = _State(loader=loader, host=host, kind=KIND, layer=Layer.LOCAL, seen={path})
    _parse(state, text, path, 0)
    plain = {k[len("samba:") :]: str(v.value) for k, v in
             ((v.setting, v) for v in state.values.values())}  # fmt: skip
    facts = HostFacts(host=host, os_family=OsFamily.SAMBA, role=role_fact(plain), sources=(path,))
    return CollectResult(
        values=tuple(state.values.values()), facts=facts, errors=tuple(state.errors)
    )

"""Samba ``smb.conf`` (offline evidence), reference.md §3.3, §4.3 and smb.conf(5) "FILE FORMAT".

Written by hand: ``configparser`` does not follow Samba's rules. Rules applied: ``[section]``
headers (parameters before the first one are global); ``;`` and ``#`` start comment lines
(no trailing comments); a line ending in ``\\`` continues on the next; only the first ``=``
counts; parameter names are case- and whitespace-insensitive; synonyms resolve to the
canonical name (table from smb.conf(5) of 4.17.12 plus ``smb encrypt``, each checked with
testparm); a later assignment overrides an earlier one; ``include =`` is followed at the point
it appears when a loader is given (relative paths against the including file's directory;
Samba itself uses its working directory), with cycle, depth and size bounds.

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

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from smbsign.codecs.text import decode_text, split_lines, text_head
from smbsign.collect.base import CollectResult, failed
from smbsign.errors import ParseError
from smbsign.model import CollectError, HostFacts, Layer, OsFamily, Provenance, Role, SettingValue

KIND = "smbconf"
MAX_DEPTH = 10
MAX_FILES = 100
MAX_TOTAL_BYTES = 16 * 2**20

#: ``include`` target -> (resolved path, bytes); raises OSError when it cannot be read.
Loader = Callable[[str, str], tuple[str, bytes]]

SYNONYMS: dict[str, str] = {
    "preload": "auto services", "bind dns directory": "binddns dir", "browsable": "browseable",
    "casesignames": "case sensitive", "create mode": "create mask", "default": "default service",
    "directory mode": "directory mask", "group": "force group", "public": "guest ok",
    "only guest": "guest only", "allow hosts": "hosts allow", "deny hosts": "hosts deny",
    "winbind gid": "idmap gid", "winbind uid": "idmap uid",
    "ldap password sync": "ldap passwd sync", "lock dir": "lock directory",
    "debuglevel": "log level", "socket address": "nbt client socket address",
    "directory": "path", "exec": "preexec", "prefered master": "preferred master",
    "print ok": "printable", "printcap": "printcap name", "printer": "printer name",
    "private directory": "private dir", "root": "root directory", "root dir": "root directory",
    "max protocol": "server max protocol", "protocol": "server max protocol",
    "min protocol": "server min protocol", "unix extensions": "smb1 unix extensions",
    "debug timestamp": "timestamp logs", "vfs object": "vfs objects", "writable": "writeable",
    "write ok": "writeable", "smb encrypt": "server smb encrypt",
}  # fmt: skip

_SIGNING = {
    "default": "default",
    **dict.fromkeys(("no", "false", "0", "off", "disabled"), "off"),
    **dict.fromkeys(("if_required", "yes", "true", "1", "on", "enabled", "auto"), "if_required"),
    "desired": "desired",
    **dict.fromkeys(("required", "mandatory", "force", "forced", "enforced"), "required"),
}
_PROTOCOL = {
    "default": "default", "smb2": "SMB2_10", "smb3": "SMB3_11", "smb3_11": "SMB3_11",
    "smb3_02": "SMB3_02", "smb3_00": "SMB3_00", "smb2_10": "SMB2_10", "smb2_02": "SMB2_02",
    "nt1": "NT1", "lanman2": "LANMAN2", "lanman1": "LANMAN1", "core": "CORE",
    "coreplus": "COREPLUS", "core+": "COREPLUS",
}  # fmt: skip
ROLES = {
    "auto": "auto", "standalone server": "standalone server", "standalone": "standalone server",
    "member server": "member server", "member": "member server",
    "classic primary domain controller": "classic primary domain controller",
    "classic backup domain controller": "classic backup domain controller",
    "active directory domain controller": "active directory domain controller",
    "domain controller": "active directory domain controller",
    "dc": "active directory domain controller",
    "ipa primary domain controller": "IPA primary domain controller",
}  # fmt: skip
_SECURITY = {v: v for v in ("auto", "user", "domain", "ads")}
_BOOL = {**dict.fromkeys(("yes", "true", "1", "on"), "yes"),
         **dict.fromkeys(("no", "false", "0", "off"), "no")}  # fmt: skip
#: Accepted values (lower-cased) -> canonical value, for parameters whose values we check.
ENUMS: dict[str, dict[str, str]] = {
    **dict.fromkeys(
        ("server signing", "client signing", "client ipc signing", "server smb encrypt",
         "client smb encrypt"), _SIGNING),
    **dict.fromkeys(
        ("server min protocol", "server max protocol", "client min protocol",
         "client max protocol", "client ipc min protocol", "client ipc max protocol"), _PROTOCOL),
    "server role": ROLES,
    "security": _SECURITY,
    "domain logons": _BOOL,
    "domain master": {**_BOOL, "auto": "auto"},
    # samba lib/param/param_table.c enum_ldap_server_require_strong_auth_vals (reference.md §11.4)
    "ldap server require strong auth": {
        **dict.fromkeys(("no", "false", "0"), "no"),
        "allow_sasl_over_tls": "allow_sasl_over_tls",
        **dict.fromkeys(("yes", "true", "1"), "yes")},
}  # fmt: skip
ROLE_FACTS: dict[str, Role | None] = {
    "standalone server": Role.STANDALONE,
    "member server": Role.MEMBER_SERVER,
    "classic primary domain controller": None,
    "classic backup domain controller": None,
    "active directory domain controller": Role.DOMAIN_CONTROLLER,
    "IPA primary domain controller": Role.DOMAIN_CONTROLLER,
}
_SECTION = re.compile(r"^\[([^\]]*)\]")
_SNIFF = re.compile(
    r"^\s*(\[global\]|(workgroup|server\s*role|server\s*signing|client\s*signing|security|"
    r"netbios\s*name|include|server\s*min\s*protocol|realm)\s*=)",
    re.MULTILINE,
)


@cache
def known_parameters() -> dict[str, str]:
    """Squashed (lower-case, no whitespace) name -> canonical name, Samba 4.17.12."""
    text = resources.files("smbsign.collect").joinpath("samba_params.txt").read_text("utf-8")
    names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    table = {_squash(n): n for n in names}
    table.update({_squash(k): v for k, v in SYNONYMS.items()})
    return table


def _squash(name: str) -> str:
    return re.sub(r"\s+", "", name.lower())


def canonical_name(name: str) -> str:
    """Canonical lower-case, single-spaced parameter name (synonyms resolved)."""
    if ":" in name:  # parametric option, e.g. "idmap config * : backend"
        return " ".join(name.lower().split())
    return known_parameters().get(_squash(name), " ".join(name.lower().split()))


def canonical_value(param: str, value: str) -> str:
    """Canonical value of ``param``; raise :class:`ParseError` for a value Samba rejects."""
    table = ENUMS.get(param)
    if table is None:
        return value
    canon = table.get(value.strip().lower())
    if canon is None:
        raise ParseError(f"invalid value {value!r} for parameter {param!r}")
    return canon


def sniff(data: bytes, name: str) -> bool:
    head = text_head(data, 8192)
    return bool(_SNIFF.search(head)) or (
        name.lower().endswith(("smb.conf", ".conf")) and head.lstrip().startswith(("[", "#", ";"))
    )


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


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Logical lines: a trailing ``\\`` joins the next line (its indentation dropped)."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(split_lines(text), start=1):
        if not buf:
            start = number
        line = raw.strip() if buf else raw.lstrip()
        if line.endswith("\\"):
            buf.append(line[:-1])
            continue
        buf.append(line)
        out.append((start, "".join(buf).strip()))
        buf = []
    if buf:
        out.append((start, "".join(buf).strip()))
    return out


def _parse(state: _State, text: str, path: str, depth: int) -> None:
    in_global = True
    for number, line in logical_lines(text):
        where = f"line {number}"
        if not line or line[0] in ";#":
            continue
        m = _SECTION.match(line)
        if m:
            in_global = _squash(m.group(1)) == "global"
            continue
        name, sep, raw_value = line.partition("=")
        if not sep or not name.strip():
            state.error(path, f"{where}: expected 'name = value'")
            continue
        param = canonical_name(name)
        value = raw_value.strip()
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

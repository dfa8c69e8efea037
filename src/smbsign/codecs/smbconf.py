"""``smb.conf`` lines, parameter names and values: reader and writer (smb.conf(5) "FILE FORMAT",
docs/reference.md §3.3, §4.3).

Written by hand: ``configparser`` does not follow Samba's rules. Rules: ``[section]`` headers
(parameters before the first one are global; a section name matches ignoring case and blanks, as
Samba's ``strwicmp`` does); ``;`` and ``#`` start comment lines (no trailing comments); a line
ending in ``\\`` continues on the next; only the first ``=`` counts; parameter names are case-
and whitespace-insensitive; synonyms resolve to the canonical name (table from smb.conf(5) of
4.17.12 plus ``smb encrypt``, each checked with testparm; names from ``testparm -s -v``, in
``samba_params.txt``). Signing and encryption parameters take the canonical enum ``default``,
``off``, ``if_required``, ``desired``, ``required`` (``auto`` -> ``if_required``, ``mandatory``
-> ``required``); protocols, ``server role`` and ``security`` are canonicalised too; a value
Samba rejects is a :class:`~smbsign.errors.ParseError`. ``include`` and what the parameters
mean for a host are the collector's business (:mod:`smbsign.collect.smbconf`); the in-place
editor is :mod:`smbsign.remediate.apply.smbconf_edit`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from smbsign.codecs.text import split_lines, text_head
from smbsign.errors import ParseError

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
_SECTION = re.compile(r"^\[([^\]]*)\]")
_SNIFF = re.compile(
    r"^\s*(\[global\]|(workgroup|server\s*role|server\s*signing|client\s*signing|security|"
    r"netbios\s*name|include|server\s*min\s*protocol|realm)\s*=)",
    re.MULTILINE,
)
Sections = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@cache
def known_parameters() -> dict[str, str]:
    """Squashed (lower-case, no whitespace) name -> canonical name, Samba 4.17.12."""
    text = resources.files("smbsign.codecs").joinpath("samba_params.txt").read_text("utf-8")
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


def looks_like_smbconf(data: bytes, name: str) -> bool:
    """Content test: a ``[global]`` header or a typical global parameter; or an smb.conf name
    whose text starts like one."""
    head = text_head(data, 8192)
    return bool(_SNIFF.search(head)) or (
        name.lower().endswith(("smb.conf", ".conf")) and head.lstrip().startswith(("[", "#", ";"))
    )


def section_name(line: str) -> str | None:
    """The name of a ``[section]`` line (of a stripped logical line), else ``None``."""
    m = _SECTION.match(line)
    return m.group(1) if m else None


def is_global(section: str) -> bool:
    """True for ``[global]``, in any case and spacing (Samba compares with ``strwicmp``)."""
    return _squash(section) == "global"


def split_parameter(line: str) -> tuple[str, str]:
    """``(name, value)`` of a ``name = value`` line, both stripped."""
    name, sep, value = line.partition("=")
    if not sep or not name.strip():
        raise ParseError("expected 'name = value'")
    return name.strip(), value.strip()


def read_smbconf(text: str) -> Sections:
    """Sections in file order with their ``(name, value)`` lines as written (no include is
    followed; parameters before the first header are in ``global``); raise
    :class:`ParseError` at the first line that is not a header, a comment or a parameter."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for number, line in logical_lines(text):
        if not line or line[0] in ";#":
            continue
        name = section_name(line)
        if name is not None:
            sections.append((name, []))
            continue
        try:
            param = split_parameter(line)
        except ParseError as exc:
            raise ParseError(str(exc), where=f"line {number}") from None
        if not sections:
            sections.append(("global", []))
        sections[-1][1].append(param)
    return tuple((name, tuple(params)) for name, params in sections)


def global_parameters(text: str) -> dict[str, str]:
    """The ``[global]`` parameters of ``text`` by canonical name, the last line winning as in
    Samba (includes are not followed); raise :class:`ParseError` as :func:`read_smbconf`."""
    found: dict[str, str] = {}
    for name, params in read_smbconf(text):
        if is_global(name):
            found.update((canonical_name(k), v) for k, v in params)
    return found


# -------------------------------------------------------------------------------- write


def parameter_line(name: str, value: str) -> str:
    """``name = value``; ``ValueError`` for what one line cannot hold."""
    if "=" in name or not name.strip() or name.strip()[0] in ";#[":
        raise ValueError(f"not a parameter name: {name!r}")
    if any(c in name + value for c in "\r\n") or value.rstrip().endswith("\\"):
        raise ValueError(f"{name}: a value cannot hold a line break or end in a backslash")
    return f"{name.strip()} = {value.strip()}"


def write_smbconf(sections: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> str:
    """smb.conf text: each ``[section]`` with its parameters indented by a tab, as Samba's own
    examples are laid out; a blank line between sections."""
    blocks: list[str] = []
    for name, params in sections:
        if "]" in name or any(c in name for c in "\r\n"):
            raise ValueError(f"not a section name: {name!r}")
        lines = [f"[{name}]", *(f"\t{parameter_line(n, v)}" for n, v in params)]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)

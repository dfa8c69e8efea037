"""Host facts for one audited host: command-line options merged with evidence (pure).

The default that applies to an absent setting depends on OS family, build, edition and role
(docs/reference.md §3.1-3.5), so the engine needs them. They come from two places:

- the command line (``--os-family``, ``--os-build``, ``--edition``, ``--role``, parsed by
  :mod:`smbsign.audit.facts`), which always wins: the operator knows what the host is better
  than a stray file does;
- the evidence: collectors return :class:`~smbsign.model.HostFacts` (Windows ``CurrentBuild``,
  ``EditionID``, ``ProductType``, docs/reference.md §3.5) and Samba ``server role`` values.

Conflicts are never silent: each one becomes a note ("evidence says build 22631 (a.reg), the
command line says 26100: using 26100").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from smbsign.model import HostFacts, OsFamily, Role, SettingValue

#: Samba ``server role`` values as testparm prints them (SAMBA ``lib/param/param_table.c``
#: ``enum_server_role``; docs/reference.md §3.3, §3.5). Classic (NT4-style) PDC/BDC are deliberately
#: absent: they are neither AD domain controllers (``server signing = default`` means *off*
#: on them, docs/reference.md §3.3) nor member servers, and :class:`Role` has no value for them.
SAMBA_ROLES: dict[str, Role] = {
    "standalone server": Role.STANDALONE,
    "standalone": Role.STANDALONE,
    "member server": Role.MEMBER_SERVER,
    "member": Role.MEMBER_SERVER,
    "active directory domain controller": Role.DOMAIN_CONTROLLER,
    "domain controller": Role.DOMAIN_CONTROLLER,
    "dc": Role.DOMAIN_CONTROLLER,
    "ipa primary domain controller": Role.DOMAIN_CONTROLLER,
}

#: Spellings accepted for ``--role`` (the canonical :class:`Role` values plus short forms).
ROLE_ALIASES: dict[str, Role] = {
    **{r.value: r for r in Role},
    "dc": Role.DOMAIN_CONTROLLER,
    "member": Role.MEMBER_SERVER,
    "server": Role.MEMBER_SERVER,
    "member-server": Role.MEMBER_SERVER,
    "domain-controller": Role.DOMAIN_CONTROLLER,
}

SAMBA_ROLE_SETTING = "samba:server role"
SAMBA_SECURITY_SETTING = "samba:security"
SAMBA_DOMAIN_LOGONS_SETTING = "samba:domain logons"


@dataclass(frozen=True, slots=True)
class MergedFacts:
    """The facts the engine uses and what was noticed while merging them."""

    facts: HostFacts
    notes: tuple[str, ...] = ()


#: Common names for ``--edition`` mapped to Windows ``EditionID`` values (docs/reference.md §3.5:
#: Home is ``Core``); anything else is kept as given (``ServerStandard``, ``EnterpriseS``...).
EDITION_ALIASES: dict[str, str] = {
    "home": "Core",
    "core": "Core",
    "pro": "Professional",
    "professional": "Professional",
    "enterprise": "Enterprise",
    "education": "Education",
}


def samba_role(values: Iterable[SettingValue]) -> tuple[Role | None, str]:
    """Role implied by Samba ``server role`` (+ ``security`` for ``auto``), and a note.

    ``auto`` (the default) follows ``security``: ``ads``/``domain`` make a member server,
    otherwise a standalone server, unless ``domain logons`` makes it a classic PDC/BDC
    (Samba ``lib/param/loadparm_server_role.c``). ``auto`` never yields an AD DC: an AD DC
    must say so explicitly (docs/reference.md §3.3).
    """
    latest: dict[str, SettingValue] = {}
    for v in values:
        key = v.setting.strip().lower()
        if key in (SAMBA_ROLE_SETTING, SAMBA_SECURITY_SETTING, SAMBA_DOMAIN_LOGONS_SETTING):
            latest[key] = v  # later evidence overrides earlier (testparm comes after smb.conf)
    if not latest:
        return None, ""
    role_v = latest.get(SAMBA_ROLE_SETTING)
    raw = str(role_v.value).strip().lower() if role_v is not None and not role_v.deleted else ""
    if raw in SAMBA_ROLES:
        return SAMBA_ROLES[raw], f"server role = {raw}"
    if raw.startswith("classic"):
        return None, f"server role = {raw} (classic NT4-style domain controller)"
    if raw not in ("", "auto"):
        return None, f"server role = {raw} (not recognised)"
    sec_v = latest.get(SAMBA_SECURITY_SETTING)
    security = str(sec_v.value).strip().lower() if sec_v is not None else "user"
    logons_v = latest.get(SAMBA_DOMAIN_LOGONS_SETTING)
    logons = str(logons_v.value).strip().lower() if logons_v is not None else "no"
    if security in ("ads", "domain"):
        return Role.MEMBER_SERVER, f"server role = auto, security = {security}"
    if logons in ("yes", "true", "1", "on"):
        return None, "server role = auto with domain logons (classic NT4-style domain controller)"
    return Role.STANDALONE, f"server role = auto, security = {security}"


def infer_os_family(values: Iterable[SettingValue]) -> OsFamily | None:
    """OS family implied by the kinds of evidence: registry/cmdlet -> Windows, smb.conf -> Samba.

    Returns None when there is no evidence or when both kinds are present (ambiguous).
    """
    kinds: set[OsFamily] = set()
    for v in values:
        kinds.add(OsFamily.SAMBA if v.setting.lower().startswith("samba:") else OsFamily.WINDOWS)
    return kinds.pop() if len(kinds) == 1 else None


#: Collector kinds (docs/collectors.md) and the OS family their evidence belongs to; used
#: when a host's only evidence could not be read.
KIND_FAMILY: dict[str, OsFamily] = {
    "regfile": OsFamily.WINDOWS,
    "gpttmpl": OsFamily.WINDOWS,
    "secedit": OsFamily.WINDOWS,
    "registrypol": OsFamily.WINDOWS,
    "winreg": OsFamily.WINDOWS,
    "winreg_remote": OsFamily.WINDOWS,
    "hive": OsFamily.WINDOWS,
    "pwsh_json": OsFamily.WINDOWS,
    "smbconf": OsFamily.SAMBA,
    "testparm": OsFamily.SAMBA,
}


def family_of_kinds(kinds: Iterable[str]) -> OsFamily | None:
    """The one OS family the collector ``kinds`` imply, or None (none, unknown or mixed)."""
    families = {KIND_FAMILY.get(k) for k in kinds}
    return families.pop() if len(families) == 1 else None


def implied_family(
    values: Sequence[SettingValue], error_kinds: Iterable[str] = ()
) -> OsFamily | None:
    """The OS family the evidence implies: from the values (:func:`infer_os_family`), else,
    when no value could be read at all, from the kinds of the unreadable sources."""
    family = infer_os_family(values)
    if family is None and not values:
        family = family_of_kinds(error_kinds)
    return family


_FIELDS_ALL = (
    "os_family",
    "build",
    "edition",
    "role",
    "product_name",
    "samba_version",
    "smb1_installed",
)


def _label(facts: HostFacts) -> str:
    return ", ".join(facts.sources) if facts.sources else "evidence"


def merge_facts(
    host: str,
    cli: HostFacts | None,
    evidence: Sequence[HostFacts],
    values: Sequence[SettingValue] = (),
) -> MergedFacts:
    """Merge facts for ``host``: command line first, then each evidence item in order.

    The first evidence item that knows a fact sets it; a later item that disagrees is noted.
    A command-line fact overrides evidence, with a note when the evidence said otherwise.
    ``os_family`` and the Samba role are also inferred from ``values`` when nothing else
    gives them. ``sources`` of the result says where each fact came from.
    """
    notes: list[str] = []
    found: dict[str, object] = {}
    origin: dict[str, str] = {}
    for item in evidence:
        for name in _FIELDS_ALL:
            val = getattr(item, name)
            if val is None:
                continue
            if name not in found:
                found[name], origin[name] = val, _label(item)
            elif found[name] != val:
                notes.append(
                    f"conflicting evidence for {name}: {found[name]} ({origin[name]}) "
                    f"vs {val} ({_label(item)}); using {found[name]}"
                )

    if "role" not in found:
        role, why = samba_role(values)
        if role is not None:
            found["role"], origin["role"] = role, why
        elif why:
            notes.append(f"role not derived from the Samba config: {why}")
    if "os_family" not in found:
        family = implied_family(values)
        if family is not None:
            found["os_family"], origin["os_family"] = family, "kind of evidence"

    if cli is not None:
        for name in _FIELDS_ALL:
            val = getattr(cli, name)
            if val is None:
                continue
            if name in found and found[name] != val:
                notes.append(
                    f"evidence says {name} {found[name]} ({origin[name]}), "
                    f"the command line says {val}: using {val}"
                )
            found[name], origin[name] = val, "command line"

    sources = tuple(f"{name}: {origin[name]}" for name in _FIELDS_ALL if name in found)
    merged = HostFacts(host=host, sources=sources)
    return MergedFacts(facts=replace(merged, **found), notes=tuple(notes))  # type: ignore[arg-type]

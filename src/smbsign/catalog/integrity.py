"""Cross-file checks of the catalog (pure): what the per-file schema cannot see.

Each check returns problem strings naming the file; the loader joins them into one
:class:`CatalogError`. Checks: framework references resolve and are not duplicated, every
control is mapped at least once, each OS family a control applies to has a check and a
desired state (and signing controls always do), ``Expect`` has exactly one field, the desired
value satisfies the control's own check, Samba ``passing`` holds only explicit values
(``default`` is resolved through defaults.yaml, reference.md §3.3), and ``default_key`` resolves
for every OS family of the control.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from smbsign.catalog.defaults import DefaultsTable
from smbsign.catalog.schema import Control, Expect, Framework, RegistryCheck
from smbsign.regpath import setting_id

# smb.conf spellings of the signing enums -> canonical value (docs/reference.md §4.3).
_SIGNING_ALIASES = {
    **dict.fromkeys(("no", "false", "0", "off", "disabled"), "off"),
    **dict.fromkeys(("if_required", "yes", "true", "1", "on", "enabled", "auto"), "if_required"),
    "desired": "desired",
    **dict.fromkeys(("required", "mandatory", "force", "forced", "enforced"), "required"),
    "default": "default",
}


def canonical_samba(parameter: str, value: str) -> str:
    """Canonical form of a Samba value for comparison (signing enums; else lower-case)."""
    low = value.strip().lower()
    if parameter.strip().lower().endswith("signing"):
        return _SIGNING_ALIASES.get(low, low)
    return low


def _expect_ok(e: Expect) -> bool:
    return sum(v is not None for v in (e.equals, e.at_least, e.one_of)) == 1


def _satisfies(e: Expect, data: object) -> bool:
    if e.equals is not None:
        return type(data) is type(e.equals) and data == e.equals
    if e.at_least is not None:
        return isinstance(data, int) and not isinstance(data, bool) and data >= e.at_least
    return data in (e.one_of or ())


def _control_problems(c: Control, defaults: DefaultsTable) -> list[str]:
    where = f"controls/{c.id}.yaml"
    out: list[str] = []
    fams = set(c.applies_to.os_families)
    chk, want = c.check, c.desired
    if "windows" in fams and chk.registry is None:
        out.append(f"{where}: applies to windows but has no check.registry")
    if "windows" in fams and not want.registry:
        out.append(f"{where}: applies to windows but has no desired.registry")
    if "samba" in fams and chk.samba is None:
        out.append(f"{where}: applies to samba but has no check.samba")
    if "samba" in fams and not want.samba:
        out.append(f"{where}: applies to samba but has no desired.samba")
    if c.enforces_signing and not (want.registry or want.samba):
        out.append(f"{where}: enforces_signing without a desired state")
    if c.enforces_signing and (c.stage != "enforce" or chk.smb1_only):
        out.append(f"{where}: enforces_signing needs stage 'enforce' and not smb1_only")
    for label, exp in (
        ("check.registry.expected", chk.registry.expected if chk.registry else None),
        ("check.cmdlet.expected", chk.cmdlet.expected if chk.cmdlet else None),
    ):
        if exp is not None and not _expect_ok(exp):
            out.append(f"{where}: {label} must set exactly one of equals/at_least/one_of")
    if chk.registry is not None and _expect_ok(chk.registry.expected):
        targets = _checked_ids(chk.registry)
        mine = [r for r in want.registry if setting_id(r.key, r.value) in targets]
        if "windows" in fams and not mine:
            out.append(f"{where}: desired.registry does not set the checked value")
        for r in mine:
            if r.type != chk.registry.type or not _satisfies(chk.registry.expected, r.data):
                out.append(f"{where}: desired.registry data {r.data!r} fails its own check")
    if chk.samba is not None:
        param = chk.samba.parameter
        passing = {canonical_samba(param, p) for p in chk.samba.passing}
        if "default" in passing:
            out.append(
                f"{where}: check.samba.passing must not list 'default' (resolved by defaults)"
            )
        mine_s = [s for s in want.samba if s.parameter.lower() == param.lower()]
        if "samba" in fams and not mine_s:
            out.append(f"{where}: desired.samba does not set {param!r}")
        for s in mine_s:
            if canonical_samba(param, s.value) not in passing:
                out.append(f"{where}: desired.samba {param} = {s.value} fails its own check")
    out += _default_key_problems(c, defaults, where)
    for n, k in enumerate(c.considerations):
        if set(k.targets) - fams or set(k.roles) - set(c.applies_to.roles):
            out.append(f"{where}: considerations[{n}] names a target or role outside applies_to")
    for ref in c.references:
        if not ref.url.startswith("https://"):
            out.append(f"{where}: reference URL must be https: {ref.url}")
    return out


def _checked_ids(reg: RegistryCheck) -> frozenset[str]:
    """The value a registry check reads: ``key`` and, for an ADMX policy, ``policy_key``."""
    ids = {setting_id(reg.key, reg.value)}
    if reg.policy_key:
        ids.add(setting_id(reg.policy_key, reg.value))
    return frozenset(ids)


def _default_key_problems(c: Control, defaults: DefaultsTable, where: str) -> list[str]:
    if c.default_key is None:
        return []
    entry = defaults.entries.get(c.default_key)
    if entry is None:
        return [f"{where}: default_key {c.default_key!r} is not in defaults.yaml"]
    out = []
    for fam in c.applies_to.os_families:
        key = c.default_key if entry.os_family == fam else entry.counterparts.get(fam)
        if key is None:
            out.append(f"{where}: default_key {c.default_key!r} has no {fam} counterpart")
            continue
        setting = defaults.entries[key].setting
        if fam == "samba" and c.check.samba is not None:
            expected = "samba:" + " ".join(c.check.samba.parameter.lower().split())
            if setting.lower() != expected:
                out.append(f"{where}: defaults entry {key!r} is for {setting}, not {expected}")
        if fam == "windows" and c.check.registry is not None:
            reg = c.check.registry
            key_part, _, value_part = setting.rpartition("\\")
            if setting_id(key_part, value_part) not in _checked_ids(reg):
                out.append(
                    f"{where}: defaults entry {key!r} is for {setting}, not the checked value"
                )
    return out


def check_integrity(
    controls: Mapping[str, Control],
    frameworks: Mapping[str, Framework],
    defaults: DefaultsTable,
) -> list[str]:
    """All cross-file problems (empty list: the catalog is consistent)."""
    problems: list[str] = []
    mapped: set[str] = set()
    for fid, fw in frameworks.items():
        where = f"frameworks/{fid}.yaml"
        for rid, n in Counter(r.id for r in fw.requirements).items():
            if n > 1:
                problems.append(f"{where}: duplicate requirement id {rid!r}")
        for req in fw.requirements:
            for cid, n in Counter(req.controls).items():
                if n > 1:
                    problems.append(f"{where}: requirement {req.id!r} names {cid!r} twice")
                if cid not in controls:
                    problems.append(f"{where}: requirement {req.id!r}: unknown control {cid!r}")
                mapped.add(cid)
    for cid in controls:
        if cid not in mapped:
            problems.append(f"controls/{cid}.yaml: not mapped by any framework")
    for c in controls.values():
        problems += _control_problems(c, defaults)
    return problems

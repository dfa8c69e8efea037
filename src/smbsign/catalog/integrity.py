"""Cross-file checks of the catalog (pure): what the per-file schema cannot see.

Each check returns problem strings naming the file; the loader joins them into one
:class:`CatalogError`. Checks: framework references resolve and are not duplicated, every
control is mapped at least once, each OS family a control applies to has a check and a
desired state (and signing controls always do), ``Expect`` has exactly one field, the desired
value satisfies the control's own check, Samba ``passing`` holds only explicit values
(``default`` is resolved through defaults.yaml, reference.md §3.3), ``default_key`` resolves
for every OS family of the control, the registry keys, cmdlets and Samba parameters belong to
the control's ``side`` (an SMB1-only check has ``protocol: smb1``), and every check lists the
data its setting accepts (``allowed``), holding its desired value and some failing value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from smbsign.catalog.defaults import DefaultsTable
from smbsign.catalog.schema import Allowed, Control, Expect, Framework, RegistryCheck, Side
from smbsign.catalog.values import accepts, canonical_samba, registry_keys, samba_accepts
from smbsign.regpath import setting_id

#: Registry key names of the SMB (LDAP) components and the side each belongs to
#: (docs/reference.md §1.1, §1.3): a check of each control's ``side``, not its source.
_COMPONENT_SIDES: dict[str, Side] = {
    "lanmanserver": "server",
    "ntds": "server",
    "lanmanworkstation": "client",
    "mrxsmb10": "client",
    "mrxsmb20": "client",
}


def _expect_ok(e: Expect) -> bool:
    return sum(v is not None for v in (e.equals, e.at_least, e.one_of)) == 1


def _side_problems(c: Control, where: str) -> list[str]:
    """The control's registry keys, cmdlets and Samba parameters agree with its ``side``."""
    out: list[str] = []
    for key in registry_keys(c):
        for part in key.lower().split("\\"):
            other = _COMPONENT_SIDES.get(part)
            if other is not None and other != c.side:
                out.append(f"{where}: side {c.side} but {key} is a {other}-side key")
    chk, want = c.check, c.desired
    for cmdlet in (
        chk.cmdlet.cmdlet if chk.cmdlet else None,
        want.cmdlet.cmdlet if want.cmdlet else None,
    ):
        if cmdlet is not None and ("Server" in cmdlet) != (c.side == "server"):
            out.append(f"{where}: side {c.side} but {cmdlet} configures the other side")
    params = [chk.samba.parameter] if chk.samba else []
    for param in params + [s.parameter for s in want.samba]:
        first = param.strip().lower().split(" ")[0]
        if first in ("server", "client") and first != c.side:
            out.append(f"{where}: side {c.side} but {param!r} is a {first}-side parameter")
    if chk.wire is not None and c.side != "server":
        out.append(f"{where}: a wire check observes a server, but side is {c.side}")
    if (chk.smb1_only or (chk.wire or "").startswith("smb1")) and c.protocol != "smb1":
        out.append(f"{where}: an SMB1-only check needs protocol smb1, not {c.protocol}")
    return out


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _in(allowed: Allowed, v: object) -> bool:
    return any(type(a.value) is type(v) and a.value == v for a in allowed)


def _allowed_lists(c: Control, where: str, out: list[str]) -> list[tuple[str, Allowed, list[bool]]]:
    """(label, allowed, passes per value) of each check; type and membership problems to out."""
    chk, want = c.check, c.desired
    lists: list[tuple[str, Allowed, list[bool]]] = []
    if (reg := chk.registry) is not None:
        numeric = reg.type in ("REG_DWORD", "REG_QWORD")
        if any(_is_int(a.value) != numeric or isinstance(a.value, bool) for a in reg.allowed):
            out.append(f"{where}: check.registry.allowed holds a value that is not {reg.type}")
        for r in want.registry:
            mine = setting_id(r.key, r.value) in _checked_ids(reg)
            if mine and reg.allowed and not _in(reg.allowed, r.data):
                out.append(f"{where}: desired.registry data {r.data!r} is not in allowed")
        passes = [accepts(reg.expected, a.value) for a in reg.allowed]
        lists.append(("check.registry", reg.allowed, passes))
    if (cmd := chk.cmdlet) is not None:
        d = want.cmdlet
        mine = d is not None and d.parameter.lower() == cmd.property.lower()
        if d is not None and mine and cmd.allowed and not _in(cmd.allowed, d.value):
            out.append(f"{where}: desired.cmdlet value {d.value!r} is not in allowed")
        lists.append(
            ("check.cmdlet", cmd.allowed, [accepts(cmd.expected, a.value) for a in cmd.allowed])
        )
    if (sam := chk.samba) is not None:
        canon = {canonical_samba(sam.parameter, str(a.value)) for a in sam.allowed}
        mine_s = [s.value for s in want.samba if s.parameter.lower() == sam.parameter.lower()]
        for v in (*sam.passing, *mine_s):
            if sam.allowed and canonical_samba(sam.parameter, v) not in canon:
                out.append(f"{where}: check.samba value {v!r} is not in check.samba.allowed")
        passes = [samba_accepts(sam.parameter, sam.passing, str(a.value)) for a in sam.allowed]
        lists.append(("check.samba", sam.allowed, passes))
    return lists


def _allowed_problems(c: Control, where: str) -> list[str]:
    """Each check lists the data its setting accepts; the check and the desired state use only
    those, and some allowed value fails (else the check could not fail)."""
    out: list[str] = []
    for label, allowed, passes in _allowed_lists(c, where, out):
        if not allowed:
            out.append(f"{where}: {label}.allowed is missing (the data the setting accepts)")
            continue
        values = [(type(a.value), a.value) for a in allowed]
        if len(set(values)) != len(values):
            out.append(f"{where}: {label}.allowed lists a value twice")
        if all(passes) or not any(passes):
            out.append(f"{where}: {label}.expected must pass some allowed values and fail others")
    return out


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
            if r.type != chk.registry.type or not accepts(chk.registry.expected, r.data):
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
    out += _side_problems(c, where)
    out += _allowed_problems(c, where)
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

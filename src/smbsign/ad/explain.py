"""Why a GPO that sets a value does *not* decide it for a computer (pure).

The question users of GPO audits ask most ("all four signing GPOs are linked, the finding
stays"): for every GPO in the computer's containers whose files set a control's setting but
that does not take part, a note names the GPO, the container and the reason:

- its link is disabled ([MS-GPOL] 2.2.2, link option 0x1);
- a container below blocks inheritance and the link is not enforced ([MS-GPOL] 2.2.2
  ``gPOptions``, 3.2.5.1.5);
- it is filtered out for this computer ([MS-GPOL] 3.2.5.1.6: computer settings disabled,
  security filtering, empty GPO, functionality version).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from smbsign.ad.gplink import GpLink
from smbsign.ad.resolve import AppliedLink, GpoStatus, Som, blocked_links
from smbsign.engine.readings import canonical_setting
from smbsign.model import SettingValue

Why = Mapping[str, tuple[str, ...]]  # canonical setting -> notes


def control_settings(catalog: object) -> dict[str, frozenset[str]]:
    """Canonical registry setting ids each control reads (its key and its policy key)."""
    out: dict[str, frozenset[str]] = {}
    for cid, control in (getattr(catalog, "controls", {}) or {}).items():
        reg = getattr(getattr(control, "check", None), "registry", None)
        if reg is None:
            continue
        keys = [reg.key, *([reg.policy_key] if reg.policy_key else [])]
        out[cid] = frozenset(canonical_setting(f"{k}\\{reg.value}") for k in keys)
    return out


def _sets(values: Iterable[SettingValue]) -> set[str]:
    return {canonical_setting(v.setting) for v in values}


def not_deciding(
    chain: Sequence[Som],
    skipped: Sequence[tuple[AppliedLink, GpoStatus]],
    names: Mapping[str, str],
    values: Mapping[str, tuple[SettingValue, ...]],
) -> dict[str, tuple[str, ...]]:
    """Notes per canonical setting for GPOs of ``chain`` that set it but do not apply."""
    notes: dict[str, list[str]] = {}

    def add(guid: str, text: str) -> None:
        for setting in _sets(values.get(guid, ())):
            notes.setdefault(setting, []).append(f"GPO {names.get(guid, guid)!r} {{{guid}}} {text}")

    for som in chain:
        for lk in som.links:
            if lk.disabled:
                add(
                    lk.guid,
                    f"linked to {som.dn} sets it, but the link is disabled ([MS-GPOL] 2.2.2)",
                )
    blocked: Sequence[tuple[GpLink, str]] = blocked_links(chain)
    owner = {id(lk): som.dn for som in chain for lk in som.links}
    for lk, blocker in blocked:
        add(
            lk.guid,
            f"linked to {owner.get(id(lk), '?')} sets it, but {blocker} blocks inheritance and "
            "the link is not enforced ([MS-GPOL] 2.2.2)",
        )
    for link, st in skipped:
        add(
            link.guid,
            f"linked to {link.som_dn} sets it, but does not apply: {st.reason} "
            "([MS-GPOL] 3.2.5.1.6)",
        )
    return {k: tuple(dict.fromkeys(v)) for k, v in notes.items()}


def notes_for(control: str, why: Why, settings: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    out: list[str] = []
    for setting in sorted(settings.get(control, ())):
        out.extend(why.get(setting, ()))
    return tuple(out)

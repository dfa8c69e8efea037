"""Fixes aimed at the winning Group Policy layer, per OU (issue #9 item 6, pure).

From the findings of ``smbsign ad audit`` (each carries ``container``, the DN of the computer's
OU, and ``source.gpo``, the GPO and link that decide the value, [MS-GPOL] 3.2.5.1.5), every
container with a failing computer gets the action that makes its computers pass:

* ``change``: a GPO decides the failing value. That GPO (on that link) is the place to change:
  a GPO of lower precedence cannot override it, and a child OU's link cannot override an
  enforced one ([MS-GPOL] 3.2.5.1.5). Changing it changes every container it is linked to.
* ``link``: no GPO sets the value (the build default or a local value decides): link a GPO that
  sets it to this container (the one ``smbsign fix -f gpo`` writes, for instance).
* ``apply``: the GPO already sets the desired value but the wire disagrees (``drift``, from
  ``ad audit --scan``): nothing to change in Group Policy; the computers have not applied it.

Findings come from a file a user hands over: names are echoed cleaned, bounded and never used
as paths or commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 300
MAX_HOSTS = 10_000  # hosts kept per action (a domain of 100,000 would list them all otherwise)


@dataclass(frozen=True, slots=True)
class GpoRefText:
    guid: str
    name: str
    link: str
    enforced: bool


@dataclass(frozen=True, slots=True)
class GpoAction:
    """What to do in Group Policy so every computer of ``container`` passes ``controls``."""

    container: str
    action: str  # "change", "link" or "apply"
    gpo: GpoRefText | None
    controls: tuple[str, ...]
    hosts: tuple[str, ...]
    text: str


def _clean(value: Any) -> str:
    text = str(value if value is not None else "")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:MAX_TEXT]


def _gpo(f: Mapping[str, Any]) -> GpoRefText | None:
    src = f.get("source")
    gpo = src.get("gpo") if isinstance(src, Mapping) else None
    if not isinstance(gpo, Mapping) or not gpo.get("guid"):
        return None
    return GpoRefText(
        _clean(gpo.get("guid")),
        _clean(gpo.get("name")),
        _clean(gpo.get("link")),
        gpo.get("enforced") is True,
    )


def is_domain_finding(f: Mapping[str, Any]) -> bool:
    return isinstance(f.get("container"), str) and bool(f.get("container"))


def _text(action: str, container: str, gpo: GpoRefText | None, settings: str, n: int) -> str:
    who = f"{n} computer(s)"
    if action == "apply" and gpo is not None:
        return (
            f"GPO {gpo.name!r} {gpo.guid} (linked to {gpo.link}) already sets {settings}, but "
            f"the wire of {who} in {container} disagrees: they have not applied it "
            "(gpupdate /target:computer /force, then restart the Server service or the "
            "computer), or a local/MDM value overrides it"
        )
    if action == "change" and gpo is not None:
        where = "enforced link" if gpo.enforced else "link"
        return (
            f"change GPO {gpo.name!r} {gpo.guid}: through its {where} on {gpo.link} it decides "
            f"for {who} in {container}; set {settings} in it (every container it is linked "
            "to changes with it)"
        )
    return (
        f"link a GPO that sets {settings} to {container}: no GPO sets it for {who} there "
        "(the build default or a local value decides)"
    )


def gpo_actions(
    findings: Iterable[Mapping[str, Any]], settings: Mapping[str, str]
) -> tuple[GpoAction, ...]:
    """Per container, the GPO to change or the link to add so its failing computers pass.

    ``settings`` maps a control id to the setting text to put in the GPO (e.g.
    ``MACHINE\\...\\RequireSecuritySignature=4,1``); controls without one are left out.
    """
    groups: dict[tuple[str, str, GpoRefText | None], tuple[list[str], list[str]]] = {}
    for f in findings:
        control = str(f.get("control", ""))
        if f.get("status") != "fail" or control not in settings or not is_domain_finding(f):
            continue
        gpo = _gpo(f)
        action = "link" if gpo is None else "change"
        if gpo is not None and f.get("drift") is True:
            src = f.get("source")
            if isinstance(src, Mapping) and src.get("kind") == "wire":
                action = "apply"  # the GPO says pass, the wire fails
        key = (_clean(f.get("container")), action, gpo)
        controls, hosts = groups.setdefault(key, ([], []))
        if control not in controls:
            controls.append(control)
        host = _clean(f.get("host"))
        if host and host not in hosts and len(hosts) < MAX_HOSTS:
            hosts.append(host)
    out = []
    for (container, action, gpo), (controls, hosts) in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0].lower(), kv[0][1], kv[0][2].name if kv[0][2] else ""),
    ):
        what = "; ".join(settings[c] for c in controls)
        out.append(
            GpoAction(
                container,
                action,
                gpo,
                tuple(controls),
                tuple(hosts),
                _text(action, container, gpo, what, len(hosts)),
            )
        )
    return tuple(out)


def action_to_dict(a: GpoAction) -> dict[str, Any]:
    gpo: dict[str, str | bool] | None = None
    if a.gpo is not None:
        gpo = {"guid": a.gpo.guid, "name": a.gpo.name, "link": a.gpo.link}
        gpo["enforced"] = a.gpo.enforced
    return {
        "container": a.container,
        "action": a.action,
        "gpo": gpo,
        "controls": list(a.controls),
        "hosts": list(a.hosts),
        "text": a.text,
    }

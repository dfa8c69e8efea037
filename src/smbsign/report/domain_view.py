"""The OU / role view of a domain run (``smbsign ad audit``) for the HTML report (#9 item 5).

From the findings alone (``container``, ``source.gpo``, ``roles``, ``drift``, docs/schema.md):
per OU, which GPOs decide its computers' values (name, the container the deciding link is on,
enforced), how many of its computers fail or drift, and whether any GPO reaches it at all; per
role, the same counts. A run without domain findings has no view (None).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from smbsign.model import Finding, Status

_BAD = (Status.FAIL, Status.UNKNOWN, Status.ERROR)


@dataclass
class _Group:
    hosts: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    drifting: set[str] = field(default_factory=set)
    gpos: dict[tuple[str, str, bool], set[str]] = field(default_factory=dict)  # -> controls


def _tree_key(dn: str) -> tuple[str, ...]:
    """Parents before children: the DN's components from the top."""
    return tuple(reversed([p.strip().lower() for p in dn.split(",")]))


def _add(g: _Group, f: Finding) -> None:
    g.hosts.add(f.host)
    if f.status in _BAD:
        g.failing.add(f.host)
    if f.drift is True:
        g.drifting.add(f.host)
    gpo = f.source.gpo if f.source is not None else None
    if gpo is not None:
        g.gpos.setdefault((gpo.name, gpo.link, gpo.enforced), set()).add(f.control)


def _row(name: str, g: _Group) -> dict[str, Any]:
    return {
        "name": name,
        "computers": len(g.hosts),
        "failing": len(g.failing),
        "drifting": sorted(g.drifting),
        "gpos": [
            {"name": n, "link": link, "enforced": enf, "controls": sorted(c)}
            for (n, link, enf), c in sorted(g.gpos.items())
        ],
        "no_gpo": not g.gpos,
    }


def domain_view(findings: Iterable[Finding]) -> dict[str, Any] | None:
    """``{"ous": [...], "roles": [...]}`` or None when no finding comes from ``smbsign ad``."""
    ous: dict[str, _Group] = {}
    roles: dict[str, _Group] = {}
    for f in findings:
        if f.container is None:
            continue
        _add(ous.setdefault(f.container, _Group()), f)
        for role in f.roles or ("unknown",):
            _add(roles.setdefault(role, _Group()), f)
    if not ous:
        return None
    return {
        "ous": [_row(dn, ous[dn]) for dn in sorted(ous, key=_tree_key)],
        "roles": [_row(r, roles[r]) for r in sorted(roles)],
        "no_gpo": sorted((dn for dn, g in ous.items() if not g.gpos), key=_tree_key),
    }

"""The Ansible inventory of a plan built from findings: the hosts where each control failed.

One group per control (the role's name), holding the hosts its change lists, and ``windows``
made of those groups (the group the playbook targets); the playbook runs each role only
``when`` the host is in its control's group. INI inventory format (Ansible documentation, "How
to build your inventory"). Host names come from findings, which come from files and APIs an
attacker may write: only plain host names and addresses (letters, digits, ``. _ : -``) are
written, each on its own line; the others are counted in a comment, never written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from smbsign.remediate.plan import Plan

FILE = "inventory.ini"
GROUP = "windows"
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$")


def inventory(plan: Plan, group_name: Callable[[str], str]) -> tuple[bytes | None, dict[str, str]]:
    """(inventory.ini, {control id: group}); (None, {}) when no change lists a host.

    ``group_name`` names a control's group (the Ansible renderer passes its role name).
    """
    groups: dict[str, list[str]] = {}
    left_out: set[str] = set()
    for ch in plan.changes:
        plain = [h for h in ch.hosts if _PLAIN_HOST.match(h)]
        left_out.update(h for h in ch.hosts if not _PLAIN_HOST.match(h))
        if plain:
            groups[ch.id] = plain
    if not groups:
        return None, {}
    lines = [
        "# smbsign: the hosts where each control failed, one group per control (the role of",
        "# the same name runs only on its group). Add connection variables (ansible_host,",
        "# ansible_connection=winrm or psrp, ...) or merge these groups into your inventory.",
    ]
    if left_out:
        lines.append(f"# {len(left_out)} host name(s) left out: not a plain host name or address.")
    lines += ["", f"[{GROUP}:children]", *(group_name(c) for c in groups)]
    for control, hosts in groups.items():
        lines += ["", f"[{group_name(control)}]", *hosts]
    text = "\n".join(lines) + "\n"
    return text.encode(), {c: group_name(c) for c in groups}

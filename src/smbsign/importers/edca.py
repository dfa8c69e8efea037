"""EDCA controls (michelderooij/EDCA ``Config/controls.json`` or one element of it).

Schema (EDCA ``Docs/template_control.md``; docs/reference.md §10.4): ``id, title, description,
verify, subject, category, severity, severityWeight, frameworks, references[{name,url}],
remediation{automatable, description, scriptTemplate}, considerations, roles``.

The settings a control is about are read from its ``scriptTemplate``: path variables
(``$serverPath = 'HKLM:\\...'``), what the script reads (``Get-ItemProperty $serverPath -Name
RequireSecuritySignature``) and what it writes (``Set-ItemProperty -Path $serverPath -Name ...
-Value 1``, the expected value). The script's ``not set (default: 0 ...)`` text is the default
EDCA assumes for an absent value; EDCA fails an absent value whose assumed default does not
satisfy the control (``Modules/Analysis.ps1``). A control may check through the SMB
configuration cmdlets instead (``Set-SmbServerConfiguration -EnableSMB1Protocol $false``,
EDCA-SEC-023): those properties are targets too, mapped to the catalog's cmdlet checks
(Microsoft Learn, Set-SmbServerConfiguration / Set-SmbClientConfiguration). The script itself
is never imported as remediation (smbsign renders remediation from structured state,
ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

from smbsign.codecs.text import decode_text, text_head
from smbsign.errors import ParseError
from smbsign.importers import expect
from smbsign.importers.model import (
    Absent,
    ImportedCheck,
    ImportedPolicy,
    Target,
    cmdlet_setting,
    is_cmdlet_setting,
)
from smbsign.regpath import setting_id

KIND = "edca"
LABEL = "EDCA control"

_ID = re.compile(r'"id"\s*:\s*"EDCA-[A-Z]+-\d+"', re.IGNORECASE)
_PATH_VAR = re.compile(r"""\$(\w+)\s*=\s*['"](HK(?:LM|CU|EY_[A-Z_]+):?\\[^'"]+)['"]""", re.I)
_GET = re.compile(r"Get-ItemProperty\s+(?:-Path\s+)?\$(\w+)\s+-Name\s+['\"]?(\w+)", re.I)
_SET = re.compile(
    r"Set-ItemProperty\s+-Path\s+\$(\w+)\s+-Name\s+['\"]?(\w+)['\"]?(?:\s+-Type\s+\w+)?"
    r"\s+-Value\s+(\d{1,10})(?!\d)",
    re.I,
)
_DEFAULT = re.compile(r"not set \(default:\s*(\d{1,10})(?!\d)", re.I)
# Set-SmbServerConfiguration / Set-SmbClientConfiguration with -Name value pairs (one statement),
# and (Get-SmbServerConfiguration).Name reads.
_CMDLET_SET = re.compile(r"\bSet-Smb(Server|Client)Configuration\b([^\n;|]*)", re.I)
_CMDLET_ARG = re.compile(r"-(\w+)(?::\s*|\s+)(\$true|\$false|\d{1,10})\b", re.I)
_CMDLET_GET = re.compile(r"\(\s*Get-Smb(Server|Client)Configuration\b[^)]*\)\s*\.(\w+)", re.I)
_COMMON_PARAMETERS = frozenset({"confirm", "whatif", "force", "verbose", "debug"})
Found = dict[str, tuple[str, str, int | None, str]]  # setting -> (key, name, value, as written)


def sniff(data: bytes, name: str) -> bool:
    head = text_head(data, 8192)
    return head.lstrip()[:1] in ("{", "[") and _ID.search(head) is not None


def _cmdlet_settings(script: str, found: Found) -> None:
    """SMB configuration cmdlet properties the script reads or sets (EDCA-SEC-023 disables SMB1
    with ``Set-SmbServerConfiguration -EnableSMB1Protocol $false``, no registry path). Keyed by
    the ``Get-`` cmdlet, which is what the catalog's cmdlet checks name."""
    for side, name in _CMDLET_GET.findall(script):
        key = f"Get-Smb{side.capitalize()}Configuration"
        found.setdefault(cmdlet_setting(key, name), (key, name, None, ""))
    for side, args in _CMDLET_SET.findall(script):
        key = f"Get-Smb{side.capitalize()}Configuration"
        for name, raw in _CMDLET_ARG.findall(args):
            if name.lower() in _COMMON_PARAMETERS:
                continue
            low = raw.lower()
            value = 1 if low == "$true" else 0 if low == "$false" else int(raw)
            found[cmdlet_setting(key, name)] = (key, name, value, raw)


def script_targets(script: str) -> tuple[list[Target], list[str]]:
    """Registry values and SMB cmdlet properties a control's script reads or writes, with the
    value it writes."""
    problems: list[str] = []
    paths = {m[1].lower(): m[2] for m in _PATH_VAR.finditer(script)}
    found: Found = {}
    for var, item in _GET.findall(script):
        if var.lower() in paths:
            key = paths[var.lower()]
            found.setdefault(setting_id(key, item), (key, item, None, ""))
    for var, item, value in _SET.findall(script):
        if var.lower() not in paths:
            problems.append(f"script writes ${var} which is not a registry path variable")
            continue
        key = paths[var.lower()]
        found[setting_id(key, item)] = (key, item, int(value), value)
    _cmdlet_settings(script, found)
    defaults = {int(d) for d in _DEFAULT.findall(script)}
    stated = next(iter(defaults)) if len(defaults) == 1 else None
    targets: list[Target] = []
    for sid, (key, item, value, written) in found.items():
        default = None if is_cmdlet_setting(sid) else stated  # a property is never absent
        if value is None:
            problems.append(f"script reads {item} but never sets it: expected value unknown")
            exp = expect.other("read only")
            absent = Absent.UNKNOWN
        else:
            exp = expect.from_predicate(expect.equal_to(value), sid, written, (value,))
            absent = (
                Absent.UNKNOWN
                if default is None
                else (Absent.PASS if default in exp.passing else Absent.FAIL)
            )
        targets.append(Target(key, item, sid, exp, absent, stated_default=default))
    return targets, problems


def _control(raw: object, index: int) -> ImportedCheck:
    if not isinstance(raw, dict):
        return ImportedCheck(f"#{index}", "", f"element {index}", problems=("not an object",))
    rem = raw.get("remediation")
    script = rem.get("scriptTemplate") if isinstance(rem, dict) else None
    targets, problems = script_targets(script) if isinstance(script, str) else ([], [])
    frameworks = raw.get("frameworks")
    fw = tuple(str(f) for f in frameworks) if isinstance(frameworks, list) else ()
    return ImportedCheck(
        check_id=str(raw.get("id", "") or f"#{index}"),
        title=str(raw.get("title", "") or ""),
        location=f"element {index}",
        targets=tuple(targets),
        compliance=(("frameworks", fw),) if fw else (),
        problems=tuple(problems),
    )


def parse(data: bytes, name: str) -> ImportedPolicy:
    """Import EDCA control(s); :class:`ParseError` if the file holds none."""
    text = decode_text(data, where=name)
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {str(exc)[:120]}", where=name) from None
    items = doc if isinstance(doc, list) else [doc]
    controls = [
        c for c in items if isinstance(c, dict) and str(c.get("id", "")).startswith("EDCA-")
    ]
    if not controls:
        raise ParseError("not an EDCA control (no object with an 'EDCA-' id)", where=name)
    one = controls[0] if len(controls) == 1 else None
    return ImportedPolicy(
        kind=KIND,
        label=LABEL,
        policy_id=str(one["id"]) if one else "controls.json",
        name=str(one.get("title", "")) if one else f"{len(controls)} EDCA controls",
        platform="windows_server",
        checks=tuple(_control(c, i) for i, c in enumerate(controls, 1)),
    )

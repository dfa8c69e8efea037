"""Tenable ``.audit`` files: Windows ``REGISTRY_SETTING`` items.

An item is a ``<custom_item>`` block of ``name : value`` lines (values may be quoted and span
lines). Fields used: ``type``, ``description``, ``value_type`` (``POLICY_DWORD``),
``value_data`` (``1``, ``"[1..MAX]"``, ``"[MIN..0]"``, ``"1 || 2"``), ``reg_key``, ``reg_item``,
``reg_option``, ``reg_type`` and ``reference`` (``800-53|SC-8,CSCv8|3.10``). ``value_type``
``POLICY_SET`` takes ``"Enabled"`` / ``"Disabled"`` (Tenable Compliance Checks Reference,
Windows custom items, REGISTRY_SETTING and "Value Data",
https://docs.tenable.com/nessus/compliance-checks-reference/Content/REGISTRY_SETTING.htm); with
``reg_type : REG_DWORD`` that is the 0/1 DWORD of a Security Option, so it is read as 1 / 0
(:data:`POLICY_SET_DWORD`). Absent values (Tenable
"REGISTRY_SETTING" reference): ``CAN_BE_NULL`` makes the check succeed when the value does not
exist, ``CAN_NOT_BE_NULL`` the opposite; without ``reg_option`` the file does not say
(``unknown``). The policy's own expected value is kept as written: a policy may legitimately
differ from CIS (the sample expects server ``requiresecuritysignature`` = 0, docs/reference.md §8).
"""

from __future__ import annotations

import re

from smbsign.codecs.text import decode_text, split_lines, text_head
from smbsign.errors import ParseError
from smbsign.importers import expect
from smbsign.importers.model import Absent, ImportedCheck, ImportedPolicy, Target
from smbsign.regpath import setting_id

KIND = "tenable_audit"
LABEL = "Tenable audit file"

_FIELD = re.compile(r"^\s*([A-Za-z_]+)\s*:\s*(.*)$")
_OPEN = re.compile(r"^\s*<(custom_item|item)>\s*$", re.IGNORECASE)
_CLOSE = re.compile(r"^\s*</(custom_item|item)>\s*$", re.IGNORECASE)
# Bounds of at most 10 digits (a DWORD): a longer number is not a range (int() of thousands of
# digits raises ValueError).
_RANGE = re.compile(r"^\[\s*(MIN|-?\d{1,10})\s*\.\.\s*(MAX|-?\d{1,10})\s*\]$", re.IGNORECASE)
_GROUP = re.compile(r"<group_policy\s*:\s*\"([^\"]*)\"", re.IGNORECASE)
MAX_ITEMS = 100_000


def sniff(data: bytes, name: str) -> bool:
    head = text_head(data, 65536)
    return "<check_type" in head and ("<custom_item>" in head or "<item>" in head)


def _fields(lines: list[str]) -> dict[str, str]:
    """``name : value`` pairs; a quoted value may continue over several lines."""
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = _FIELD.match(lines[i])
        i += 1
        if m is None:
            continue
        name, value = m[1].lower(), m[2].strip()
        if value.startswith('"') and (len(value) == 1 or not value.endswith('"')):
            parts = [value]
            while i < len(lines) and not parts[-1].rstrip().endswith('"'):
                parts.append(lines[i].strip())
                i += 1
            value = " ".join(parts)
        out.setdefault(name, value.strip().strip('"').strip())
    return out


def value_test(text: str) -> tuple[expect.Predicate | None, list[int]]:
    """Predicate of a POLICY_DWORD ``value_data`` and the numbers it names."""
    alternatives = [a.strip() for a in text.split("||")]
    preds: list[expect.Predicate] = []
    numbers: list[int] = []
    for alt in alternatives:
        rng = _RANGE.match(alt)
        if rng is not None:
            lo = None if rng[1].upper() == "MIN" else int(rng[1])
            hi = None if rng[2].upper() == "MAX" else int(rng[2])
            numbers += [n for n in (lo, hi) if n is not None]
            preds.append(expect.between(lo, hi))
            continue
        n = expect.parse_int(alt)
        if n is None:
            return None, numbers
        numbers.append(n)
        preds.append(expect.equal_to(n))
    return (lambda v: any(p(v) for p in preds)), numbers


#: POLICY_SET data on a REG_DWORD: a Security Option stored as a 0/1 DWORD reads 1 when Enabled
#: and 0 when Disabled (Microsoft Learn, "Microsoft network server: Digitally sign
#: communications (always)": Enabled writes RequireSecuritySignature = 1, and so on).
POLICY_SET_DWORD = {"enabled": 1, "disabled": 0}


def policy_set_test(text: str, reg_type: str) -> tuple[expect.Predicate | None, list[int]]:
    """Predicate of a ``POLICY_SET`` item: ``"Enabled"`` / ``"Disabled"`` of a ``REG_DWORD``
    value is 1 / 0; anything else (another type, other words) is not a numeric test."""
    n = POLICY_SET_DWORD.get(text.strip().lower()) if reg_type == "REG_DWORD" else None
    return (None, []) if n is None else (expect.equal_to(n), [n])


def _item(fields: dict[str, str], index: int, line: int) -> ImportedCheck:
    problems: list[str] = []
    targets: tuple[Target, ...] = ()
    if fields.get("type", "").upper() == "REGISTRY_SETTING":
        key, item = fields.get("reg_key", ""), fields.get("reg_item", "")
        data = fields.get("value_data", "")
        if not key or not item:
            problems.append("REGISTRY_SETTING without reg_key/reg_item")
        else:
            sid = setting_id(key, item)
            vtype = fields.get("value_type", "").upper()
            reg_type = fields.get("reg_type", "").upper()
            if vtype == "POLICY_SET":
                pred, numbers = policy_set_test(data, reg_type)
            else:
                pred, numbers = value_test(data)
            if pred is None or vtype not in ("POLICY_DWORD", "POLICY_SET", ""):
                hint = (
                    f", reg_type {reg_type!r} (POLICY_SET is read as 1 / 0 only for 'Enabled' / "
                    "'Disabled' of a REG_DWORD)"
                    if vtype == "POLICY_SET"
                    else ""
                )
                problems.append(
                    f"not a numeric test: value_type {vtype!r}, value_data {data!r}{hint}"
                )
                exp = expect.other(data)
            else:
                exp = expect.from_predicate(pred, sid, data, mentioned=numbers)
            option = fields.get("reg_option", "").upper()
            absent = {"CAN_BE_NULL": Absent.PASS, "CAN_NOT_BE_NULL": Absent.FAIL}.get(
                option, Absent.UNKNOWN
            )
            targets = (Target(key, item, sid, exp, absent),)
    refs: list[tuple[str, tuple[str, ...]]] = []
    for ref in fields.get("reference", "").split(","):
        fw, sep, ident = ref.partition("|")
        if sep and fw.strip() and ident.strip():
            refs.append((fw.strip(), (ident.strip(),)))
    return ImportedCheck(
        check_id=f"item {index}",
        title=fields.get("description", ""),
        location=f"line {line}",
        targets=targets,
        compliance=tuple(refs),
        problems=tuple(problems),
    )


def parse(data: bytes, name: str) -> ImportedPolicy:
    """Import the items of a Tenable audit file; :class:`ParseError` if there are none."""
    text = decode_text(data, where=name)
    lines = split_lines(text)
    checks: list[ImportedCheck] = []
    problems: list[str] = []
    start: int | None = None
    for number, line in enumerate(lines, 1):
        if _OPEN.match(line):
            if start is not None:
                problems.append(f"line {start}: item not closed before line {number}")
            start = number
        elif _CLOSE.match(line) and start is not None:
            checks.append(_item(_fields(lines[start : number - 1]), len(checks) + 1, start))
            start = None
            if len(checks) >= MAX_ITEMS:
                problems.append(f"stopped after {MAX_ITEMS} items")
                break
    if start is not None:
        problems.append(f"line {start}: item not closed")
    if not checks:
        raise ParseError("not a Tenable audit file (no complete <custom_item>)", where=name)
    group = _GROUP.search(text)
    return ImportedPolicy(
        kind=KIND,
        label=LABEL,
        policy_id=name.replace("\\", "/").rsplit("/", 1)[-1],
        name=group[1] if group else "",
        platform="",
        checks=tuple(checks),
        problems=tuple(problems),
    )

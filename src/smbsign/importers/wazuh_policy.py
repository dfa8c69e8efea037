"""Wazuh SCA policy files (``ruleset/sca/windows/*.yml``), both schemas (docs/reference.md §10.1).

- 4.x: check key ``title``; ``compliance`` a list of one-key maps including ``cis``;
- main / 5.x: check key ``name``; ``compliance`` a map (``nist_800_53``, ...) plus a ``mitre``
  block and **no** ``cis`` key: the CIS id lives only in the ``# 2.3.x.y (L1) ...`` comment
  above each check, so it is read from the raw text.

Every check is reduced to the registry value(s) its rules read and what they accept
(:mod:`smbsign.importers.wazuh_rules`); the check id is kept but never trusted (it drifts
between Wazuh releases, docs/reference.md §8).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import yaml

from smbsign.codecs.text import decode_text, text_head
from smbsign.errors import ParseError
from smbsign.importers.model import ImportedCheck, ImportedPolicy
from smbsign.importers.wazuh_rules import build_check

KIND = "wazuh_policy"
LABEL = "Wazuh SCA policy"

_POLICY_LINE = re.compile(r"^policy:", re.MULTILINE)
_CHECKS_LINE = re.compile(r"^checks:", re.MULTILINE)
_CIS_COMMENT = re.compile(r"^\s*#\s*(\d+(?:\.\d+)+)\b")
_CHECK_ID_LINE = re.compile(r"""^\s*-\s*id:\s*['"]?(\d+)""")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Compliance = tuple[tuple[str, tuple[str, ...]], ...]


def sniff(data: bytes, name: str) -> bool:
    """A YAML document with top-level ``policy:`` and ``checks:`` sections."""
    head = text_head(data, 65536)
    return bool(_POLICY_LINE.search(head) and _CHECKS_LINE.search(head))


def _text(raw: object) -> str:
    """A scalar as text; '' for anything else (a YAML alias bomb must never be str()-ed)."""
    return str(raw) if isinstance(raw, str | int | float | bool) else ""


def _ids(raw: object) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(str(x) for x in raw if isinstance(x, str | int | float))
    if isinstance(raw, str | int | float):
        return (str(raw),)
    return ()


def compliance_of(raw: object) -> Compliance:
    """``compliance`` in either schema as ``((key, ids), ...)``."""
    pairs: list[tuple[str, tuple[str, ...]]] = []
    items: list[object] = list(raw) if isinstance(raw, list) else [raw]
    for item in items:
        if isinstance(item, dict):
            pairs.extend((str(k), _ids(v)) for k, v in item.items())
    return tuple(pairs)


def comment_ids(text: str) -> dict[str, tuple[int, str]]:
    """Check id -> (line number, CIS id from the ``# 2.3.x.y`` comment above it or '')."""
    out: dict[str, tuple[int, str]] = {}
    pending = ""
    for number, line in enumerate(text.splitlines(), 1):
        cm = _CIS_COMMENT.match(line)
        if cm is not None:
            pending = cm[1]
            continue
        im = _CHECK_ID_LINE.match(line)
        if im is not None:
            out.setdefault(im[1], (number, pending))
            pending = ""
    return out


def _load(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ParseError(f"{line}{exc.problem or 'invalid YAML'}", where=where) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ParseError(f"invalid YAML: {str(exc)[:120]}", where=where) from None


def _check(
    raw: object, index: int, where: dict[str, tuple[int, str]], pcre2: bool
) -> ImportedCheck:
    if not isinstance(raw, dict):
        return ImportedCheck(str(index), "", f"check {index}", problems=("check is not a mapping",))
    cid = _text(raw.get("id")).strip() or f"#{index}"
    line, comment_cis = where.get(cid, (0, ""))
    title = raw.get("title") or raw.get("name")
    compliance = compliance_of(raw.get("compliance"))
    cis = next((i for k, ids in compliance if k.lower() == "cis" for i in ids), comment_cis)
    rules = raw.get("rules")
    regex_type = (_text(raw.get("regex_type")) or ("pcre2" if pcre2 else "")).lower()
    check = build_check(
        cid,
        _text(title),
        f"line {line}" if line else f"check {index}",
        rules if isinstance(rules, list) else [],
        _text(raw.get("condition")),
        pcre2=regex_type == "pcre2",
        cis_id=cis,
        compliance=compliance,
    )
    if not isinstance(rules, list) or not rules:
        check = replace(check, problems=(*check.problems, "no rules"))
    return check


def parse(data: bytes, name: str) -> ImportedPolicy:
    """Import a Wazuh SCA policy; :class:`ParseError` if it is not one at all."""
    text = decode_text(data, where=name)
    doc = _load(text, name)
    if not isinstance(doc, dict) or not isinstance(doc.get("policy"), dict):
        raise ParseError("not a Wazuh SCA policy (no 'policy' mapping)", where=name)
    checks_raw = doc.get("checks")
    if not isinstance(checks_raw, list):
        raise ParseError("not a Wazuh SCA policy (no 'checks' list)", where=name)
    policy: dict[Any, Any] = doc["policy"]
    pcre2 = _text(policy.get("regex_type")).lower() == "pcre2"
    req = doc.get("requirements")
    req_rules = req.get("rules") if isinstance(req, dict) else None
    where = comment_ids(text)
    checks = tuple(_check(c, i, where, pcre2) for i, c in enumerate(checks_raw, 1))
    problems: list[str] = []
    seen: set[str] = set()
    for c in checks:
        if c.check_id in seen:
            problems.append(f"check id {c.check_id} appears more than once")
        seen.add(c.check_id)
    policy_id = _text(policy.get("id"))
    return ImportedPolicy(
        kind=KIND,
        label=LABEL,
        policy_id=policy_id,
        name=_text(policy.get("name")),
        platform=policy_id,
        checks=checks,
        requirements=tuple(r for r in (req_rules or []) if isinstance(r, str)),
        problems=tuple(problems),
    )

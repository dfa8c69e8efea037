"""Wazuh SCA registry rules: parse them and work out what a check really tests (pure).

Rule language (Wazuh docs "Creating custom SCA policies"; docs/reference.md §10.1): ``r:KEY`` (the
key exists), ``r:KEY -> VALUE`` (the value exists), ``r:KEY -> VALUE -> CONTENT`` (its data
matches), optional ``not`` prefix; CONTENT is a literal, ``r:REGEX``, ``!r:REGEX`` or
``n:REGEX compare OP NUMBER``, several joined by ``&&``. A check combines its rules with
``condition: all | any | none``.

Instead of pattern-matching rule shapes, :func:`simulate` *evaluates* the check on every state
of the value it reads (key absent, value absent, each value of its domain; ``expect.py``): the
passing values give the normalised expectation and the absent states give the absent-value
semantics (an absent key and an absent value can score differently: ``Target.absent_split``).
``r:^1$|^2$`` and ``n:^(\\d+) compare >= 1`` thus normalise to the same ``>= 1``.
Regexes follow OS_Regex unless the check says ``regex_type: pcre2``; written here because no
library implements OS_Regex (Wazuh ``src/os_regex``), and only the small subset used in
registry rules is needed: patterns are only ever applied to short decimal strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from smbsign.importers import expect
from smbsign.importers.model import Absent, ImportedCheck, Target
from smbsign.regpath import setting_id, split_hive

_RULE = re.compile(r"^\s*(not\s+)?([rcfdp]):(.*)$", re.IGNORECASE | re.DOTALL)
_NUMERIC = re.compile(r"^n:(.*?)\s+compare\s+(<=|>=|==|!=|<|>)\s*(-?\d+)\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w\\])\d{1,10}(?!\w)")
_MAX_PATTERN = 512
MAX_RULES = 256  # per check (real checks have 1-10)
MAX_NUMBERS = 64  # distinct numbers a check's contents may add to the tried values
ContentTest = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule; ``kind`` is the rule type letter (only ``r`` is a registry rule)."""

    text: str
    negated: bool
    kind: str
    key: str = ""
    value: str | None = None
    content: str | None = None


def parse_rule(text: str) -> Rule | None:
    """Parse one rule string; None when it is not a rule at all."""
    m = _RULE.match(text)
    if m is None:
        return None
    negated, kind, body = bool(m[1]), m[2].lower(), m[3]
    if kind != "r":
        return Rule(text, negated, kind)
    parts = [p.strip() for p in body.split(" -> ", 2)]
    key = parts[0]
    if not key:
        return None
    value = parts[1] if len(parts) > 1 and parts[1] else None
    content = parts[2] if len(parts) > 2 and parts[2] else None
    return Rule(text, negated, "r", key, value, content)


# --------------------------------------------------------------------------- regex

_OS_ESCAPES = {
    "d": r"\d",
    "D": r"\D",
    "w": r"[\w@-]",
    "W": r"[^\w@-]",
    "s": r"\s",
    "S": r"\S",
    "p": r"[!-/:-@\[-`{-~]",
    "t": r"\t",
    ".": ".",  # OS_Regex: \. is any character
}


def osregex_to_python(pattern: str) -> str:
    """Translate the OS_Regex subset (``^ $ | * + ( )`` and backslash classes) to ``re``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(_OS_ESCAPES.get(nxt, re.escape(nxt)))
            i += 2
            continue
        out.append(ch if ch in "^$|*+()" else re.escape(ch))
        i += 1
    return "".join(out)


def _compile(pattern: str, pcre2: bool) -> re.Pattern[str]:
    if len(pattern) > _MAX_PATTERN:
        raise ValueError(f"regex longer than {_MAX_PATTERN} characters")
    try:
        return re.compile(pattern if pcre2 else osregex_to_python(pattern), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad regex {pattern!r}: {exc}") from None


def _numeric(rx: re.Pattern[str], cmp: expect.Predicate) -> ContentTest:
    def test(data: str) -> bool:
        m = rx.search(data)
        if m is None:
            return False
        n = expect.parse_int(m.group(1) if rx.groups else m.group(0))
        return n is not None and cmp(n)

    return test


def _regex(rx: re.Pattern[str], negated: bool) -> ContentTest:
    return lambda data: (rx.search(data) is None) == negated


def _literal(text: str) -> ContentTest:
    return lambda data: data.strip().lower() == text.lower()


def content_test(content: str, *, pcre2: bool = False) -> ContentTest:
    """A test of a value's data (decimal text for a DWORD); ValueError if it cannot be read."""
    tests: list[ContentTest] = []
    for raw in content.split(" && "):
        part = raw.strip()
        num = _NUMERIC.match(part)
        if num is not None:
            cmp = expect.compare(num[2], int(num[3]))
            if cmp is None:  # pragma: no cover (the pattern only admits known operators)
                raise ValueError(f"unknown operator {num[2]!r}")
            tests.append(_numeric(_compile(num[1].strip(), pcre2), cmp))
        elif part.lower().startswith(("r:", "!r:")):
            neg = part.startswith("!")
            tests.append(_regex(_compile(part[3:] if neg else part[2:], pcre2), neg))
        elif part.lower().startswith("n:"):
            raise ValueError(f"numeric content without 'compare OP N': {part!r}")
        else:
            tests.append(_literal(part))
    return lambda data: all(t(data) for t in tests)


# ----------------------------------------------------------------------- semantics

KEY_ABSENT = "key absent"
VALUE_ABSENT = "value absent"
State = int | str  # a DWORD value, or one of the two absent states


def _truth(rule: Rule, test: ContentTest | None, state: State) -> bool:
    if state == KEY_ABSENT:
        hit = False
    elif rule.value is None:
        hit = True  # r:KEY with the key present
    elif state == VALUE_ABSENT:
        hit = False
    else:
        hit = test(str(state)) if test is not None else True
    return hit != rule.negated


def combine(condition: str, truths: Sequence[bool]) -> bool:
    """Wazuh ``condition`` over rule results (unknown conditions behave like ``all``)."""
    if condition == "any":
        return any(truths)
    if condition == "none":
        return not any(truths)
    return bool(truths) and all(truths)


def key_ids(rules: Sequence[Rule]) -> dict[str, str]:
    """Each registry rule's key as written -> its canonical id (``setting_id(key, "")``, which
    ends in a backslash: ``setting_id(key, value)`` is that id plus the lower-cased value)."""
    return {r.key: setting_id(r.key, "") for r in rules if r.kind == "r"}


def targets_of(
    rules: Sequence[Rule], ids: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(key, value) pairs the registry rules read a value of, in first-seen order
    (``ids``: :func:`key_ids` of ``rules``, computed when not given)."""
    kid = key_ids(rules) if ids is None else ids
    seen: dict[str, tuple[str, str]] = {}
    for r in rules:
        if r.kind == "r" and r.value is not None:
            seen.setdefault(kid[r.key] + r.value.lower(), (r.key, r.value))
    return list(seen.values())


def simulate(
    rules: Sequence[Rule],
    condition: str,
    key: str,
    value: str,
    *,
    pcre2: bool = False,
    ids: Mapping[str, str] | None = None,
) -> tuple[Target, list[str]]:
    """What the check tests about ``key -> value``: a :class:`Target` and problems.

    Only rules about that key (and that value or none) take part; rules about other keys are
    the caller's concern (``mixed`` checks are linted). ``ids``: :func:`key_ids` of ``rules``
    (computed when not given).
    """
    problems: list[str] = []
    kid = key_ids(rules) if ids is None else ids
    want = kid[key] if key in kid else setting_id(key, "")
    sid = want + value.lower()
    mine: list[tuple[Rule, ContentTest | None]] = []
    for r in rules:
        if r.kind != "r" or kid[r.key] != want:
            continue
        if r.value is not None and r.value.lower() != value.lower():
            continue
        test: ContentTest | None = None
        if r.content is not None:
            try:
                test = content_test(r.content, pcre2=pcre2)
            except ValueError as exc:
                problems.append(f"cannot read rule {r.text[:100]!r}: {exc}")
                test = lambda _d: False  # noqa: E731 (an unreadable content never matches)
        mine.append((r, test))

    def passes(state: State) -> bool:
        return combine(condition, [_truth(r, t, state) for r, t in mine])

    written = [r.content for r, _ in mine if r.content is not None and not r.negated]
    numbers = sorted({int(n) for r, _ in mine for n in _NUMBER.findall(r.content or "")})
    if len(numbers) > MAX_NUMBERS:
        problems.append(f"{len(numbers)} numbers in the rules: only {MAX_NUMBERS} are tried")
        numbers = numbers[:MAX_NUMBERS]
    dom = expect.domain_for(sid, numbers)
    exp = expect.normalise((v for v in dom if passes(v)), dom, " && ".join(written))
    key_absent = Absent.PASS if passes(KEY_ABSENT) else Absent.FAIL
    value_absent = Absent.PASS if passes(VALUE_ABSENT) else Absent.FAIL
    # A check that scores a missing key and a missing value differently is written that way
    # (``not r:KEY`` without ``not r:KEY -> VALUE``): rule logic for the linter, not a problem
    # reading the file. What an absent value scores then depends on the key: unknown.
    split = None if key_absent is value_absent else (key_absent, value_absent)
    absent = value_absent if split is None else Absent.UNKNOWN
    hive, _ = split_hive(key)
    if not hive:
        problems.append(f"registry key without a hive: {key!r}")
    return Target(key, value, sid, exp, absent, absent_split=split), problems


def build_check(
    check_id: str,
    title: str,
    location: str,
    rule_texts: Sequence[object],
    condition: str,
    *,
    pcre2: bool = False,
    cis_id: str = "",
    compliance: tuple[tuple[str, tuple[str, ...]], ...] = (),
    result: str = "",
    reason: str = "",
) -> ImportedCheck:
    """An :class:`ImportedCheck` from a Wazuh check's rules."""
    problems: list[str] = []
    rules: list[Rule] = []
    texts: list[str] = []
    if len(rule_texts) > MAX_RULES:
        problems.append(f"{len(rule_texts)} rules: only the first {MAX_RULES} are read")
    for raw in rule_texts[:MAX_RULES]:
        if not isinstance(raw, str):
            problems.append(f"rule is not a string ({type(raw).__name__})")
            continue
        texts.append(raw)
        rule = parse_rule(raw)
        if rule is None:
            problems.append(f"not a Wazuh rule: {raw[:80]!r}")
        else:
            rules.append(rule)
    cond = condition.strip().lower()
    if cond not in ("all", "any", "none"):
        problems.append(f"unknown condition {condition!r} (all, any or none)")
    targets: list[Target] = []
    ids = key_ids(rules)
    for key, value in targets_of(rules, ids):
        target, found = simulate(rules, cond, key, value, pcre2=pcre2, ids=ids)
        targets.append(target)
        problems.extend(found)
    return ImportedCheck(
        check_id=check_id,
        title=title,
        location=location,
        targets=tuple(targets),
        condition=cond,
        rules=tuple(texts),
        cis_id=cis_id,
        compliance=compliance,
        result=result,
        reason=reason,
        problems=tuple(problems),
    )

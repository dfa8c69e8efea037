"""Normalised expectations: every spelling of "which values pass" becomes the same set.

Checklists write the same requirement many ways: Wazuh ``-> 1``, ``-> r:^1$|^2$``,
``-> n:^(\\d+) compare >= 1``; HardeningKitty ``Operator >=``; Tenable ``[1..MAX]``. Each is
turned into a predicate, evaluated over the value's *domain* (the data Windows accepts for it),
and the passing set is named (:func:`normalise`). The domains are the catalog's: each
control's ``check.registry.allowed`` (docs/catalog.md). With the domain of
``SmbServerNameHardeningLevel`` being 0-2 (reference.md §1.3), ``r:^1$|^2$`` and ``>= 1`` are both
``{1, 2}``, i.e. ``>= 1``. Values without a recorded domain are tried on 0-9 and 2**32-1.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from functools import lru_cache

from smbsign.catalog.schema import Expect
from smbsign.catalog.values import domains
from smbsign.importers.model import Expectation
from smbsign.regpath import setting_id

_BOOL = (0, 1)

#: A setting no catalog control reads, with the data Windows gives it meaning (docs/reference.md
#: §1.3: Netlogon ``RequireSignOrSeal``, a Security Option, REG_DWORD 0 / 1). Every other domain
#: is the catalog's: each control's ``check.registry.allowed``.
OUTSIDE_CATALOG: dict[str, tuple[int, ...]] = {
    setting_id(
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters", "RequireSignOrSeal"
    ): _BOOL,
}


@lru_cache(maxsize=1)
def _domains() -> dict[str, tuple[int, ...]]:
    """Setting id -> the data Windows gives meaning to: the packaged catalog's ``allowed``."""
    from smbsign.catalog import load_catalog  # lazy: the catalog is read on first use

    return {**OUTSIDE_CATALOG, **domains(load_catalog().controls.values())}


GENERIC: tuple[int, ...] = (*range(10), 0xFFFFFFFF)

Predicate = Callable[[int], bool]
COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def domain_for(setting: str, mentioned: Iterable[int] = ()) -> tuple[int, ...]:
    """The values tried for ``setting`` (canonical id): its recorded domain, else 0-9,
    2**32-1 and every number the test mentions with its neighbours (so ``<= 15`` stays
    ``<= 15``)."""
    known = _domains().get(setting.lower())
    if known is not None:
        return known
    near = {m + d for m in mentioned for d in (-1, 0, 1) if 0 <= m + d <= 0xFFFFFFFF}
    return tuple(sorted(set(GENERIC) | near))


def is_boolean(setting: str) -> bool:
    """True for 0/1 values (where 'Enabled' means 1 and 'Disabled' 0, docs/reference.md §1.1)."""
    return _domains().get(setting.lower()) == _BOOL


def normalise(passing: Iterable[int], domain: tuple[int, ...], text: str = "") -> Expectation:
    """Name the set of passing values within ``domain``."""
    dom = sorted(set(domain))
    got = sorted(set(passing) & set(dom))
    ps = frozenset(got)
    if not got:
        return Expectation("none", (), ps, text)
    if got == dom:
        return Expectation("any", (), ps, text)
    if len(got) == 1:
        return Expectation("equals", (got[0],), ps, text)
    if got == [v for v in dom if v >= got[0]]:
        return Expectation("at_least", (got[0],), ps, text)
    if got == [v for v in dom if v <= got[-1]]:
        return Expectation("at_most", (got[-1],), ps, text)
    return Expectation("one_of", tuple(got), ps, text)


def from_predicate(
    pred: Predicate, setting: str, text: str = "", mentioned: Iterable[int] = ()
) -> Expectation:
    """Normalise a predicate over the domain of ``setting``."""
    dom = domain_for(setting, mentioned)
    return normalise((v for v in dom if pred(v)), dom, text)


def other(text: str) -> Expectation:
    """A test that is not numeric (a string compare, an unparsed operator)."""
    return Expectation("other", (), frozenset(), text)


def compare(op: str, bound: int) -> Predicate | None:
    """``value <op> bound`` as a predicate, None for an unknown operator."""
    fn = COMPARE.get(op.strip())
    if fn is None:
        return None
    return lambda v: fn(v, bound)


def equal_to(n: int) -> Predicate:
    """``value == n``."""
    return lambda v: v == n


def between(low: int | None, high: int | None) -> Predicate:
    """``low <= value <= high`` (None: unbounded)."""
    return lambda v: (low is None or v >= low) and (high is None or v <= high)


def parse_int(text: object) -> int | None:
    """A decimal (or 0x hex) integer, None for anything else (bools are not integers)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if not isinstance(text, str):
        return None
    s = text.strip().strip('"').strip()
    try:
        return int(s, 16) if s.lower().startswith("0x") else int(s, 10)
    except ValueError:
        return None


def control_expectation(expect: Expect, setting: str) -> Expectation | None:
    """A catalog control's expectation normalised the same way (None if not numeric)."""
    if isinstance(expect.equals, bool):  # a cmdlet property: $true / $false are 1 / 0
        flag = int(expect.equals)
        return from_predicate(lambda v: v == flag, setting)
    if expect.equals is not None:
        want = parse_int(expect.equals)
        return None if want is None else from_predicate(lambda v: v == want, setting)
    if expect.at_least is not None:
        low = expect.at_least
        return from_predicate(lambda v: v >= low, setting)
    if expect.one_of:
        ints = {parse_int(x) for x in expect.one_of}
        if None in ints:
            return None
        return from_predicate(lambda v: v in ints, setting)
    return None

"""What changed between two runs (``smbsign diff A B``): A is the older, B the newer.

Hosts are compared per ``host:port`` by their signing verdict (docs/reference.md §5.9), controls per
``host×control`` by status. Categories:

- ``regressed``: now bad (relayable / ``fail``) and was not bad before;
- ``fixed``: was bad and is now good (signing required / ``pass``);
- ``appeared`` / ``vanished``: only in B / only in A (with their state);
- ``changed``: any other change of state (e.g. required -> unknown): not proof of either.

``Diff.worse`` is true when something regressed or appeared bad (``smbsign diff`` exits 1).
An interrupted run (``complete`` false) lacks the hosts it did not reach: they show as
vanished or appeared, which ``incomplete_warning`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smbsign.model import Status
from smbsign.run import Run
from smbsign.verdict import RELAYABLE, Verdict, verdict

_BAD = frozenset({*(v.value for v in RELAYABLE), Status.FAIL.value})
_GOOD = frozenset({Verdict.REQUIRED.value, Status.PASS.value})
CATEGORIES = ("regressed", "fixed", "appeared", "vanished", "changed")


@dataclass(frozen=True, slots=True)
class Change:
    scope: str  # "host" (a scanned port) or "control" (a host×control finding)
    host: str
    item: str  # the port for hosts, the control id for controls
    before: str | None  # verdict or status in A (None: absent)
    after: str | None  # verdict or status in B

    @property
    def bad_after(self) -> bool:
        return self.after in _BAD


@dataclass(frozen=True, slots=True)
class Diff:
    a: str
    b: str
    regressed: tuple[Change, ...] = ()
    fixed: tuple[Change, ...] = ()
    appeared: tuple[Change, ...] = ()
    vanished: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    a_complete: bool = True
    b_complete: bool = True

    @property
    def worse(self) -> bool:
        return bool(self.regressed) or any(c.bad_after for c in self.appeared)

    def category(self, name: str) -> tuple[Change, ...]:
        value: tuple[Change, ...] = getattr(self, name)
        return value

    def incomplete_warning(self) -> str | None:
        """One line naming the interrupted run(s) compared, or None when both completed."""
        runs = [rid for rid, ok in ((self.a, self.a_complete), (self.b, self.b_complete)) if not ok]
        if not runs:
            return None
        which = " and ".join(runs)
        return (
            f"run {which} {'is' if len(runs) == 1 else 'are'} incomplete (interrupted): "
            "hosts not reached show as vanished or appeared"
        )


def _classify(before: str | None, after: str | None) -> str | None:
    if before is None:
        return "appeared"
    if after is None:
        return "vanished"
    if before == after:
        return None
    if after in _BAD and before not in _BAD:
        return "regressed"
    if before in _BAD and after in _GOOD:
        return "fixed"
    return "changed"


def _states(run: Run) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for r in run.records:
        out[("host", r.target, str(r.port))] = verdict(r).value
    for f in run.findings:
        key = ("control", f.host, f.control)
        # Duplicate host×control in one run: keep the worse (fail beats the rest).
        if out.get(key) != Status.FAIL.value:
            out[key] = f.status.value
    return out


def diff_runs(a: Run, b: Run) -> Diff:
    sa, sb = _states(a), _states(b)
    buckets: dict[str, list[Change]] = {c: [] for c in CATEGORIES}
    for key in sorted(set(sa) | set(sb)):
        before, after = sa.get(key), sb.get(key)
        cat = _classify(before, after)
        if cat is not None:
            buckets[cat].append(Change(key[0], key[1], key[2], before, after))
    return Diff(
        a.id,
        b.id,
        **{c: tuple(v) for c, v in buckets.items()},
        a_complete=a.complete,
        b_complete=b.complete,
    )


def diff_to_dict(d: Diff) -> dict[str, Any]:
    return {
        "a": d.a,
        "b": d.b,
        "worse": d.worse,
        "a_complete": d.a_complete,
        "b_complete": d.b_complete,
        **{
            c: [
                {
                    "scope": x.scope,
                    "host": x.host,
                    "item": x.item,
                    "before": x.before,
                    "after": x.after,
                }
                for x in d.category(c)
            ]
            for c in CATEGORIES
        },
    }


def headline(d: Diff) -> str:
    """``A -> B: n regressed, n fixed, ...`` (and the incomplete-run warning, if any)."""
    counts = ", ".join(f"{len(d.category(c))} {c}" for c in CATEGORIES)
    warning = d.incomplete_warning()
    return f"{d.a} -> {d.b}: {counts}" + (f" (warning: {warning})" if warning else "")

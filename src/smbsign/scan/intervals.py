"""Sets of integers as sorted lists of disjoint closed intervals ``[(lo, hi), ...]``.

The target expander keeps its exclusions and the addresses it has already yielded this way
(an IPv4 or IPv6 address is an integer), so a /8 minus its holes is a few intervals, not
millions of addresses.
"""

from __future__ import annotations

import bisect

__all__ = ["covers", "merge_into", "span", "subtract"]


def merge_into(intervals: list[tuple[int, int]], lo: int, hi: int) -> None:
    """Insert [lo, hi] into a sorted list of disjoint intervals, merging neighbours."""
    i = bisect.bisect_left(intervals, (lo, lo))
    if i > 0 and intervals[i - 1][1] >= lo - 1:
        i -= 1
    j = i
    while j < len(intervals) and intervals[j][0] <= hi + 1:
        lo = min(lo, intervals[j][0])
        hi = max(hi, intervals[j][1])
        j += 1
    intervals[i:j] = [(lo, hi)]


def covers(intervals: list[tuple[int, int]], value: int) -> bool:
    """Whether ``value`` is in one of the sorted disjoint ``intervals``."""
    i = bisect.bisect_right(intervals, (value, 1 << 129))
    return i > 0 and intervals[i - 1][1] >= value


def subtract(lo: int, hi: int, holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of [lo, hi] not covered by the sorted disjoint ``holes``."""
    parts: list[tuple[int, int]] = []
    i = max(bisect.bisect_right(holes, (lo, 1 << 129)) - 1, 0)
    cur = lo
    while i < len(holes) and cur <= hi:
        h_lo, h_hi = holes[i]
        if h_hi >= cur:
            if h_lo > hi:
                break
            if h_lo > cur:
                parts.append((cur, h_lo - 1))
            cur = h_hi + 1
        i += 1
    if cur <= hi:
        parts.append((cur, hi))
    return parts


def span(parts: list[tuple[int, int]]) -> int:
    """How many integers the disjoint ``parts`` hold."""
    return sum(hi - lo + 1 for lo, hi in parts)

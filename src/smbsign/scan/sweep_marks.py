"""When is a swept target's fate known: the progress marks a sweep leaves (docs/scan.md "Sweep").

The last pass of a sweep leaves a mark every so many targets (how many it has handled, and
when); target ``index`` is settled once a mark with a larger count is ``timeout`` old, so
:func:`~smbsign.scan.sweep_classify.classify` writes records while the sweep is still sending,
``timeout`` behind it. Shared by the in-process :class:`~smbsign.scan.sweep.Sweep` and the
parent's view of a sweep run in a child process (:mod:`smbsign.scan.sweep_fork`).
"""

from __future__ import annotations

import asyncio
import collections

from smbsign.scan.sweep_result import SweepError

__all__ = ["Marks"]

SETTLED_ALL = 1 << 62  # the count of the last mark: every target is settled


class Marks:
    """Progress marks of a sweep's last pass, and :meth:`settled` to wait on them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.wait_after = timeout
        self.marks: collections.deque[tuple[int, float]] = collections.deque()
        self.progress = asyncio.Event()
        self.ready = 0  # targets before this index are settled
        self.finished = False
        self.error: SweepError | None = None

    def _mark_at(self, count: int, when: float) -> None:
        """The last pass had handled ``count`` targets at loop time ``when``."""
        self.marks.append((count, when))
        self.progress.set()

    def _pull(self) -> None:
        """Take in what the sweep learned so far (a child process: its reports)."""

    async def settled(self, index: int) -> None:
        """Wait until the ``index``-th target (from 0) has had all its SYNs and ``timeout``."""
        while index >= self.ready:
            self._pull()
            if self.error is not None:
                raise self.error
            if self.finished:
                self.ready = SETTLED_ALL
                return
            if not self.marks:
                self.progress.clear()
                await self.progress.wait()
                continue
            count, when = self.marks[0]
            wait = when + self.wait_after - self.loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                self._pull()  # answers that came in meanwhile count before the target settles
            self.ready = max(self.ready, count)
            self.marks.popleft()

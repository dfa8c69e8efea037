"""The SYN sweep run by a child process (scan/sweep_fork.py): the report pipe, errors, cleanup.

Real forks, no packets: the child's sweep is given no raw sockets (``_Sockets.open`` says no)
or is replaced by a stand-in, so these run anywhere; the packet path of the forked sweep is
exercised against the real lab by tests/lab/test_sweep_lab.py and every lab scan (``smbsign
scan`` sweeps in a child by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from smbsign.scan import sweep_fork
from smbsign.scan.sweep import Sweep
from smbsign.scan.sweep_fork import ForkedSweep, start_sweep
from smbsign.scan.sweep_result import SweepError, SweepOptions
from smbsign.scan.sweep_sockets import _Sockets
from smbsign.scan.targets import Target

OPTS = SweepOptions((445, 139), 1e6, 0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _run(targets: list[Target]) -> ForkedSweep:
    """A forked sweep of ``targets``, run to its end (or its error) on a fresh loop."""
    made: list[ForkedSweep] = []

    async def go() -> None:
        made.append(ForkedSweep(OPTS, asyncio.get_running_loop()))
        await made[0].run(lambda: iter(targets))

    try:
        asyncio.run(go())
    finally:
        assert not made or made[0].finished
    return made[0]


@pytest.fixture
def pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children the sweep forks."""
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(sweep_fork.os, "fork", fork)
    return forked


def test_child_reports_unswept_families_and_is_reaped(
    monkeypatch: pytest.MonkeyPatch, pids: list[int]
) -> None:
    """Without raw sockets the child sends nothing and says so per family; the parent's result
    mirrors it, settles every target, and the child is gone."""
    monkeypatch.setattr(_Sockets, "open", lambda self, family: False)

    async def go() -> ForkedSweep:
        sweep = ForkedSweep(OPTS, asyncio.get_running_loop())
        res = await sweep.run(lambda: iter([Target("192.0.2.1"), Target("2001:db8::1")]))
        assert res is sweep.result
        await sweep.settled(10**6)  # finished: returns at once
        return sweep

    sweep = asyncio.run(go())
    assert sweep.result.unswept == {socket.AF_INET, socket.AF_INET6}
    assert sweep.result.sent == 0
    assert sweep.finished and sweep.error is None
    assert len(pids) == 1 and _gone(pids[0])


def test_answers_reach_the_parent_before_the_mark_that_settles_them() -> None:
    """The child flushes queued answers ahead of each mark: one ordered stream."""

    async def go() -> list[str]:
        read, write = os.pipe()
        child = sweep_fork._ChildSweep(OPTS, asyncio.get_running_loop(), write)
        try:
            child.result.mark("192.0.2.7", 139, 1)
            child.result.refuse("192.0.2.9")
            child.result.unswept.add(socket.AF_INET6)
            child._mark(256)
            child.flush("D\n")
        finally:
            child.holder.close()
            os.close(write)
        with os.fdopen(read) as fh:
            return fh.read().splitlines()

    lines = asyncio.run(go())
    assert lines[:3] == ["A 192.0.2.7 139 1", "R 192.0.2.9", f"W {int(socket.AF_INET6)}"]
    assert lines[3].startswith("M 256 ") and float(lines[3].split()[2]) > 0
    assert lines[4:] == ["D"]


def _with_child_main(monkeypatch: pytest.MonkeyPatch, body: object) -> None:
    monkeypatch.setattr(sweep_fork, "_child_main", body)


def test_a_sweep_error_in_the_child_is_raised_in_the_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fails(opts: SweepOptions, targets: object, fd: int, parent: int) -> None:
        os.write(fd, b"A 192.0.2.1 445 1\nE SYN sweep failed: Operation not permitted\n")

    _with_child_main(monkeypatch, fails)
    seen: list[ForkedSweep] = []
    real_init = ForkedSweep.__init__

    def init(self: ForkedSweep, opts: SweepOptions, loop: asyncio.AbstractEventLoop) -> None:
        real_init(self, opts, loop)
        seen.append(self)

    monkeypatch.setattr(ForkedSweep, "__init__", init)
    with pytest.raises(SweepError, match=r"^SYN sweep failed: Operation not permitted$"):
        _run([])
    assert seen[0].result.answers == {"192.0.2.1": 1}
    assert seen[0].finished


def test_a_crash_in_the_child_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    async def crashes(opts: SweepOptions, targets: object, fd: int, parent: int) -> None:
        raise RuntimeError("bad\nthing")

    _with_child_main(monkeypatch, crashes)
    with pytest.raises(SweepError, match=r"^SYN sweep process: bad thing$"):
        _run([])


def test_a_child_that_dies_without_a_result_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def dies(opts: SweepOptions, targets: object, fd: int, parent: int) -> None:
        os._exit(3)

    _with_child_main(monkeypatch, dies)
    with pytest.raises(SweepError, match="ended without a result"):
        _run([])


@pytest.mark.parametrize(
    "report",
    [b"Z what\n", b"A 192.0.2.1 445\n", b"M many 1.0\n", b"W 99\n", b"x" * 5000],
)
def test_an_unreadable_report_ends_the_sweep_with_an_error(
    monkeypatch: pytest.MonkeyPatch, report: bytes
) -> None:
    async def garbles(opts: SweepOptions, targets: object, fd: int, parent: int) -> None:
        os.write(fd, report)
        await asyncio.sleep(30)  # the parent must not wait for this

    _with_child_main(monkeypatch, garbles)
    with pytest.raises(SweepError, match="unreadable report"):
        _run([])


def test_cancelling_the_parent_ends_the_child(
    monkeypatch: pytest.MonkeyPatch, pids: list[int]
) -> None:
    """Ctrl-C or SIGTERM cancels the scan task: the child is terminated and reaped."""

    async def hangs(opts: SweepOptions, targets: object, fd: int, parent: int) -> None:
        os.write(fd, b"M 0 1.0\n")
        await asyncio.sleep(3600)

    _with_child_main(monkeypatch, hangs)

    async def go() -> None:
        sweep = ForkedSweep(OPTS, asyncio.get_running_loop())
        task = asyncio.create_task(sweep.run(lambda: iter([])))
        while not sweep.marks:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(go(), 20))
    assert len(pids) == 1 and _gone(pids[0])


def test_the_child_ends_when_the_scan_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan killed with SIGKILL cannot end its child: the child notices within 0.2 s
    (between reports) and exits instead of sending on."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the "scan": forks the sweep child, says its pid, then dies at once
        os.close(read)
        grandchild = os.fork()
        if grandchild == 0:
            os.close(write)

            async def forever(self: Sweep, targets: object) -> None:
                await asyncio.sleep(3600)  # a sweep that would not end by itself

            monkeypatch.setattr(Sweep, "run", forever)
            sweep_fork._child(
                OPTS, lambda: iter([]), os.open(os.devnull, os.O_WRONLY), os.getppid()
            )
        os.write(write, f"{grandchild}\n".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        grandchild = int(fh.readline())
    os.waitpid(pid, 0)
    try:
        for _ in range(500):  # up to 5 s; the child checks every 0.2 s
            if _gone(grandchild):
                break
            time.sleep(0.01)
        assert _gone(grandchild)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)  # never left behind, even when this fails


def test_start_sweep_forks_unless_told_not_to() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(start_sweep(OPTS, loop), ForkedSweep)
        inproc = start_sweep(SweepOptions((445,), 1.0, 1.0, fork=False), loop)
        assert isinstance(inproc, Sweep)
        inproc.holder.close()
    finally:
        loop.close()


@pytest.fixture(autouse=True)
def _no_leftover_children() -> Iterator[None]:
    yield
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return
    assert pid == 0, "a child was left unreaped"

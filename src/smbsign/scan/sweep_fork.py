"""The SYN sweep in a child process: sending and writing records on two cores (issue #10).

In one process a large sweep is CPU-bound: every address costs two SYNs (a route lookup, a
cookie, a segment and a send each) and then one record, about 45 µs of Python on this
project's 2-core test machine, so a /12 at ``--rate 100000`` took 45 s instead of the 22 s
its packets need. Here the sweep (:class:`~smbsign.scan.sweep.Sweep`, unchanged: it sends and
reads the replies) runs in a forked child on its own event loop, and the parent only
classifies and probes. ``os.fork`` rather than a new interpreter: the child inherits the lazy
target source as it is (files already read, exclusions, ``-iL`` formats), and nothing about
the targets has to be serialised.

The child reports to the parent over a pipe, one ASCII line per event, in the order it learns
them (so an answer always arrives before the mark that settles its target):

    A <address> <port> <bit>   an answer (:meth:`SweepResult.mark`)
    R <address>                the kernel refused a SYN (:meth:`SweepResult.refuse`)
    W <family>                 raw sockets of that address family could not be opened
    M <count> <time>           the last pass has handled <count> targets (``time.monotonic``)
    S <sent>                   SYNs sent in all, at the end
    E <message>                the sweep failed (one line)
    D                          done

The parent mirrors them into its own :class:`SweepResult` and :class:`Marks`; the pipe is
read whenever the parent's loop runs and once more before a target is declared settled. The
child never outlives the sweep: it ignores Ctrl-C (the parent cancels and ends it), is sent
SIGTERM when the parent's task ends early, and dies on its next report (EPIPE) if the parent
is gone (and within 0.2 s even between reports). Where ``os.fork`` does not exist, the sweep
runs in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable

from smbsign.scan.sweep import Sweep
from smbsign.scan.sweep_marks import Marks
from smbsign.scan.sweep_result import SweepError, SweepOptions, SweepResult
from smbsign.scan.targets import Target

__all__ = ["ForkedSweep", "start_sweep"]

_REAP_SECONDS = 5.0  # a child that does not end this long after its last report is killed
_READ = 1 << 16
_MAX_LINE = 1024  # no report line is longer; a longer one is a broken child
_FAMILIES = {socket.AF_INET, socket.AF_INET6}
_WATCH_SECONDS = 0.2  # how often the child checks that the scan is still there


class _ReportingResult(SweepResult):
    """The child's result: every answer and refusal is also queued as a report line."""

    __slots__ = ("lines",)

    def __init__(self, ports: tuple[int, ...], timeout: float, tries: int) -> None:
        super().__init__(ports, timeout, tries=tries)
        self.lines: list[str] = []

    def mark(self, address: str, port: int, bit: int) -> None:
        super().mark(address, port, bit)
        self.lines.append(f"A {address} {port} {bit}\n")

    def refuse(self, address: str) -> None:
        super().refuse(address)
        self.lines.append(f"R {address}\n")


class _ChildSweep(Sweep):
    """The sweep as the child runs it: reports flushed to ``fd`` before every mark and at
    the end (answers come in between marks, so the parent has them before it settles)."""

    def __init__(self, opts: SweepOptions, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        super().__init__(opts, loop)
        self.fd = fd
        self.reports = _ReportingResult(opts.ports, opts.timeout, 1 + opts.retries)
        self.result = self.reports
        self.unswept_told: set[int] = set()

    def flush(self, tail: str = "") -> None:
        unswept = self.reports.unswept
        lines = self.reports.lines
        lines += [f"W {int(f)}\n" for f in sorted(unswept - self.unswept_told)]
        self.unswept_told |= unswept
        data = ("".join(lines) + tail).encode("ascii")
        lines.clear()
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def _mark(self, count: int) -> None:
        super()._mark(count)
        self.flush(f"M {count} {self.loop.time()!r}\n")

    def _drain(self, sock: socket.socket, handle: Callable[[bytes, str], None]) -> None:
        super()._drain(sock, handle)
        if self.reports.lines:
            self.flush()


def _watch_parent(loop: asyncio.AbstractEventLoop, parent: int) -> None:
    """End the child at once when the scan that forked it is gone (it would otherwise send
    until its next report, a whole first pass later)."""
    if os.getppid() != parent:
        os._exit(1)
    loop.call_later(_WATCH_SECONDS, _watch_parent, loop, parent)


async def _child_main(
    opts: SweepOptions, targets: Callable[[], Iterable[Target]], fd: int, parent: int
) -> None:
    loop = asyncio.get_running_loop()
    _watch_parent(loop, parent)
    sweep = _ChildSweep(opts, loop, fd)
    try:
        result = await sweep.run(targets)
    except SweepError as exc:
        sweep.flush(f"E {_one_line(str(exc))}\n")
        return
    sweep.flush(f"S {result.sent}\nD\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200] or "SYN sweep failed"


def _child(
    opts: SweepOptions, targets: Callable[[], Iterable[Target]], fd: int, parent: int
) -> None:
    """The forked child: run the sweep, report, and leave with ``os._exit`` (never returns:
    no buffer, handler or ``atexit`` of the parent's runs twice)."""
    code = 1
    try:
        gc.freeze()  # the parent's objects are never finalised here (no buffer flushed twice)
        signal.set_wakeup_fd(-1)  # the parent's loop owns that pipe
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent ends this process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        asyncio.run(_child_main(opts, targets, fd, parent))
        code = 0
    except BaseException as exc:  # noqa: BLE001 (the child must end here, whatever happened)
        with contextlib.suppress(OSError):
            why = _one_line(str(exc) or type(exc).__name__)
            os.write(fd, f"E SYN sweep process: {why}\n".encode("ascii", "replace"))
    finally:
        os._exit(code)


class ForkedSweep(Marks):
    """The parent's view of a sweep run by a child process (same face as :class:`Sweep`)."""

    def __init__(self, opts: SweepOptions, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop, opts.timeout)
        self.opts = opts
        self.result = SweepResult(opts.ports, opts.timeout, tries=1 + opts.retries)
        self._fd = -1
        self._pending = b""
        self._done: asyncio.Future[None] | None = None
        self._said_done = False  # the child reported D: it is about to exit by itself

    async def run(self, targets: Callable[[], Iterable[Target]]) -> SweepResult:
        """Fork the sweep, mirror its reports until it is done; the child is reaped here."""
        self._done = self.loop.create_future()
        read, write = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read)
            os.close(write)
            self.error = SweepError(f"SYN sweep failed: cannot start its process: {exc.strerror}")
            self.finished = True
            self.progress.set()
            raise self.error from exc
        if pid == 0:  # pragma: no cover (the child; it ends in os._exit)
            os.close(read)
            _child(self.opts, targets, write, parent)
        os.close(write)
        os.set_blocking(read, False)
        self._fd = read
        self.loop.add_reader(read, self._pull)
        try:
            await self._done
        finally:
            self.loop.remove_reader(read)
            self._pull()
            os.close(read)
            self._fd = -1
            _reap(pid, gently=self._said_done)
            self.finished = True
            self.progress.set()
        if self.error is not None:
            raise self.error
        return self.result

    def _pull(self) -> None:
        """Read and apply what the child has reported so far (non-blocking)."""
        if self._fd < 0:
            return
        while True:
            try:
                data = os.read(self._fd, _READ)
            except BlockingIOError:
                return
            except OSError as exc:
                self._end(SweepError(f"SYN sweep process: {exc.strerror}"))
                return
            if not data:
                self._end(SweepError("SYN sweep process ended without a result"))
                return
            *lines, self._pending = (self._pending + data).split(b"\n")
            if len(self._pending) > _MAX_LINE:
                self._end(SweepError("SYN sweep process sent an unreadable report"))
                return
            for line in lines:
                self._apply(line)

    def _end(self, error: SweepError | None) -> None:
        if self._done is not None and not self._done.done():
            if error is not None and self.error is None:
                self.error = error
            self._done.set_result(None)

    def _apply(self, line: bytes) -> None:
        kind, _, rest = line.decode("ascii", "replace").partition(" ")
        try:
            known = self._apply_words(kind, rest)
        except ValueError:
            known = False
        if not known:
            self._end(SweepError("SYN sweep process sent an unreadable report"))

    def _apply_words(self, kind: str, rest: str) -> bool:
        words = rest.split(" ")
        if kind == "A" and len(words) == 3:
            self.result.mark(words[0], int(words[1]), int(words[2]))
        elif kind == "M" and len(words) == 2:
            self._mark_at(int(words[0]), float(words[1]))
        elif kind == "R" and len(words) == 1:
            self.result.refuse(words[0])
        elif kind == "W" and len(words) == 1 and int(words[0]) in _FAMILIES:
            self.result.unswept.add(int(words[0]))
        elif kind == "S" and len(words) == 1:
            self.result.sent = int(words[0])
        elif kind == "E":
            self._end(SweepError(rest or "SYN sweep failed"))
        elif kind == "D" and not rest:
            self._said_done = True
            self._end(None)
        else:
            return False
        return True


def _reap(pid: int, *, gently: bool) -> None:
    """Wait for the child. ``gently`` (it reported done): it gets a while to exit first;
    otherwise, or after that while, SIGTERM, and SIGKILL if that is not enough."""
    with contextlib.suppress(ChildProcessError):
        if gently and _exited(pid, _REAP_SECONDS):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if _exited(pid, _REAP_SECONDS):
                return


def _exited(pid: int, seconds: float) -> bool:
    """Has ``pid`` ended (and been reaped) within ``seconds``? Polled, bounded."""
    deadline = time.monotonic() + seconds
    while True:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


def start_sweep(opts: SweepOptions, loop: asyncio.AbstractEventLoop) -> Sweep | ForkedSweep:
    """The sweep for ``smbsign scan``: in a child process where the platform can fork."""
    if opts.fork and hasattr(os, "fork"):
        return ForkedSweep(opts, loop)
    return Sweep(opts, loop)

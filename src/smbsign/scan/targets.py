"""Where a scan's targets come from: specs, files and stdin, minus exclusions (docs/scan.md).

:class:`TargetSource` yields :class:`Target` values lazily, in the order given (command-line
specs first, then each ``-iL`` file). Regular files are read on the calling thread; stdin is
read by a daemon thread so that a slow producer (``zmap ... | smbsign scan -iL -``) never
blocks the event loop, and an interrupted scan never waits for stdin to close.
:meth:`TargetSource.prepare` parses every spec and every regular file once before the scan,
so that a bad line is a usage error before any packet is sent, and returns a count for the
progress bar and the size guard, computed from intervals without expanding anything (a hint:
a name may resolve to several addresses). A bad stdin line goes to ``on_bad_line`` and the
reading goes on; with a ``limit``, a stdin range that would take the scan past it is
reported the same way and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from smbsign.errors import UsageError
from smbsign.scan.shard import Shard
from smbsign.scan.target_files import AutoParser, Decoded, FileParser, OnError, PlainList
from smbsign.scan.target_spec import (
    Exclusions,
    Expander,
    Item,
    Name,
    Range,
    Single,
    Target,
    address_sort_key,
    parse_spec,
)

__all__ = [
    "Exclusions",
    "Target",
    "TargetSource",
    "address_sort_key",
    "load_exclusions",
]

CHUNK = 64 * 1024
STDIN = "-"


def _open(path: str) -> BinaryIO:
    try:
        fh = Path(path).open("rb")  # noqa: SIM115 (closed by the caller's with-block)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if Path(path).is_dir():
        fh.close()
        raise UsageError(f"cannot read {path}: is a directory")
    return fh


def _read(path: str, fh: BinaryIO) -> bytes:
    try:
        return fh.read(CHUNK)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _file_items(path: str, fh: BinaryIO, parser: FileParser | None = None) -> Iterator[Item]:
    parser = Decoded(path, parser or AutoParser(path))
    while chunk := _read(path, fh):
        yield from parser.feed(chunk)
    yield from parser.close()


def load_exclusions(specs: Iterable[str], files: Iterable[str]) -> Exclusions:
    """``--exclude SPEC`` and ``--exclude-file FILE`` (plain lists; names are refused)."""
    excl = Exclusions()
    excl.add_all(specs)
    for path in files:
        with _open(path) as fh:
            for item in _file_items(path, fh, PlainList(path)):
                if isinstance(item, Name):
                    raise UsageError(f"{path}: bad exclusion {item.name!r}: not an address")
                excl.add_item(item)
    return excl


class _StdinReader:
    """Reads a stream on a daemon thread and hands chunks to the loop, at most 8 queued."""

    def __init__(self, stream: BinaryIO, loop: asyncio.AbstractEventLoop) -> None:
        self._stream = stream
        self._loop = loop
        self._queue: asyncio.Queue[bytes | OSError] = asyncio.Queue()
        self._slots = threading.Semaphore(8)
        threading.Thread(target=self._run, name="smbsign-stdin", daemon=True).start()

    def _put(self, item: bytes | OSError) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _run(self) -> None:
        read1 = getattr(self._stream, "read1", self._stream.read)
        while True:
            self._slots.acquire()
            try:
                chunk: bytes = read1(CHUNK)
            except OSError as exc:
                self._put(exc)
                return
            self._put(chunk)
            if not chunk:
                return

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            self._slots.release()
            if isinstance(item, OSError):
                raise UsageError(f"cannot read stdin: {item.strerror or item}")
            if not item:
                return
            yield item


class TargetSource:
    """Targets from command-line specs and files (``-`` is stdin), minus exclusions."""

    def __init__(
        self,
        specs: Sequence[str] = (),
        files: Sequence[str] = (),
        exclusions: Exclusions | None = None,
        *,
        stdin: BinaryIO | None = None,
        on_bad_line: OnError | None = None,
        limit: int | None = None,
        shard: Shard | None = None,
    ) -> None:
        if list(files).count(STDIN) > 1:
            raise UsageError("stdin ('-iL -') can be read only once")
        self._specs = tuple(specs)
        self._files = tuple(files)
        self._excl = exclusions if exclusions is not None else Exclusions()
        self._stdin = stdin
        self._items: list[Item] | None = None
        self._on_bad_line = on_bad_line
        self._limit = limit
        self._shard = shard  # only this shard's targets are yielded (smbsign.scan.shard)
        self._budget: int | None = None  # stdin range addresses still allowed under limit
        self.skipped = 0  # special-purpose addresses left out of the ranges (after prepare)
        self.known = 0  # targets from specs and regular files, stdin aside (after prepare)

    @property
    def exclusions(self) -> Exclusions:
        return self._excl

    @property
    def shard(self) -> Shard | None:
        return self._shard

    def __bool__(self) -> bool:
        return bool(self._specs or self._files)

    def _spec_items(self) -> list[Item]:
        if self._items is None:
            self._items = [parse_spec(spec) for spec in self._specs]
        return self._items

    def _stdin_stream(self) -> BinaryIO:
        if self._stdin is None:
            raise UsageError("'-iL -' needs a standard input")
        return self._stdin

    def prepare(self) -> int | None:
        """Parse all specs and regular files now (UsageError on the first bad one).

        Returns how many targets the scan will have, or None when stdin is among the files
        (with a shard: the set's count divided by N, rounded up; a hint).
        """
        if STDIN in self._files:
            self._stdin_stream()  # no standard input at all: a usage error now, not mid-scan
        exp = Expander(self._excl)
        total = sum(exp.count(item) for item in self._spec_items())
        for path in self._files:
            if path == STDIN:
                continue
            with _open(path) as fh:
                total += sum(exp.count(item) for item in _file_items(path, fh))
        self.skipped = exp.skipped
        if self._shard is not None:
            total = -(-total // self._shard.count)
        self.known = total
        if self._limit is not None:
            self._budget = max(self._limit - total, 0)
        return None if STDIN in self._files else total

    def _admit(self, exp: Expander, item: Item) -> bool:
        """Whether a stdin item fits the limit (ranges only; single addresses always do)."""
        if self._budget is None or not isinstance(item, Range):
            return True
        size = exp.size(item)
        if size <= self._budget:
            self._budget -= size
            return True
        first, last = (Single(item.version, v).text() for v in (item.first, item.last))
        message = (
            f"<stdin>: range {first}-{last} ({size:,} addresses) would take the scan past "
            f"{self._limit:,} targets (a /16): skipped; give --force to scan it"
        )
        if self._on_bad_line is None:
            raise UsageError(message)
        self._on_bad_line(message)
        return False

    def _stdin_parser(self) -> FileParser:
        return AutoParser("<stdin>", self._on_bad_line)

    def __iter__(self) -> Iterator[Target]:
        """Synchronous iteration (stdin read on this thread), this shard's targets only."""
        targets = self._all()
        return targets if self._shard is None else self._shard.select(targets)

    def _all(self) -> Iterator[Target]:
        exp = Expander(self._excl)
        for item in self._spec_items():
            yield from exp.expand(item)
        for path in self._files:
            with contextlib.ExitStack() as stack:
                if path == STDIN:
                    fh, path, parser = self._stdin_stream(), "<stdin>", self._stdin_parser()
                else:
                    fh, parser = stack.enter_context(_open(path)), None
                for item in _file_items(path, fh, parser):
                    if parser is None or self._admit(exp, item):
                        yield from exp.expand(item)

    async def __aiter__(self) -> AsyncIterator[Target]:
        """Asynchronous iteration: as :meth:`__iter__`, but stdin never blocks the loop."""
        shard = self._shard
        # aclosing: closing this generator closes the inner one now, not in a finalizer task
        # left pending after a cancelled scan (tests/unit/test_runner.py cancel test)
        async with contextlib.aclosing(self._all_async()) as targets:
            async for target in targets:
                if shard is None or shard.holds(target):
                    yield target

    async def _all_async(self) -> AsyncGenerator[Target, None]:
        exp = Expander(self._excl)
        for item in self._spec_items():
            for target in exp.expand(item):
                yield target
        for path in self._files:
            if path != STDIN:
                with _open(path) as fh:
                    for item in _file_items(path, fh):
                        for target in exp.expand(item):
                            yield target
                continue
            parser = Decoded("<stdin>", self._stdin_parser())
            reader = _StdinReader(self._stdin_stream(), asyncio.get_running_loop())
            async for chunk in reader.chunks():
                for item in parser.feed(chunk):
                    if self._admit(exp, item):
                        for target in exp.expand(item):
                            yield target
            for item in parser.close():
                if self._admit(exp, item):
                    for target in exp.expand(item):
                        yield target

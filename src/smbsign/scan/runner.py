"""Run probes over many targets on one asyncio loop (issue #2 item 4; docs/scan.md).

A fixed pool of ``concurrency`` worker tasks pulls targets from a bounded queue fed by one
task reading the (lazy) target source, so memory does not grow with the number of targets.
An optional token bucket paces the start of probes (``--rate``). Records are handed to a
callback as they complete; nothing is collected here.

Port logic per host (docs/reference.md §5.8 step 5): ports are tried in the order given and a later
port is tried only when the earlier one is dead (closed, filtered or unreachable); the host
then gets one record, from the port that answered or else from the first port. With
``all_ports`` every port is probed and each gives a record. When an nmap XML input said which
SMB ports were open, only those of the requested ports are tried (all of them if none was).

The probe and the resolver are parameters (an injectable transport, like httpx's
``MockTransport``): tests drive the runner with fakes, the CLI binds
:func:`smbsign.scan.prober.probe_port`.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from smbsign.model import ScanRecord, ScanStatus, Smb1Observation
from smbsign.scan.targets import Target

__all__ = [
    "DEAD_REASONS",
    "Probe",
    "RateLimiter",
    "Resolve",
    "RunOptions",
    "is_dead",
    "make_resolver",
    "resolve_name",
    "run_scan",
    "transport_for",
]

START_SLICE = 64  # targets handed to workers per loop iteration, at most
# Error reasons (before any ``:``) that mean nothing answered at all, like closed/filtered.
DEAD_REASONS = frozenset({"unreachable", "closed", "filtered"})


class Probe(Protocol):
    """One host:port; ``probe_port`` with its options bound (``functools.partial``)."""

    def __call__(
        self, address: str, port: int, *, hostname: str | None = None
    ) -> Awaitable[ScanRecord]: ...


Resolve = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class RunOptions:
    ports: tuple[int, ...] = (445,)
    all_ports: bool = False
    concurrency: int = 512
    rate: float | None = None  # probes started per second; None = unpaced


def is_dead(rec: ScanRecord) -> bool:
    """Nothing answered on this port, so a fallback port may be tried (docs/reference.md §5.8)."""
    if rec.status in (ScanStatus.CLOSED, ScanStatus.FILTERED):
        return True
    return rec.status is ScanStatus.ERROR and rec.reason.split(":", 1)[0] in DEAD_REASONS


def transport_for(port: int) -> str:
    return "netbios" if port == 139 else "direct_tcp"


def error_record(target: str, port: int, reason: str, hostname: str | None) -> ScanRecord:
    return ScanRecord(
        target=target,
        port=port,
        status=ScanStatus.ERROR,
        signing_required=None,
        smb1=Smb1Observation(offered=None),
        smb2=None,
        reason=reason,
        hostname=hostname,
        transport=transport_for(port),
    )


def _getaddrinfo(name: str) -> list[tuple[Any, ...]]:
    return socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)


async def resolve_name(name: str, executor: Executor | None = None) -> list[str]:
    """All distinct addresses of ``name`` (IPv4 and IPv6, resolver order).

    Lookups run on ``executor`` (the loop's default one when None), which bounds how many
    are in flight.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.run_in_executor(executor, _getaddrinfo, name)
    out: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addr = str(sockaddr[0])
            if family == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3] and "%" not in addr:
                addr = f"{addr}%{sockaddr[3]}"
            if addr not in out:
                out.append(addr)
    return out


def make_resolver(executor: Executor) -> Resolve:
    """A resolver whose lookups run on ``executor`` (e.g. 32 threads: 32 lookups at once)."""
    return functools.partial(resolve_name, executor=executor)


class RateLimiter:
    """Token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._burst = max(burst, 1.0)
        self._next: float | None = None

    async def acquire(self) -> None:
        now = asyncio.get_running_loop().time()
        earliest = now - (self._burst - 1.0) * self._interval
        start = earliest if self._next is None else max(self._next, earliest)
        self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


class _Run:
    def __init__(
        self,
        probe: Probe,
        on_record: Callable[[ScanRecord], None],
        options: RunOptions,
        resolve: Resolve,
        excluded: Callable[[str], bool] | None,
        on_target: Callable[[], None] | None,
    ) -> None:
        self.probe = probe
        self.on_record = on_record
        self.opts = options
        self.resolve = resolve
        self.excluded = excluded
        self.on_target = on_target
        self.limiter = RateLimiter(options.rate) if options.rate else None
        self.queue: asyncio.Queue[Target | None] = asyncio.Queue(maxsize=options.concurrency)
        self.feed_error: BaseException | None = None

    async def _probe(self, address: str, port: int, hostname: str | None) -> ScanRecord:
        if self.limiter is not None:
            await self.limiter.acquire()
        try:
            return await self.probe(address, port, hostname=hostname)
        except Exception as exc:  # noqa: BLE001 (a probe bug is this host's error, not a crash)
            return error_record(address, port, f"internal_error: {type(exc).__name__}", hostname)

    async def _host(self, address: str, hostname: str | None, ports: tuple[int, ...]) -> None:
        if self.opts.all_ports:
            for port in ports:
                self.on_record(await self._probe(address, port, hostname))
            return
        first: ScanRecord | None = None
        for port in ports:
            rec = await self._probe(address, port, hostname)
            if not is_dead(rec):
                self.on_record(rec)
                return
            first = first or rec
        if first is not None:
            self.on_record(first)

    async def _target(self, target: Target) -> None:
        ports = self.opts.ports
        if target.open_ports:
            ports = tuple(p for p in ports if p in target.open_ports) or ports
        if target.address is not None:
            await self._host(target.address, target.hostname, ports)
            return
        name = target.hostname or ""
        try:
            addresses = await self.resolve(name)
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            self.on_record(error_record(name, ports[0], f"resolve_failed: {why}", name))
            return
        if not addresses:
            self.on_record(error_record(name, ports[0], "resolve_failed: no address", name))
        for address in addresses:
            if self.excluded is None or not self.excluded(address):
                await self._host(address, name, ports)

    async def worker(self) -> None:
        while (target := await self.queue.get()) is not None:
            await self._target(target)
            if self.on_target is not None:
                self.on_target()

    async def feed(self, targets: Iterable[Target] | AsyncIterable[Target]) -> None:
        """Queue the targets, letting the loop run every :data:`START_SLICE` of them.

        Without the yield, the first ``concurrency`` targets wake every worker in one loop
        iteration: thousands of connects started back to back (each costs CPU), while the
        replies that already arrived wait past their timeout (#10).
        """
        try:
            n = 0
            if isinstance(targets, AsyncIterable):
                async for target in targets:
                    await self.queue.put(target)
                    n += 1
                    if not n % START_SLICE:
                        await asyncio.sleep(0)
            else:
                for target in targets:
                    await self.queue.put(target)
                    n += 1
                    if not n % START_SLICE:
                        await asyncio.sleep(0)
        except Exception as exc:  # noqa: BLE001 (re-raised by run_scan once workers are done)
            self.feed_error = exc
        for _ in range(self.opts.concurrency):
            await self.queue.put(None)


async def run_scan(
    targets: Iterable[Target] | AsyncIterable[Target],
    probe: Probe,
    on_record: Callable[[ScanRecord], None],
    options: RunOptions | None = None,
    *,
    resolve: Resolve = resolve_name,
    excluded: Callable[[str], bool] | None = None,
    on_target: Callable[[], None] | None = None,
) -> None:
    """Probe every target; ``on_record`` gets each record as it completes.

    Cancelling the calling task cancels the probes in flight and returns after they are
    gone (the callback is never called after that). An exception raised while reading the
    targets (a bad line on stdin) stops the feeding; every target read before it is still
    probed, then the exception is re-raised.
    """
    opts = options or RunOptions()
    if opts.concurrency < 1 or not opts.ports:
        raise ValueError("concurrency must be >= 1 and ports non-empty")
    run = _Run(probe, on_record, opts, resolve, excluded, on_target)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(run.feed(targets))
            for _ in range(opts.concurrency):
                group.create_task(run.worker())
    except BaseExceptionGroup as group_error:  # the callback failed (e.g. disk full)
        raise group_error.exceptions[0] from None
    if run.feed_error is not None:
        raise run.feed_error

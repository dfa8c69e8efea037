"""The scan runner with injected fake probes and resolvers (no sockets; smbsign.scan.runner)."""

from __future__ import annotations

import asyncio
import itertools
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import pytest

from smbsign.errors import UsageError
from smbsign.model import ScanRecord, ScanStatus, Smb1Observation, Smb2Observation
from smbsign.scan.runner import RateLimiter, RunOptions, is_dead, run_scan
from smbsign.scan.targets import Target, TargetSource

OK_REQUIRED = Smb2Observation("3.1.1", 0x0311, 0x03)
OK_NOT_REQUIRED = Smb2Observation("3.1.1", 0x0311, 0x01)


def record(
    address: str,
    port: int,
    status: ScanStatus,
    *,
    reason: str = "",
    hostname: str | None = None,
    smb2: Smb2Observation | None = None,
) -> ScanRecord:
    return ScanRecord(
        target=address,
        port=port,
        status=status,
        signing_required=None if smb2 is None else smb2.signing_required,
        smb1=Smb1Observation(offered=False if smb2 else None),
        smb2=smb2,
        reason=reason or status.value,
        hostname=hostname,
    )


class FakeNet:
    """A probe whose answers come from a table ``(address, port) -> status``; default closed."""

    def __init__(self, answers: dict[tuple[str, int], ScanStatus | str] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, int, str | None]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        self.calls.append((address, port, hostname))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            answer = self.answers.get((address, port), ScanStatus.CLOSED)
            if answer == "unreachable":
                return record(
                    address, port, ScanStatus.ERROR, reason="unreachable: No route to host"
                )
            if answer == "read_timeout":
                return record(address, port, ScanStatus.ERROR, reason="read_timeout")
            if answer is ScanStatus.OK:
                return record(address, port, ScanStatus.OK, hostname=hostname, smb2=OK_REQUIRED)
            assert isinstance(answer, ScanStatus)
            return record(address, port, answer, hostname=hostname)
        finally:
            self.in_flight -= 1


def scan(targets: object, net: object, **kw: object) -> list[ScanRecord]:
    out: list[ScanRecord] = []
    opts = RunOptions(**{"concurrency": 8, **kw})  # type: ignore[arg-type]
    asyncio.run(run_scan(targets, net, out.append, opts))  # type: ignore[arg-type]
    return out


def summary(records: list[ScanRecord]) -> list[tuple[str, int, str]]:
    return sorted((r.target, r.port, r.status.value) for r in records)


# ----------------------------------------------------------------------- port logic


def test_fallback_to_139_only_when_445_dead() -> None:
    net = FakeNet(
        {
            ("10.0.0.1", 445): ScanStatus.OK,
            ("10.0.0.2", 445): ScanStatus.CLOSED,
            ("10.0.0.2", 139): ScanStatus.OK,
            ("10.0.0.3", 445): ScanStatus.FILTERED,
            ("10.0.0.3", 139): ScanStatus.FILTERED,
            ("10.0.0.4", 445): "unreachable",
            ("10.0.0.4", 139): ScanStatus.OK,
            ("10.0.0.5", 445): ScanStatus.NOT_SMB,
            ("10.0.0.6", 445): "read_timeout",
        }
    )
    targets = [Target(f"10.0.0.{i}") for i in range(1, 7)]
    records = scan(targets, net, ports=(445, 139))
    assert summary(records) == [
        ("10.0.0.1", 445, "ok"),
        ("10.0.0.2", 139, "ok"),
        ("10.0.0.3", 445, "filtered"),  # one record per host: the first port's failure
        ("10.0.0.4", 139, "ok"),
        ("10.0.0.5", 445, "not_smb"),  # something answered: no fallback
        ("10.0.0.6", 445, "error"),
    ]
    probed = sorted((a, p) for a, p, _ in net.calls)
    assert ("10.0.0.1", 139) not in probed
    assert ("10.0.0.5", 139) not in probed
    assert ("10.0.0.6", 139) not in probed
    assert ("10.0.0.3", 139) in probed


def test_all_ports_reports_each_port() -> None:
    net = FakeNet({("10.0.0.1", 445): ScanStatus.OK, ("10.0.0.1", 139): ScanStatus.OK})
    records = scan([Target("10.0.0.1"), Target("10.0.0.2")], net, ports=(445, 139), all_ports=True)
    assert summary(records) == [
        ("10.0.0.1", 139, "ok"),
        ("10.0.0.1", 445, "ok"),
        ("10.0.0.2", 139, "closed"),
        ("10.0.0.2", 445, "closed"),
    ]


def test_ports_in_the_order_given() -> None:
    net = FakeNet({("10.0.0.1", 139): ScanStatus.OK, ("10.0.0.1", 445): ScanStatus.OK})
    records = scan([Target("10.0.0.1")], net, ports=(139, 445))
    assert summary(records) == [("10.0.0.1", 139, "ok")]
    assert [p for _, p, _ in net.calls] == [139]


def test_nmap_open_ports_hint() -> None:
    net = FakeNet({("10.0.0.1", 139): ScanStatus.OK})
    # nmap said only 139 is open: 445 is not tried
    records = scan([Target("10.0.0.1", "dc1", (139,))], net, ports=(445, 139))
    assert [(a, p, h) for a, p, h in net.calls] == [("10.0.0.1", 139, "dc1")]
    assert records[0].port == 139
    # a hint outside the requested ports does not widen them
    net2 = FakeNet()
    scan([Target("10.0.0.1", None, (139,))], net2, ports=(445,))
    assert [p for _, p, _ in net2.calls] == [445]


# ----------------------------------------------------------------------- host names


def test_names_resolved_at_probe_time_and_kept() -> None:
    async def resolve(name: str) -> list[str]:
        if name == "gone.example":
            raise OSError(-2, "Name or service not known")
        return {
            "two.example": ["10.0.0.1", "2001:db8::1"],
            "none.example": [],
            "excl.example": ["192.0.2.1", "10.0.0.9"],
        }[name]

    net = FakeNet({("10.0.0.1", 445): ScanStatus.OK})
    out: list[ScanRecord] = []
    targets = [
        Target(None, n) for n in ("two.example", "gone.example", "none.example", "excl.example")
    ]
    asyncio.run(
        run_scan(
            targets,
            net,
            out.append,
            RunOptions(concurrency=2),
            resolve=resolve,
            excluded=lambda a: a.startswith("192.0.2."),
        )
    )
    got = sorted((r.target, r.hostname, r.status.value, r.reason) for r in out)
    assert got == [
        ("10.0.0.1", "two.example", "ok", "ok"),
        ("10.0.0.9", "excl.example", "closed", "closed"),
        ("2001:db8::1", "two.example", "closed", "closed"),
        ("gone.example", "gone.example", "error", "resolve_failed: Name or service not known"),
        ("none.example", "none.example", "error", "resolve_failed: no address"),
    ]
    assert ("192.0.2.1", 445, "excl.example") not in net.calls


# ---------------------------------------------------------------- concurrency bounds


def test_in_flight_reaches_but_never_exceeds_concurrency() -> None:
    concurrency = 16
    state = {"now": 0, "max": 0}
    full = asyncio.Event()

    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        if state["now"] == concurrency:
            full.set()
        try:
            await asyncio.wait_for(full.wait(), 30)
            return record(address, port, ScanStatus.CLOSED)
        finally:
            state["now"] -= 1

    targets = (Target(f"10.0.{i >> 8}.{i & 255}") for i in range(500))
    records = scan(targets, probe, concurrency=concurrency)
    assert len(records) == 500
    assert state["max"] == concurrency


def test_fixed_worker_pool_not_a_task_per_address() -> None:
    tasks_seen = 0

    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        nonlocal tasks_seen
        tasks_seen = max(tasks_seen, len(asyncio.all_tasks()))
        await asyncio.sleep(0)
        return record(address, port, ScanStatus.FILTERED)

    src = TargetSource(["10.0.0.0/18"])  # 16384 targets
    out: list[ScanRecord] = []

    async def main() -> None:
        await run_scan(src, probe, out.append, RunOptions(concurrency=32))

    asyncio.run(main())
    assert len(out) == 1 << 14
    assert tasks_seen <= 32 + 2  # workers + feeder + main


def test_memory_flat_over_many_targets() -> None:
    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        return record(address, port, ScanStatus.FILTERED)

    count = 0

    def on_record(rec: ScanRecord) -> None:
        nonlocal count
        count += 1

    def targets() -> Iterator[Target]:
        yield from TargetSource(["10.0.0.0/8"])

    async def main(n: int) -> None:
        await run_scan(itertools.islice(targets(), n), probe, on_record, RunOptions(concurrency=64))

    asyncio.run(main(2000))  # warm up caches
    tracemalloc.start()
    try:
        asyncio.run(main(5000))
        _, small = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        asyncio.run(main(60_000))
        _, large = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 2000 + 5000 + 60_000
    assert large < small + 512 * 1024, (small, large)


# ---------------------------------------------------------------- errors, cancelling


def test_probe_bug_becomes_error_record() -> None:
    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        raise KeyError("bug")

    (rec,) = scan([Target("10.0.0.1")], probe)
    assert rec.status is ScanStatus.ERROR
    assert rec.signing_required is None
    assert rec.reason == "internal_error: KeyError"


def test_bad_target_midstream_finishes_in_flight_then_raises() -> None:
    def targets() -> Iterator[Target]:
        yield Target("10.0.0.1")
        yield Target("10.0.0.2")
        raise UsageError("<stdin>:3: bad target 'x!'")

    out: list[ScanRecord] = []
    with pytest.raises(UsageError, match="<stdin>:3"):
        asyncio.run(run_scan(targets(), FakeNet(), out.append, RunOptions(concurrency=4)))
    assert sorted(r.target for r in out) == ["10.0.0.1", "10.0.0.2"]


def test_callback_failure_stops_scan_with_that_error() -> None:
    def on_record(rec: ScanRecord) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        asyncio.run(run_scan([Target("10.0.0.1")] * 3, FakeNet(), on_record, RunOptions()))


def test_cancel_stops_in_flight_probes_and_callbacks() -> None:
    started = 0
    cancelled = 0
    out: list[ScanRecord] = []
    enough = asyncio.Event()

    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        nonlocal started, cancelled
        started += 1
        if address.endswith(".1") or address.endswith(".2"):
            return record(address, port, ScanStatus.CLOSED)
        if started >= 8:
            enough.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return record(address, port, ScanStatus.CLOSED)

    async def main() -> None:
        task = asyncio.create_task(
            run_scan(TargetSource(["10.0.0.0/16"]), probe, out.append, RunOptions(concurrency=8))
        )
        await asyncio.wait_for(enough.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    asyncio.run(main())
    assert cancelled == started - len(out) >= 6  # every probe either reported or was cancelled
    assert sorted(r.target for r in out) == ["10.0.0.1", "10.0.0.2"]


def test_async_iterable_targets() -> None:
    async def targets() -> AsyncIterator[Target]:
        for i in range(5):
            yield Target(f"10.0.0.{i}")

    records = scan(targets(), FakeNet())
    assert len(records) == 5


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        scan([], FakeNet(), concurrency=0)
    with pytest.raises(ValueError, match="ports"):
        scan([], FakeNet(), ports=())


def test_is_dead() -> None:
    assert is_dead(record("a", 445, ScanStatus.CLOSED))
    assert is_dead(record("a", 445, ScanStatus.FILTERED))
    assert is_dead(record("a", 445, ScanStatus.ERROR, reason="unreachable: No route to host"))
    assert not is_dead(record("a", 445, ScanStatus.ERROR, reason="read_timeout"))
    assert not is_dead(record("a", 445, ScanStatus.ERROR, reason="connect_error: Too many files"))
    assert not is_dead(record("a", 445, ScanStatus.NOT_SMB))


# ------------------------------------------------------------------------- pacing


def test_rate_limiter_spaces_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Logic check with a frozen clock: the limiter asks to sleep 0, 0.1, 0.2, ... seconds."""
    waits: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waits.append(round(delay, 6))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "time", lambda: 100.0)
        monkeypatch.setattr(asyncio, "sleep", fake_sleep)
        limiter = RateLimiter(10)
        for _ in range(4):
            await limiter.acquire()
        burst = RateLimiter(10, burst=3)
        for _ in range(5):
            await burst.acquire()

    asyncio.run(main())
    assert waits == [0.1, 0.2, 0.3, 0.1, 0.2]  # zero waits never sleep


def test_rate_applies_to_every_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    acquired = 0
    original = RateLimiter.acquire

    async def counting(self: RateLimiter) -> None:
        nonlocal acquired
        acquired += 1
        await original(self)

    monkeypatch.setattr(RateLimiter, "acquire", counting)
    scan([Target("10.0.0.1"), Target("10.0.0.2")], FakeNet(), ports=(445, 139), rate=1000.0)
    assert acquired == 4  # two hosts x (445 closed -> 139)

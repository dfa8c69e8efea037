"""The SYN sweep's bookkeeping, the choice of sweep and the fast defaults (issue #10 items 1-2).

Everything here is offline: the packet path runs in tests/lab/test_sweep_lab.py only.
"""

from __future__ import annotations

import asyncio
import json
import resource
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.cli import scan_options
from smbsign.cli.scan_options import SweepMode, choose_sweep, default_concurrency
from smbsign.errors import UsageError
from smbsign.model import ScanRecord, ScanStatus, Smb1Observation
from smbsign.scan.output import JsonlWriter
from smbsign.scan.sweep_classify import classify
from smbsign.scan.sweep_result import SweepResult
from smbsign.scan.targets import Target
from smbsign.serialize import scan_record_to_dict

SA, RST, ICMP = 1, 2, 4


class _Finished:
    """A sweep that is over: every target is settled."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result
        self.ready = 1 << 62

    async def settled(self, index: int) -> None:
        _ = index


def run_classify(
    targets: list[Target], result: SweepResult, *, all_ports: bool = False
) -> tuple[list[Target], list[ScanRecord], int]:
    records: list[ScanRecord] = []
    done = [0]

    def on_target() -> None:
        done[0] += 1

    async def go() -> list[Target]:
        return [
            t
            async for t in classify(
                targets,
                _Finished(result),  # type: ignore[arg-type]
                all_ports=all_ports,
                emit=records.append,
                on_target=on_target,
            )
        ]

    return asyncio.run(go()), records, done[0]


def result(ports: tuple[int, ...] = (445,), **marks: list[tuple[int, int]]) -> SweepResult:
    res = SweepResult(ports, 1.0, tries=2)
    for address, per_port in marks.items():
        for port, bit in per_port:
            res.mark(address.replace("_", "."), port, bit)
    return res


def test_silent_and_rst_addresses_get_todays_statuses() -> None:
    res = result(**{"10_0_0_2": [(445, RST)]})
    probe, records, done = run_classify([Target("10.0.0.1"), Target("10.0.0.2")], res)
    assert probe == []
    assert done == 2
    silent, closed = records
    assert (silent.target, silent.port, silent.status) == ("10.0.0.1", 445, ScanStatus.FILTERED)
    assert silent.reason == "filtered: no SYN-ACK within 1 s (sweep, SYN sent twice)"
    assert silent.signing_required is None and not silent.relayable
    assert (closed.status, closed.reason) == (ScanStatus.CLOSED, "closed: RST to SYN (sweep)")


def test_responders_go_to_the_prober_with_the_ports_that_answered() -> None:
    res = result((445, 139), **{"10_0_0_3": [(445, RST), (139, SA)], "10_0_0_4": [(445, SA)]})
    probe, records, done = run_classify(
        [Target("10.0.0.3", "fs3"), Target("10.0.0.4"), Target("10.0.0.5")], res
    )
    assert probe == [Target("10.0.0.3", "fs3", (139,)), Target("10.0.0.4", None, (445,))]
    assert [(r.target, r.port, r.status) for r in records] == [
        ("10.0.0.5", 445, ScanStatus.FILTERED)  # first port, as the runner reports it
    ]
    assert done == 1  # the prober's own targets are counted by the runner


def test_icmp_names_and_scoped_addresses_take_the_connect_path_unchanged() -> None:
    res = result(**{"10_0_0_6": [(445, ICMP)]})
    targets = [Target("10.0.0.6"), Target(None, "fs.example"), Target("fe80::1%eth0")]
    probe, records, _ = run_classify(targets, res)
    assert probe == targets and records == []


def test_all_ports_one_record_per_dead_port() -> None:
    res = result((445, 139), **{"10_0_0_7": [(139, SA)]})
    probe, records, _ = run_classify([Target("10.0.0.7"), Target("10.0.0.8")], res, all_ports=True)
    assert probe == [Target("10.0.0.7", None, (139,))]
    assert [(r.target, r.port, r.transport) for r in records] == [
        ("10.0.0.7", 445, "direct_tcp"),
        ("10.0.0.8", 445, "direct_tcp"),
        ("10.0.0.8", 139, "netbios"),
    ]


def test_unswept_family_goes_to_the_connect_path() -> None:
    res = result()
    res.unswept.add(10)  # AF_INET6: its raw sockets could not be opened
    probe, records, _ = run_classify([Target("2001:db8::1"), Target("10.0.0.9")], res)
    assert probe == [Target("2001:db8::1")]
    assert [r.target for r in records] == ["10.0.0.9"]


def test_marks_for_other_ports_are_ignored_and_responders_counted() -> None:
    res = result((445,), **{"10_0_0_1": [(139, SA)], "10_0_0_2": [(445, SA)]})
    assert res.answers == {"10.0.0.2": SA}
    assert res.responders == 1 and res.syn_ack_ports("10.0.0.2") == (445,)


# -------------------------------------------------------------------------- choosing


def test_choose_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_options, "raw_sockets_allowed", lambda: None)
    kw: dict[str, Any] = {"rate": None, "connect_timeout": 2.0, "ports": (445,)}
    assert choose_sweep(SweepMode.CONNECT, 10**6, **kw) == (None, None)
    assert choose_sweep(SweepMode.AUTO, 256, **kw) == (None, None)  # a /24: not worth it
    opts, note = choose_sweep(SweepMode.AUTO, 257, **kw)
    assert note is None and opts is not None
    assert (opts.rate, opts.timeout, opts.ports) == (scan_options.DEFAULT_SWEEP_RATE, 1.0, (445,))
    opts, _ = choose_sweep(SweepMode.SYN, 1, **{**kw, "rate": 500.0})
    assert opts is not None and opts.rate == 500.0


def test_choose_sweep_falls_back_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    why = "raw sockets not permitted (needs root or CAP_NET_RAW)"
    monkeypatch.setattr(scan_options, "raw_sockets_allowed", lambda: why)
    kw: dict[str, Any] = {"rate": None, "connect_timeout": 2.0, "ports": (445,)}
    opts, note = choose_sweep(SweepMode.AUTO, 65536, **kw)
    assert opts is None and note == f"--sweep auto: connect scan, no SYN sweep: {why}"
    with pytest.raises(UsageError, match="--sweep syn: raw sockets not permitted"):
        choose_sweep(SweepMode.SYN, 65536, **kw)
    opts, note = choose_sweep(SweepMode.AUTO, None, **kw)  # -iL -: the count is unknown
    assert opts is None and note is not None and "stdin" in note
    with pytest.raises(UsageError, match="stdin"):
        choose_sweep(SweepMode.SYN, None, **kw)


def test_default_concurrency_raises_the_soft_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = {"soft": 256, "hard": 1024}

    def getrlimit(_: int) -> tuple[int, int]:
        return limits["soft"], limits["hard"]

    def setrlimit(_: int, value: tuple[int, int]) -> None:
        limits["soft"] = value[0]

    monkeypatch.setattr(resource, "getrlimit", getrlimit)
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert default_concurrency() == (1024 - scan_options.FD_HEADROOM) // 2
    assert limits["soft"] == 1024
    limits.update(soft=1 << 20, hard=1 << 20)
    assert default_concurrency() == scan_options.MAX_DEFAULT_CONCURRENCY
    limits.update(soft=100, hard=100)  # a tiny hard limit still gives at least one probe
    assert default_concurrency() == (100 - scan_options.FD_HEADROOM) // 2
    limits.update(soft=64, hard=64)
    assert default_concurrency() == 1


# -------------------------------------------------------------------------- JSONL lines


class _Sink:
    def __init__(self) -> None:
        self.text = ""
        self.flushes = 0

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        self.flushes += 1


@settings(max_examples=200)
@given(
    st.text(max_size=40),
    st.one_of(st.none(), st.text(max_size=20)),
    st.sampled_from([(445, "direct_tcp"), (139, "netbios")]),
    st.sampled_from([ScanStatus.CLOSED, ScanStatus.FILTERED, ScanStatus.ERROR]),
    st.text(max_size=60),
    st.floats(min_value=0, max_value=1e7, allow_nan=False),
)
def test_dead_record_lines_equal_full_serialisation(
    target: str,
    hostname: str | None,
    port: tuple[int, str],
    status: ScanStatus,
    reason: str,
    elapsed: float,
) -> None:
    if status is ScanStatus.ERROR:
        reason = "unreachable: " + reason  # an error that counts as dead
    recs = [
        ScanRecord(
            t,
            port[0],
            status,
            None,
            Smb1Observation(offered=None),
            None,
            reason,
            hostname,
            port[1],
            elapsed,
        )
        for t in (target, target + "x")
    ]
    sink = _Sink()
    writer = JsonlWriter(sink)  # type: ignore[arg-type]
    for rec in recs:
        writer.write(rec)
    lines = sink.text.splitlines(keepends=False)
    assert [json.loads(line) for line in lines] == [scan_record_to_dict(r) for r in recs]
    full = [json.dumps(scan_record_to_dict(r), separators=(",", ":")) for r in recs]
    assert sink.text == "".join(f"{f}\n" for f in full)  # the same bytes, not just equal JSON


def test_jsonl_flushes_answers_at_once_and_dead_records_in_batches() -> None:
    sink = _Sink()
    writer = JsonlWriter(sink)  # type: ignore[arg-type]
    dead = ScanRecord(
        "10.0.0.1", 445, ScanStatus.FILTERED, None, Smb1Observation(None), None, "filtered"
    )
    for _ in range(100):
        writer.write(dead)
    assert sink.flushes == 0  # within FLUSH_SECONDS: buffered
    ok = ScanRecord("10.0.0.2", 445, ScanStatus.OK, True, Smb1Observation(False), None, "required")
    writer.write(ok)
    assert sink.flushes == 1


# -------------------------------------------------------------------------- starts spread out


def test_runner_starts_probes_in_slices_not_all_in_one_loop_iteration() -> None:
    """4096 workers must not all start a probe in one iteration of the loop: a connect costs
    CPU, and replies that arrived meanwhile would wait past their timeout (seen in the lab: live
    hosts reported filtered at --concurrency 4096 under load)."""
    from smbsign.scan.runner import RunOptions, run_scan

    tick = [0]
    started: list[int] = []

    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        started.append(tick[0])
        await asyncio.sleep(0.01)
        return ScanRecord(address, port, ScanStatus.FILTERED, None, Smb1Observation(None), None)

    async def go() -> None:
        async def ticker() -> None:
            while True:
                tick[0] += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        targets = [Target(f"10.0.{i >> 8}.{i & 255}") for i in range(4096)]
        await run_scan(targets, probe, lambda _: None, RunOptions(concurrency=4096))
        ticking.cancel()

    asyncio.run(go())
    assert len(started) == 4096
    per_tick: dict[int, int] = {}
    for t in started:
        per_tick[t] = per_tick.get(t, 0) + 1
    assert max(per_tick.values()) <= 256


def _loop_turns_during_classify(sweep: object, count: int) -> int:
    """How often another task ran while classify went through ``count`` silent targets."""
    ticks = [0]

    async def go() -> int:
        async def ticker() -> None:
            while True:
                ticks[0] += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        targets = [Target(f"10.1.{i >> 8}.{i & 255}") for i in range(count)]
        async for _ in classify(
            targets,
            sweep,  # type: ignore[arg-type]
            all_ports=False,
            emit=lambda _: None,
        ):
            pass
        ticking.cancel()
        return ticks[0]

    return asyncio.run(go())


def test_classify_lets_the_loop_run_while_it_writes_records() -> None:
    assert _loop_turns_during_classify(_Finished(result()), 4096) >= 4096 // 1024


class _Behind:
    """A sweep whose marks are all past due: each ``settled`` advances a mark (256 targets)
    without waiting, as when classify catches up after the scanning process was busy."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result
        self.ready = 0

    async def settled(self, index: int) -> None:
        self.ready = index + 256


def test_classify_lets_the_loop_run_while_it_catches_up_with_the_sweep() -> None:
    """Seen in the lab with the sweep in a child process: classify ran through 60,000
    settled targets without yielding (3.2 s), and every probe in flight timed out."""
    assert _loop_turns_during_classify(_Behind(result()), 8192) >= 8192 // 1024 - 1


def test_refused_addresses_alone_take_the_connect_path() -> None:
    """A SYN the kernel refused (a broadcast address: EACCES) sends that address, and only
    that one, to the connect scan; the rest of the range keeps the fast silent records."""
    res = result()
    res.unroutable, res.refused = 1, {"10.0.0.255"}
    targets = [Target(f"10.0.0.{i}") for i in range(250, 256)]
    probe, records, done = run_classify(targets, res)
    assert probe == [Target("10.0.0.255")]
    assert [r.target for r in records] == [f"10.0.0.{i}" for i in range(250, 255)]
    assert done == 5


class _FakeRaw:
    family = 2

    def __init__(self) -> None:
        self.sent = 0

    def sendto(self, data: bytes, peer: object) -> int:
        self.sent += 1
        return len(data)


class _FakeRoute:
    def connect(self, peer: object) -> None:
        pass

    def getsockname(self) -> tuple[str, int]:
        return ("192.0.2.1", 9)


def test_sweep_lets_the_loop_run_when_the_cpu_is_behind_the_rate() -> None:
    """Behind its rate the token bucket is never empty; the sweep must still yield, or the
    probes of responders wait past their timeout (seen in the lab: a 2.8 s stall)."""
    import socket

    from smbsign.scan.sweep import Sweep
    from smbsign.scan.sweep_result import SweepOptions

    ticks = [0]

    async def go() -> int:
        async def ticker() -> None:
            while True:
                ticks[0] += 1
                await asyncio.sleep(0)

        sweep = Sweep(SweepOptions((445,), 1e9, 0.01), asyncio.get_running_loop())
        fake = _FakeRaw()
        sweep.socks.tcp[socket.AF_INET] = fake  # type: ignore[assignment]
        sweep.socks.route[socket.AF_INET] = _FakeRoute()  # type: ignore[assignment]
        sweep.tokens = 1e9  # far behind the rate: a token is always there
        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        start = ticks[0]
        targets = [Target(f"10.2.{i >> 8}.{i & 255}") for i in range(4096)]
        await sweep._pass(targets, retry=False, last=False)
        ticking.cancel()
        sweep.holder.close()
        assert fake.sent == 4096
        return ticks[0] - start

    assert asyncio.run(go()) >= 4096 // 256 - 1


def test_port_holder_without_ipv6(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without IPv6 still gets a source port held (IPv4 only), not a crash."""
    import socket

    from smbsign.scan import sweep_sockets as sweep_mod

    real = socket.socket

    def no_v6(family: int = socket.AF_INET, *args: Any, **kwargs: Any) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(97, "Address family not supported by protocol")
        return real(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", no_v6)
    holder = sweep_mod._port_holder()
    try:
        assert holder.family == socket.AF_INET and holder.getsockname()[1] > 0
    finally:
        holder.close()

"""Stateless TCP SYN pre-sweep of large target sets (issue #10 item 1; docs/scan.md "Sweep").

A connect scan pays a socket and a full connect timeout for every silent address. The sweep
sends one bare SYN per address and port over a raw socket instead, paced by a token bucket
(``rate`` packets a second, bursts of at most :data:`BURST_SECONDS` worth), and reads the
answers from raw sockets: a SYN-ACK means something listens, a RST means closed, an ICMP
destination unreachable quoting our SYN means the connect path must decide (it reports the
exact ``unreachable: ...`` error it always did). The kernel answers each SYN-ACK with a RST of
its own, since no socket owns the connection [RFC 9293 3.10.7.1]; the source port is held by
a bound TCP socket for the whole sweep, so no other connection of this host reuses it.

No state per probe: the sequence number of every SYN is a keyed MAC (BLAKE2s, RFC 7693, with
a random key per sweep) of destination address, source port and destination port, truncated
to 32 bits; a reply counts only if its acknowledgment number is that value plus one
[RFC 9293 3.4, the ACK of a SYN], an ICMP error only if the SYN it quotes carries the value.
The source address is not in the MAC because for IPv6 the kernel picks it (a raw IPv6 socket
cannot set the header [RFC 3542 3]); the key is secret, so an off-path host still cannot
forge an answer.

Memory: the only per-address state is one small integer per address that *answered*
(SYN-ACK, RST or ICMP), in a dict; silent addresses cost nothing. Targets are never
collected: the lazy expansion of :class:`~smbsign.scan.targets.TargetSource` (its
:class:`~smbsign.scan.target_spec.Expander`, so exclusions and the special-range rules hold
exactly as for the connect path) is iterated once per pass and once more by :func:`classify`.
Time: ``packets / rate`` plus one ``timeout`` after the last SYN; the retransmission pass to
the addresses still silent starts no sooner than ``timeout`` after the first pass began.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import hashlib
import ipaddress
import os
import socket
import struct
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from smbsign.errors import ProtocolError, SmbsignError
from smbsign.model import ScanRecord, ScanStatus, Smb1Observation
from smbsign.protocol import tcp
from smbsign.scan.runner import transport_for
from smbsign.scan.targets import Target

__all__ = [
    "SWEEP_THRESHOLD",
    "Sweep",
    "SweepError",
    "SweepOptions",
    "SweepResult",
    "classify",
    "raw_sockets_allowed",
    "run_sweep",
]

SWEEP_THRESHOLD = 256  # --sweep auto sweeps target sets larger than this (a /24)
BURST_SECONDS = 0.05  # the token bucket saves up at most 50 ms of packets
MIN_BURST = 4
_MARK_EVERY = 256  # the last pass notes its progress this often, for classify
_YIELD_EVERY = 1024  # classify lets the loop run this often while it writes records
_SEND_SLICE = 256  # the sweep lets the loop run at least this often, even behind its rate
MAX_REFUSED = 1 << 16  # refused addresses remembered; beyond, classify asks the kernel again
_RCVBUF = 8 << 20
_SEND_RETRIES = 200  # a full send queue (ENOBUFS/EAGAIN) is waited out 1 ms at a time
_SENDQ_FULL = {errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK}
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EINVAL}
_MAX_REPLY = 65535
_IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)  # Linux <netinet/in.h>
_TCP_CHECKSUM_OFFSET = 16  # [RFC 9293 3.1]: the kernel fills the IPv6 TCP checksum there
_NO_SMB1 = Smb1Observation(offered=None)

# Per address and port index i, three bits: SYN-ACK, RST, ICMP unreachable.
_SA, _RST, _ICMP = 1, 2, 4
_BITS = 3


class SweepError(SmbsignError):
    """The sweep could not go on (a send failed for a reason other than a missing route)."""


@dataclass(frozen=True, slots=True)
class SweepOptions:
    ports: tuple[int, ...]
    rate: float  # packets a second, retransmissions included
    timeout: float  # seconds to wait for answers after a pass's last SYN
    retries: int = 1  # retransmissions to addresses that stayed silent


@dataclass(slots=True)
class SweepResult:
    """What answered: per address text, the bits of each port index (silent: absent)."""

    ports: tuple[int, ...]
    timeout: float
    answers: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # SYNs sent, retransmissions included
    unroutable: int = 0  # sends refused by the kernel (no route, a broadcast address, ...)
    refused: set[str] = field(default_factory=set)  # those addresses, up to MAX_REFUSED
    tries: int = 1
    unswept: set[int] = field(default_factory=set)  # families whose raw sockets failed to open

    @property
    def silent_reason(self) -> str:
        sent = "twice" if self.tries == 2 else f"{self.tries} times"
        return f"filtered: no SYN-ACK within {self.timeout:g} s (sweep, SYN sent {sent})"

    def mark(self, address: str, port: int, bit: int) -> None:
        try:
            shift = self.ports.index(port) * _BITS
        except ValueError:
            return
        self.answers[address] = self.answers.get(address, 0) | (bit << shift)

    def syn_ack_ports(self, address: str) -> tuple[int, ...]:
        bits = self.answers.get(address, 0)
        return tuple(p for i, p in enumerate(self.ports) if bits >> (i * _BITS) & _SA)

    @property
    def responders(self) -> int:
        """Addresses with a SYN-ACK on at least one port."""
        mask = sum(_SA << (i * _BITS) for i in range(len(self.ports)))
        return sum(1 for bits in self.answers.values() if bits & mask)


def raw_sockets_allowed() -> str | None:
    """None when this process may open a raw TCP socket (root or CAP_NET_RAW), else why not."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).close()
    except PermissionError:
        return "raw sockets not permitted (needs root or CAP_NET_RAW)"
    except OSError as exc:
        return f"cannot open a raw socket: {exc.strerror or exc}"
    return None


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _canonical6(text: str) -> str:
    return str(ipaddress.IPv6Address(text.split("%", 1)[0]))


def _ports_of(target: Target, ports: tuple[int, ...]) -> tuple[int, ...]:
    """The ports the runner would try (an nmap XML input may have named the open ones)."""
    if target.open_ports:
        return tuple(p for p in ports if p in target.open_ports) or ports
    return ports


class _Sockets:
    """Raw TCP (send and receive) and ICMP (receive) sockets per family, opened on demand."""

    def __init__(self) -> None:
        self.tcp: dict[int, socket.socket] = {}
        self.icmp: dict[int, socket.socket] = {}
        self.route: dict[int, socket.socket] = {}
        self.failed: dict[int, str] = {}

    def _raw(self, family: int, proto: int) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_RAW, proto)
        sock.setblocking(False)
        force = getattr(socket, "SO_RCVBUFFORCE", socket.SO_RCVBUF)
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, _RCVBUF)
        except OSError:  # without CAP_NET_ADMIN: capped at net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
        return sock

    def open(self, family: int) -> bool:
        """Open this family's sockets; False (and a reason in ``failed``) when it cannot."""
        if family in self.tcp:
            return True
        if family in self.failed:
            return False
        try:
            raw = self._raw(family, socket.IPPROTO_TCP)
            if family == socket.AF_INET6:
                raw.setsockopt(socket.IPPROTO_IPV6, _IPV6_CHECKSUM, _TCP_CHECKSUM_OFFSET)
                icmp = self._raw(family, socket.IPPROTO_ICMPV6)
            else:
                icmp = self._raw(family, socket.IPPROTO_ICMP)
            route = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as exc:
            self.failed[family] = exc.strerror or str(exc)
            return False
        self.tcp[family], self.icmp[family], self.route[family] = raw, icmp, route
        return True

    def source(self, family: int, address: str) -> bytes | None:
        """The source address the kernel routes ``address`` from (no packet: a UDP connect)."""
        route = self.route[family]
        try:
            route.connect((address, 9))
            return socket.inet_pton(family, route.getsockname()[0])
        except OSError:
            return None

    def close(self) -> None:
        for group in (self.tcp, self.icmp, self.route):
            for sock in group.values():
                sock.close()


def _port_holder() -> socket.socket:
    """A TCP socket bound to a free port for IPv4 and IPv6 (dual-stack), or IPv4 alone where
    the kernel has no IPv6."""
    try:
        holder = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:  # IPv6 disabled or absent
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("0.0.0.0", 0))  # noqa: S104 (bound, never listening: it only holds a port)
        return holder
    with contextlib.suppress(OSError):
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    holder.bind(("::", 0))
    return holder


class Sweep:
    """One sweep: :meth:`run` sends and listens; :meth:`settled` paces :func:`classify`."""

    def __init__(self, opts: SweepOptions, loop: asyncio.AbstractEventLoop) -> None:
        self.opts = opts
        self.loop = loop
        self.key = os.urandom(16)
        self.socks = _Sockets()
        self.result = SweepResult(opts.ports, opts.timeout, tries=1 + opts.retries)
        # The source port: held by a bound (never listening) TCP socket for the whole sweep,
        # so that the kernel's own connections (the NEGOTIATE probes later) never use it.
        self.holder = _port_holder()
        self.sport: int = self.holder.getsockname()[1]
        self.tokens = 0.0
        self.last = loop.time()
        self.templates: dict[tuple[int, int], tcp.SynTemplate] = {}
        self.marks: collections.deque[tuple[int, float]] = collections.deque()
        self.progress = asyncio.Event()
        self.ready = 0  # targets before this index are settled
        self.finished = False
        self.error: SweepError | None = None
        self.burst = max(float(MIN_BURST), opts.rate * BURST_SECONDS)

    # -- the cookie --------------------------------------------------------------

    def cookie(self, dst: bytes, dport: int) -> int:
        """Keyed BLAKE2s [RFC 7693] of destination, source port, destination port: 32 bits."""
        msg = dst + struct.pack("!HH", self.sport, dport)
        digest = hashlib.blake2s(msg, key=self.key, digest_size=4).digest()
        return int.from_bytes(digest, "big")

    # -- receiving ----------------------------------------------------------------

    def _drain(self, sock: socket.socket, handle: Callable[[bytes, str], None]) -> None:
        while True:
            try:
                data, addr = sock.recvfrom(_MAX_REPLY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # an error queued on the socket (e.g. from a send): nothing to read
            try:
                handle(data, addr[0])
            except ProtocolError:
                continue  # not ours or not readable: ignored

    def _tcp_reply(self, family: int, src: bytes, segment: bytes) -> None:
        hdr = tcp.parse_tcp(segment)
        if hdr.dport != self.sport or not (hdr.is_syn_ack or hdr.is_rst):
            return
        if hdr.ack != (self.cookie(src, hdr.sport) + 1) & 0xFFFFFFFF:
            return
        text = socket.inet_ntop(family, src)
        if family == socket.AF_INET6:
            text = _canonical6(text)
        self.result.mark(text, hdr.sport, _SA if hdr.is_syn_ack else _RST)

    def _on_tcp4(self, data: bytes, _peer: str) -> None:
        pkt = tcp.parse_ipv4(data)
        if pkt.protocol == tcp.PROTO_TCP:
            self._tcp_reply(socket.AF_INET, pkt.src, pkt.payload)

    def _on_tcp6(self, data: bytes, peer: str) -> None:
        src = socket.inet_pton(socket.AF_INET6, peer.split("%", 1)[0])
        self._tcp_reply(socket.AF_INET6, src, data)

    def _icmp(self, family: int, quoted: tcp.IcmpUnreachable | None) -> None:
        if quoted is None or quoted.sport != self.sport:
            return
        if quoted.seq != self.cookie(quoted.dst, quoted.dport):
            return
        text = socket.inet_ntop(family, quoted.dst)
        if family == socket.AF_INET6:
            text = _canonical6(text)
        self.result.mark(text, quoted.dport, _ICMP)

    def _on_icmp4(self, data: bytes, _peer: str) -> None:
        pkt = tcp.parse_ipv4(data)
        if pkt.protocol == tcp.PROTO_ICMP:
            self._icmp(socket.AF_INET, tcp.parse_icmp_unreachable(pkt.payload))

    def _on_icmp6(self, data: bytes, _peer: str) -> None:
        self._icmp(socket.AF_INET6, tcp.parse_icmp6_unreachable(data))

    def _watch(self, family: int) -> None:
        v6 = family == socket.AF_INET6
        on_tcp = self._on_tcp6 if v6 else self._on_tcp4
        on_icmp = self._on_icmp6 if v6 else self._on_icmp4
        self.loop.add_reader(self.socks.tcp[family], self._drain, self.socks.tcp[family], on_tcp)
        self.loop.add_reader(self.socks.icmp[family], self._drain, self.socks.icmp[family], on_icmp)

    # -- sending --------------------------------------------------------------------

    async def _refill(self) -> None:
        """Wait for at least one token (``rate`` a second, at most ``burst`` saved up)."""
        while True:
            now = self.loop.time()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.opts.rate)
            self.last = now
            if self.tokens >= 1.0:
                return
            await asyncio.sleep((1.0 - self.tokens) / self.opts.rate)

    def _segment(self, family: int, address: str, port: int) -> bytes | None:
        """The SYN for address:port, or None when the kernel has no route to it."""
        dst = socket.inet_pton(family, address)
        template = self.templates.get((family, port))
        if template is None:
            length = 4 if family == socket.AF_INET else 16
            template = tcp.SynTemplate(self.sport, port, address_length=length)
            self.templates[(family, port)] = template
        if family == socket.AF_INET6:
            return template.build(bytes(16), dst, self.cookie(dst, port))  # the kernel sums
        src = self.socks.source(family, address)
        if src is None:
            return None
        return template.build(src, dst, self.cookie(dst, port))

    async def _send(self, sock: socket.socket, segment: bytes, peer: tuple[str, int]) -> bool:
        """Send one SYN; False when the kernel refused it (classify hands it to connect)."""
        for _ in range(_SEND_RETRIES):
            try:
                sock.sendto(segment, peer)
            except OSError as exc:
                if exc.errno in _SENDQ_FULL:
                    await asyncio.sleep(0.001)
                    continue
                if exc.errno in _NO_ROUTE or exc.errno == errno.EACCES:
                    return False
                raise
            self.result.sent += 1
            return True
        return False

    async def _pass(self, targets: Iterable[Target], retry: bool, last: bool) -> None:
        answers = self.result.answers
        ports = self.opts.ports
        tcp_socks = self.socks.tcp
        for count, target in enumerate(targets):
            if last and not count % _MARK_EVERY:
                self._mark(count)
            address = target.address
            if address is None or "%" in address:
                continue  # names and scoped addresses take the connect path
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family not in tcp_socks:
                if not self.socks.open(family):
                    self.result.unswept.add(family)
                    continue  # classify hands these to the connect path
                self._watch(family)
            bits = answers.get(address, 0) if retry else 0
            for port in _ports_of(target, ports) if target.open_ports else ports:
                if bits and bits >> (ports.index(port) * _BITS) & (_SA | _RST | _ICMP):
                    continue
                segment = self._segment(family, address, port)
                if segment is None:
                    self._refused(address)
                    continue
                if self.tokens < 1.0:
                    await self._refill()
                elif not self.result.sent % _SEND_SLICE:
                    await asyncio.sleep(0)  # CPU slower than the rate: still let replies in
                self.tokens -= 1.0
                if not await self._send(tcp_socks[family], segment, (address, 0)):
                    self._refused(address)

    def _refused(self, address: str) -> None:
        self.result.unroutable += 1
        if len(self.result.refused) < MAX_REFUSED:
            self.result.refused.add(address)

    # -- when is a target's fate known ------------------------------------------------

    def _mark(self, count: int) -> None:
        """The last pass has handled ``count`` targets by now."""
        self.marks.append((count, self.loop.time()))
        self.progress.set()

    async def settled(self, index: int) -> None:
        """Wait until the ``index``-th target (from 0) has had all its SYNs and ``timeout``.

        The last pass leaves a mark every :data:`_MARK_EVERY` targets (count, time); target
        ``index`` is settled once a mark with a larger count is ``timeout`` old, so records
        are written while the sweep is still sending, ``timeout`` behind it.
        """
        while index >= self.ready:
            if self.error is not None:
                raise self.error
            if self.finished:
                self.ready = 1 << 62
                return
            if not self.marks:
                self.progress.clear()
                await self.progress.wait()
                continue
            count, when = self.marks[0]
            wait = when + self.opts.timeout - self.loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.ready = max(self.ready, count)
            self.marks.popleft()

    async def run(self, targets: Callable[[], Iterable[Target]]) -> SweepResult:
        """All passes, then ``timeout`` for the last answers; sockets closed at the end."""
        try:
            started = self.loop.time()
            await self._pass(targets(), retry=False, last=not self.opts.retries)
            for n in range(self.opts.retries):
                # An address's retransmission goes out no sooner than timeout after its SYN.
                await asyncio.sleep(max(0.0, started + self.opts.timeout - self.loop.time()))
                started = self.loop.time()
                await self._pass(targets(), retry=True, last=n == self.opts.retries - 1)
            self._mark(1 << 62)
            await asyncio.sleep(self.opts.timeout)
            for group in (self.socks.tcp, self.socks.icmp):
                for sock in group.values():
                    self.loop.remove_reader(sock)
                    self._drain(sock, self._handler(sock))
        except OSError as exc:
            self.error = SweepError(f"SYN sweep failed: {exc.strerror or exc}")
            raise self.error from exc
        finally:
            self.finished = True
            self.progress.set()
            for group in (self.socks.tcp, self.socks.icmp):
                for sock in group.values():
                    self.loop.remove_reader(sock)
            self.socks.close()
            self.holder.close()
        return self.result

    def _handler(self, sock: socket.socket) -> Callable[[bytes, str], None]:
        v6 = sock.family == socket.AF_INET6
        if sock in self.socks.tcp.values():
            return self._on_tcp6 if v6 else self._on_tcp4
        return self._on_icmp6 if v6 else self._on_icmp4


async def run_sweep(targets: Callable[[], Iterable[Target]], opts: SweepOptions) -> SweepResult:
    """Sweep every literal address of ``targets()`` (called once per pass) on ``opts.ports``.

    Raises :class:`PermissionError` when raw sockets are not allowed.
    """
    if opts.rate <= 0 or opts.timeout <= 0 or not opts.ports:
        raise ValueError("rate and timeout must be positive and ports non-empty")
    return await Sweep(opts, asyncio.get_running_loop()).run(targets)


def _dead_record(
    address: str, hostname: str | None, port: int, bits: int, result: SweepResult
) -> ScanRecord:
    if bits & _RST:
        status, reason = ScanStatus.CLOSED, "closed: RST to SYN (sweep)"
    else:
        status, reason = ScanStatus.FILTERED, result.silent_reason
    return ScanRecord(
        target=address,
        port=port,
        status=status,
        signing_required=None,
        smb1=_NO_SMB1,
        smb2=None,
        reason=reason,
        hostname=hostname,
        transport=transport_for(port),
    )


def _refused(result: SweepResult, address: str) -> bool:
    """Did the kernel refuse a SYN to ``address``? Remembered up to :data:`MAX_REFUSED`
    addresses; past that, asked again (a UDP connect sends nothing)."""
    if address in result.refused:
        return True
    if len(result.refused) < MAX_REFUSED:
        return False
    with socket.socket(_family(address), socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((address, 9))
        except OSError:
            return True
    return False


async def classify(
    targets: Iterable[Target],
    sweep: Sweep,
    *,
    all_ports: bool,
    emit: Callable[[ScanRecord], None],
    on_target: Callable[[], None] | None = None,
) -> AsyncIterator[Target]:
    """Behind the sweep: the targets the connect path must probe; ``emit`` gets the rest.

    ``targets`` is the sweep's target list once more, in the same order; each target is
    handled once :meth:`Sweep.settled` says its answers are in.

    Yielded: names, scoped addresses and addresses not swept (their family could not be
    opened), unchanged; addresses with a SYN-ACK, with ``open_ports`` narrowed to the ports
    that answered (the runner tries only those, in the order given); addresses with an ICMP
    unreachable or a send the kernel refused, unchanged (the connect path reports the exact
    error as it always did). Emitted: one record per silent or RST-answering address, for the
    first port as the runner does (with ``all_ports``, one per port): ``closed`` on a RST,
    else ``filtered`` with a reason naming the sweep; ``on_target`` is called once for each
    target settled here.
    """
    result = sweep.result
    answers = result.answers
    index = {p: i * _BITS for i, p in enumerate(result.ports)}
    first = result.ports[0]
    reason, transport, filtered = result.silent_reason, transport_for(first), ScanStatus.FILTERED
    for count, target in enumerate(targets):
        if count >= sweep.ready:
            await sweep.settled(count)
        elif not count % _YIELD_EVERY:
            await asyncio.sleep(0)  # the probes of the responders run meanwhile
        fast = not all_ports and not result.unswept and len(result.refused) < MAX_REFUSED
        address = target.address
        if address is None or "%" in address or _family(address) in result.unswept:
            yield target
            continue
        bits = answers.get(address, 0)
        if fast and not bits and not target.open_ports and address not in result.refused:
            emit(
                ScanRecord(
                    address,
                    first,
                    filtered,
                    None,
                    _NO_SMB1,
                    None,
                    reason,
                    target.hostname,
                    transport,
                )
            )
            if on_target is not None:
                on_target()
            continue
        ports = _ports_of(target, result.ports)
        if not bits and result.unroutable and _refused(result, address):
            yield target  # the connect scan reports what it always did (e.g. EACCES)
            continue
        per_port = [(p, bits >> index[p] & 7) for p in ports]
        if any(b & _ICMP for _, b in per_port):
            yield target
            continue
        answered = tuple(p for p, b in per_port if b & _SA)
        if all_ports:
            for port, b in per_port:
                if not b & _SA:
                    emit(_dead_record(address, target.hostname, port, b, result))
            if answered:
                yield Target(address, target.hostname, answered)
                continue
        elif answered:
            yield Target(address, target.hostname, answered)
            continue
        else:
            port, b = per_port[0]
            emit(_dead_record(address, target.hostname, port, b, result))
        if on_target is not None:
            on_target()

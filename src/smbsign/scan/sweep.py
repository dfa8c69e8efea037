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
import errno
import hashlib
import os
import socket
import struct
from collections.abc import Callable, Iterable

from smbsign.errors import ProtocolError
from smbsign.protocol import tcp
from smbsign.scan.sweep_result import (
    _BITS,
    _ICMP,
    _RST,
    _SA,
    MAX_REFUSED,
    SweepError,
    SweepOptions,
    SweepResult,
    _canonical6,
    _ports_of,
)
from smbsign.scan.sweep_sockets import _port_holder, _Sockets
from smbsign.scan.targets import Target

__all__ = ["SWEEP_THRESHOLD", "Sweep", "run_sweep"]

SWEEP_THRESHOLD = 256  # --sweep auto sweeps target sets larger than this (a /24)
BURST_SECONDS = 0.05  # the token bucket saves up at most 50 ms of packets
MIN_BURST = 4
_MARK_EVERY = 256  # the last pass notes its progress this often, for classify
_SEND_SLICE = 256  # the sweep lets the loop run at least this often, even behind its rate
_SEND_RETRIES = 200  # a full send queue (ENOBUFS/EAGAIN) is waited out 1 ms at a time
_SENDQ_FULL = {errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK}
_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EINVAL}
_MAX_REPLY = 65535


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

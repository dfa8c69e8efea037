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
import errno
import hashlib
import os
import socket
import struct
from collections.abc import Callable, Iterable

from smbsign.errors import ProtocolError
from smbsign.protocol import tcp
from smbsign.scan.sweep_marks import SETTLED_ALL, Marks
from smbsign.scan.sweep_result import (
    _BITS,
    _ICMP,
    _RST,
    _SA,
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
_NO_SOURCE = bytes(16)  # IPv6: the kernel sums the segment (IPV6_CHECKSUM), no source needed


class Sweep(Marks):
    """One sweep: :meth:`run` sends and listens; :meth:`settled` paces :func:`classify`."""

    def __init__(self, opts: SweepOptions, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop, opts.timeout)
        self.opts = opts
        self.key = os.urandom(16)
        # The keyed state, made once: copying it is cheaper than keying BLAKE2s per SYN.
        self._mac = hashlib.blake2s(key=self.key, digest_size=4)
        self.socks = _Sockets()
        self.result = SweepResult(opts.ports, opts.timeout, tries=1 + opts.retries)
        # The source port: held by a bound (never listening) TCP socket for the whole sweep,
        # so that the kernel's own connections (the NEGOTIATE probes later) never use it.
        self.holder = _port_holder()
        self.sport: int = self.holder.getsockname()[1]
        self.tokens = 0.0
        self.last = loop.time()
        self.templates: dict[tuple[int, int], tcp.SynTemplate] = {}
        self.burst = max(float(MIN_BURST), opts.rate * BURST_SECONDS)

    # -- the cookie --------------------------------------------------------------

    def cookie(self, dst: bytes, dport: int) -> int:
        """Keyed BLAKE2s [RFC 7693] of destination, source port, destination port: 32 bits."""
        mac = self._mac.copy()
        mac.update(dst + struct.pack("!HH", self.sport, dport))
        return int.from_bytes(mac.digest(), "big")

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

    def _template(self, family: int, port: int) -> tcp.SynTemplate:
        template = self.templates.get((family, port))
        if template is None:
            length = 4 if family == socket.AF_INET else 16
            template = tcp.SynTemplate(self.sport, port, address_length=length)
            self.templates[(family, port)] = template
        return template

    def _try_send(self, sock: socket.socket, segment: bytes, peer: tuple[str, int]) -> bool | None:
        """Send one SYN: True sent, False refused by the kernel (classify hands the address to
        the connect path), None when the send queue is full (:meth:`_send_waiting`)."""
        try:
            sock.sendto(segment, peer)
        except OSError as exc:
            if exc.errno in _SENDQ_FULL:
                return None
            if exc.errno in _NO_ROUTE or exc.errno == errno.EACCES:
                return False
            raise
        self.result.sent += 1
        return True

    async def _send_waiting(
        self, sock: socket.socket, segment: bytes, peer: tuple[str, int]
    ) -> bool:
        """A full send queue: wait it out, 1 ms at a time, at most :data:`_SEND_RETRIES` times."""
        for _ in range(_SEND_RETRIES):
            await asyncio.sleep(0.001)
            sent = self._try_send(sock, segment, peer)
            if sent is not None:
                return sent
        return False

    async def _pass(self, targets: Iterable[Target], retry: bool, last: bool) -> None:
        """One SYN per target and port (``retry``: only to ports that stayed silent).

        The hot loop of a sweep (two passes over every address): the segment is built here
        from a per-port template and the keyed state, and the source address is asked of the
        kernel once per address (IPv6: the kernel fills in the checksum, no source needed).
        """
        answers = self.result.answers
        ports = self.opts.ports
        tcp_socks = self.socks.tcp
        source, inet_pton, mac = self.socks.source, socket.inet_pton, self._mac
        words = {port: struct.pack("!HH", self.sport, port) for port in ports}
        for count, target in enumerate(targets):
            if last and not count % _MARK_EVERY:
                self._mark(count)
            address = target.address
            if address is None or "%" in address:
                continue  # names and scoped addresses take the connect path
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = tcp_socks.get(family)
            if sock is None:
                if not self.socks.open(family):
                    self.result.unswept.add(family)
                    continue  # classify hands these to the connect path
                self._watch(family)
                sock = tcp_socks[family]
            bits = answers.get(address, 0) if retry else 0
            dst = inet_pton(family, address)
            src = _NO_SOURCE if family == socket.AF_INET6 else source(family, address)
            for port in _ports_of(target, ports) if target.open_ports else ports:
                if bits and bits >> (ports.index(port) * _BITS) & (_SA | _RST | _ICMP):
                    continue
                if src is None:  # no route: the kernel would refuse the send
                    self.result.refuse(address)
                    continue
                keyed = mac.copy()
                keyed.update(dst + words[port])
                segment = self._template(family, port).build(
                    src, dst, int.from_bytes(keyed.digest(), "big")
                )
                if self.tokens < 1.0:
                    await self._refill()
                elif not self.result.sent % _SEND_SLICE:
                    await asyncio.sleep(0)  # CPU slower than the rate: still let replies in
                self.tokens -= 1.0
                sent = self._try_send(sock, segment, (address, 0))
                if sent is None:
                    sent = await self._send_waiting(sock, segment, (address, 0))
                if not sent:
                    self.result.refuse(address)

    def _mark(self, count: int) -> None:
        """The last pass has handled ``count`` targets by now (:class:`Marks`)."""
        self._mark_at(count, self.loop.time())

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
            self._mark(SETTLED_ALL)
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

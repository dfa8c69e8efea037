"""The SYN sweep's raw sockets: opened per family, the held source port, the permission check."""

from __future__ import annotations

import contextlib
import socket

__all__ = ["raw_sockets_allowed"]

_RCVBUF = 8 << 20
_IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)  # Linux <netinet/in.h>
_TCP_CHECKSUM_OFFSET = 16  # [RFC 9293 3.1]: the kernel fills the IPv6 TCP checksum there


def raw_sockets_allowed() -> str | None:
    """None when this process may open a raw TCP socket (root or CAP_NET_RAW), else why not."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP).close()
    except PermissionError:
        return "raw sockets not permitted (needs root or CAP_NET_RAW)"
    except OSError as exc:
        return f"cannot open a raw socket: {exc.strerror or exc}"
    return None


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

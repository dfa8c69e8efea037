"""Probe one host:port for SMB signing with credential-less NEGOTIATEs (docs/reference.md §5.8).

The only module of smbsign that opens sockets. Per host, at most three short TCP connections,
each one request and one reply, every await bounded by a timeout:

1. connect (``connect_timeout``), on port 139 a NetBIOS SESSION REQUEST first (reference.md §5.2,
   one retry with another called name on a negative answer; retargets are never followed);
2. native SMB2 NEGOTIATE (all five dialects + 3.1.1 contexts on 445; 2.0.2-3.0.2 without
   contexts on 139, docs/reference.md §5.1, with one retry offering 3.1.1 if that gets
   STATUS_NOT_SUPPORTED) - and, once that connection is up, concurrently the
   ``NT LM 0.12``-only SMB1 probe that says whether SMB1 is offered and how it signs;
3. only when step 2 got no SMB2 answer (FIN/RST, an SMB1 reply, or silence from a host that
   does speak SMB1): the SMB1 multi-protocol negotiate, which every stack answers.

Replies are read with a hard cap (``max_response``); close is FIN via the transport. No
SESSION_SETUP, no NetBIOS name service, no DNS (addresses must be literals). The verdict
itself is computed by the pure :func:`smbsign.scan.verdict.decide`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import socket
from dataclasses import dataclass, field

from smbsign.errors import ProtocolError
from smbsign.model import ScanRecord
from smbsign.protocol import netbios, smb1, smb2
from smbsign.protocol.framing import NotSmbError, frame, frame_length
from smbsign.protocol.negotiate import parse_negotiate_response
from smbsign.scan.verdict import Kind, Outcome, decide

__all__ = ["ProbeOptions", "probe_port"]

NETBIOS_PORT = 139
STATUS_NOT_SUPPORTED = 0xC00000BB  # no common dialect [MS-SMB2 3.3.5.4]
_STREAM_LIMIT = 16 * 1024  # StreamReader pauses the socket beyond 2x this: bounded memory
_CLOSE_TIMEOUT = 1.0
_MAX_KEEPALIVES = 3  # NetBIOS keep-alives skipped before a reply [RFC1002 4.3.7]
_MAX_CALLED_NAMES = 2  # *SMBSERVER, then one retry (docs/reference.md §5.2)
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
_SESSION_RESPONSES = (0x82, 0x83, 0x84, 0x85)  # [RFC1002 4.3.3-4.3.7]
_NB_NAME = re.compile(r"[A-Za-z0-9!#$%&'()\-.^_{}~]{1,15}")


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    connect_timeout: float = 2.0
    read_timeout: float = 3.0
    smb1_check: bool = True  # separate NT LM 0.12-only probe: SMB1 offered + its signing
    netbios_name: str = netbios.SMBSERVER  # called name for port 139
    max_response: int = 65536
    client_guid: bytes | None = None  # None: random per probe (docs/reference.md §5.4)
    transport: str = "auto"  # "auto" (netbios on 139, else direct_tcp), "direct_tcp", "netbios"

    def __post_init__(self) -> None:
        if self.transport not in ("auto", "direct_tcp", "netbios"):
            raise ValueError(f"unknown transport {self.transport!r}")


class _Eof(Exception):
    """The peer closed the connection."""


@dataclass(slots=True)
class _Target:
    address: str
    port: int
    opts: ProbeOptions
    called_names: tuple[str, ...] = ()
    good_name: str | None = field(default=None)

    @property
    def netbios(self) -> bool:
        if self.opts.transport == "auto":
            return self.port == NETBIOS_PORT
        return self.opts.transport == "netbios"


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _called_names(first: str, hostname: str | None, address: str) -> tuple[str, ...]:
    """``*SMBSERVER`` (or the configured name), then the hostname's first label or the address."""
    second = address
    if hostname:
        second = hostname.split(".", 1)[0]
    names: list[str] = []
    for name in (first, second[:15]):
        if (name == netbios.SMBSERVER or _NB_NAME.fullmatch(name)) and name.upper() not in names:
            names.append(name.upper())
    return tuple(names[:_MAX_CALLED_NAMES])


async def _connect(target: _Target) -> _Conn | Outcome:
    try:
        async with asyncio.timeout(target.opts.connect_timeout):
            return await asyncio.open_connection(
                target.address,
                target.port,
                limit=_STREAM_LIMIT,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
    except TimeoutError:
        return Outcome(Kind.FILTERED, detail=f"no answer within {target.opts.connect_timeout:g} s")
    except (ConnectionRefusedError, ConnectionResetError):
        return Outcome(Kind.CLOSED, detail="connection refused")
    except socket.gaierror as exc:
        return Outcome(Kind.CONNECT_ERROR, detail=f"invalid address ({exc.strerror})")
    except (ValueError, OverflowError) as exc:  # NUL bytes, IDNA label limits, port range
        return Outcome(Kind.CONNECT_ERROR, detail=f"invalid address or port ({exc})")
    except OSError as exc:
        if exc.errno in _UNREACHABLE:
            return Outcome(Kind.UNREACHABLE, detail=exc.strerror or "")
        return Outcome(Kind.CONNECT_ERROR, detail=exc.strerror or str(exc))


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()  # FIN once the (tiny) send buffer is flushed
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await writer.wait_closed()
    except (TimeoutError, OSError):
        writer.transport.abort()


async def _fill(reader: asyncio.StreamReader, buf: bytearray, size: int) -> None:
    while len(buf) < size:
        chunk = await reader.read(size - len(buf))
        if not chunk:
            raise _Eof
        buf += chunk


def _io_outcome(exc: BaseException, buf: bytearray) -> Outcome:
    """Map an exception raised while exchanging bytes to an outcome."""
    if isinstance(exc, TimeoutError):
        return Outcome(Kind.READ_TIMEOUT, received=len(buf))
    if isinstance(exc, NotSmbError):
        return Outcome(Kind.NOT_SMB, detail=str(exc), received=len(buf))
    if isinstance(exc, ProtocolError):
        return Outcome(Kind.PROTOCOL_ERROR, detail=str(exc), received=len(buf))
    if isinstance(exc, _Eof | ConnectionResetError | BrokenPipeError):
        if not buf:
            return Outcome(Kind.EOF, detail="closed by server before any reply")
        return Outcome(
            Kind.PROTOCOL_ERROR,
            detail=f"truncated: closed after {len(buf)} bytes",
            received=len(buf),
        )
    return Outcome(Kind.IO_ERROR, detail=str(exc), received=len(buf))


def _session_length(header: bytes, cap: int) -> int:
    """Trailer length of a session response header, refusing anything else before reading.

    A declared trailer longer than the fixed fields (names echoed after a POSITIVE response,
    RFC1002 4.3.3) is read and ignored, up to the same cap as a NEGOTIATE reply.
    """
    if header[0] not in _SESSION_RESPONSES:
        raise NotSmbError(f"not a NetBIOS session response (type 0x{header[0]:02X})")
    _, length = netbios.parse_session_header(header)
    if length > cap:
        raise ProtocolError(
            f"session response of {length} bytes exceeds cap {cap}", where="netbios"
        )
    return length


async def _session(conn: _Conn, target: _Target, called: str) -> netbios.SessionResponse | Outcome:
    """NetBIOS SESSION REQUEST and its response [RFC1002 4.3.2-4.3.7]."""
    reader, writer = conn
    buf = bytearray()
    try:
        writer.write(netbios.build_session_request(called))
        async with asyncio.timeout(target.opts.read_timeout):
            await writer.drain()
            for _ in range(_MAX_KEEPALIVES + 1):
                buf.clear()
                await _fill(reader, buf, 4)
                await _fill(reader, buf, 4 + _session_length(bytes(buf), target.opts.max_response))
                resp = netbios.parse_session_response(bytes(buf))
                if resp.kind is not netbios.SessionResponseKind.KEEPALIVE:
                    return resp
        return Outcome(Kind.PROTOCOL_ERROR, detail="only NetBIOS keep-alives received")
    except (TimeoutError, ProtocolError, _Eof, OSError) as exc:
        return _io_outcome(exc, buf)


async def _open(target: _Target) -> _Conn | Outcome:
    """Connect; on port 139 also establish the NetBIOS session (one retry, bounded)."""
    if not target.netbios:
        return await _connect(target)
    names = (target.good_name,) if target.good_name else target.called_names
    refused: Outcome | None = None
    for name in names:
        conn = await _connect(target)
        if isinstance(conn, Outcome):
            return conn
        try:
            answer = await _session(conn, target, name)
        except BaseException:
            await _close(conn[1])
            raise
        if isinstance(answer, netbios.SessionResponse) and (
            answer.kind is netbios.SessionResponseKind.POSITIVE
        ):
            target.good_name = name
            return conn
        await _close(conn[1])
        if isinstance(answer, Outcome):
            return answer
        if answer.kind is netbios.SessionResponseKind.RETARGET and answer.retarget:
            host, port = answer.retarget
            return Outcome(Kind.NETBIOS_REFUSED, detail=f"retarget to {host}:{port} not followed")
        refused = Outcome(
            Kind.NETBIOS_REFUSED,
            detail=f"called name {name}: {answer.error_text} (0x{answer.error_code or 0:02X})",
        )
    return refused or Outcome(Kind.NETBIOS_REFUSED, detail="no usable called name")


async def _roundtrip(conn: _Conn, target: _Target, request: bytes) -> Outcome:
    """Send one framed request and read one framed reply, capped and within read_timeout."""
    reader, writer = conn
    buf = bytearray()
    try:
        writer.write(frame(request, netbios=target.netbios))
        async with asyncio.timeout(target.opts.read_timeout):
            await writer.drain()
            for _ in range(_MAX_KEEPALIVES + 1):
                await _fill(reader, buf, 4)
                if not (target.netbios and bytes(buf[:4]) == b"\x85\x00\x00\x00"):
                    break
                buf.clear()  # NetBIOS keep-alive [RFC1002 4.3.7]
            length = frame_length(
                bytes(buf[:4]), max_length=target.opts.max_response, netbios=target.netbios
            )
            await _fill(reader, buf, 4 + min(length, 4))
            if length >= 4 and bytes(buf[4:8]) not in (smb2.SMB2_MAGIC, smb1.SMB1_MAGIC):
                raise NotSmbError(f"not SMB (first bytes {bytes(buf[4:8]).hex()})")
            await _fill(reader, buf, 4 + length)
        return Outcome(Kind.REPLY, parse_negotiate_response(bytes(buf[4:])), received=len(buf))
    except (TimeoutError, ProtocolError, _Eof, OSError) as exc:
        return _io_outcome(exc, buf)


async def _exchange(target: _Target, request: bytes) -> Outcome:
    conn = await _open(target)
    if isinstance(conn, Outcome):
        return conn
    try:
        return await _roundtrip(conn, target, request)
    finally:
        await _close(conn[1])


def _not_supported(outcome: Outcome) -> bool:
    resp = outcome.response
    return isinstance(resp, smb2.Smb2NegotiateResponse) and resp.status == STATUS_NOT_SUPPORTED


def _needs_fallback(native: Outcome, smb1_only: Outcome | None) -> bool:
    """docs/reference.md §5.8 step 3: no SMB2 answer from an (apparently) SMB server."""
    if native.kind is Kind.EOF:
        return True
    if native.kind is Kind.REPLY:
        return isinstance(native.response, smb1.Smb1NegotiateResponse)
    if native.kind is Kind.READ_TIMEOUT and native.received == 0:
        # SMB1-only stacks stay silent to a native SMB2 negotiate (reference.md §5.7); ask again
        # only if the host is known to speak SMB1 or SMB1 was not checked.
        if smb1_only is None:
            return True
        resp = smb1_only.response
        return isinstance(resp, smb1.Smb1NegotiateResponse) and resp.accepted
    return False


def _smb2_request(target: _Target, *, full: bool = False) -> bytes:
    guid = target.opts.client_guid or os.urandom(16)
    if target.netbios and not full:
        return smb2.build_negotiate_request(
            client_guid=guid, dialects=smb2.NETBIOS_DIALECTS, contexts=False
        )
    return smb2.build_negotiate_request(client_guid=guid, salt=os.urandom(32))


async def probe_port(
    address: str, port: int, opts: ProbeOptions, *, hostname: str | None = None
) -> ScanRecord:
    """Probe *address* (an IPv4/IPv6 literal, IPv6 may carry ``%scope``) on *port*.

    Never raises for anything the network does; the result says what happened. Port 139 uses
    the NetBIOS session service, every other port Direct TCP (``opts.transport`` overrides).
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    target = _Target(address, port, opts)
    if target.netbios:
        target.called_names = _called_names(opts.netbios_name, hostname, address)
    smb1_only: Outcome | None = None
    multi: Outcome | None = None
    conn = await _open(target)
    if isinstance(conn, Outcome):
        native = conn
    else:
        try:
            if opts.smb1_check:
                native, smb1_only = await asyncio.gather(
                    _roundtrip(conn, target, _smb2_request(target)),
                    _exchange(target, smb1.build_negotiate_request()),
                )
            else:
                native = await _roundtrip(conn, target, _smb2_request(target))
        finally:
            await _close(conn[1])
        if target.netbios and _not_supported(native):
            # SMB3_11-only server on 139: offer 3.1.1 after all (Samba negotiates it there,
            # docs/reference.md §5.1); keep the first answer unless this one is a reply.
            retry = await _exchange(target, _smb2_request(target, full=True))
            native = retry if retry.kind is Kind.REPLY else native
        if _needs_fallback(native, smb1_only):
            request = smb1.build_negotiate_request(smb1.MULTI_PROTOCOL_DIALECTS)
            multi = await _exchange(target, request)
    verdict = decide(native, smb1_only, multi)
    return ScanRecord(
        target=address,
        port=port,
        status=verdict.status,
        signing_required=verdict.signing_required,
        smb1=verdict.smb1,
        smb2=verdict.smb2,
        reason=verdict.reason,
        hostname=hostname,
        transport="netbios" if target.netbios else "direct_tcp",
        elapsed_ms=round((loop.time() - started) * 1000, 3),
    )

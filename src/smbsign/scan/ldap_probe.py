"""LDAP signing and LDAPS channel binding of one host, over the network (issue #12; docs/ldap.md).

Per host, a handful of short connections, each at most two bind round trips, every read
bounded by ``read_timeout`` and ``max_message`` and the whole host by ``host_deadline``:

Signing (389). An NTLM bind whose NEGOTIATE does not ask for signing (no
NTLMSSP_NEGOTIATE_SIGN/SEAL, MS-NLMP 2.2.2.5) is refused with resultCode 8
strongerAuthRequired by a server that requires signing (MS-ADTS 3.1.1.3.4.1.2 ``LDAP server
signing requirements``; smb.conf(5) ``ldap server require strong auth``). First anonymously
(method ``unauthenticated``); the server's answer decides only when it is 8 (``required``) or
success (``not_required``). When the anonymous bind is refused (resultCode 49: anonymous NTLM
not accepted) the same bind is made with the credentials given (method ``authenticated``);
without credentials the verdict stays ``unknown``.

Channel binding (636). An NTLM bind over TLS without a channel-binding token, then one with a
wrong token (random bytes in MsvAvChannelBindings, MS-NLMP 2.2.2.1; RFC 5929 4.1 defines the
right one). Active Directory refuses an unbound or wrongly bound NTLM bind with resultCode 49
and ``data 80090346`` (SEC_E_BAD_BINDINGS) before it checks the password, so a made-up
account (never locked out: it does not exist) proves ``always`` (no token refused) and
``when_supported`` (no token gets as far as the password, a wrong token is refused). ``never``
is reported only when a bind with a wrong token *succeeds*, which takes the credentials given.
TCP refused on 636 or a failed TLS handshake is ``no_tls``.

Everything else (NTLM not offered, resets, timeouts, odd replies, a bind refused for the
credentials) is ``unknown`` with the reason; never ``not_required`` or ``never``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from smbsign.collect.winreg_remote import Credentials
from smbsign.errors import ProtocolError
from smbsign.model import ChannelBinding, LdapObservation, LdapSigning
from smbsign.protocol import ldap as wire

__all__ = ["LdapProbeOptions", "probe_ldap"]

BAD_BINDINGS = "80090346"  # SEC_E_BAD_BINDINGS
LOGON_FAILURE = "52e"  # ERROR_LOGON_FAILURE
_STREAM_LIMIT = 16 * 1024
_CLOSE_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class LdapProbeOptions:
    ldap: bool = True  # probe signing on ldap_port
    ldaps: bool = True  # probe channel binding on ldaps_port
    connect_timeout: float = 2.0
    read_timeout: float = 3.0
    host_deadline: float = 20.0  # everything for one host
    max_message: int = 65536
    credentials: Credentials | None = field(default=None, repr=False)
    ldap_port: int = 389
    ldaps_port: int = 636


class _Unknown(Exception):
    """This check cannot decide; the message is the reason."""


class _Closed(_Unknown):
    """TCP refused."""


class _TlsFailed(_Unknown):
    """TCP up, TLS handshake refused or broken."""


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _tls_context() -> ssl.SSLContext:
    """No verification: only whether TLS is offered and what a bind over it gets matters."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _connect(address: str, port: int, opts: LdapProbeOptions, *, tls: bool) -> _Conn:
    try:
        async with asyncio.timeout(opts.connect_timeout):
            sock_conn = await asyncio.open_connection(
                address,
                port,
                limit=_STREAM_LIMIT,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
    except TimeoutError:
        raise _Unknown(f"port {port} filtered (no answer in {opts.connect_timeout:g} s)") from None
    except (ConnectionRefusedError, ConnectionResetError):
        raise _Closed(f"port {port} closed") from None
    except (OSError, ValueError, OverflowError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise _Unknown(f"port {port}: {why}") from None
    if not tls:
        return sock_conn
    reader, writer = sock_conn
    try:
        async with asyncio.timeout(opts.read_timeout):
            await writer.start_tls(_tls_context())
    except TimeoutError:
        writer.transport.abort()
        raise _Unknown(f"TLS handshake on {port} timed out") from None
    except (ssl.SSLError, ConnectionError, OSError) as exc:
        writer.transport.abort()
        why = getattr(exc, "reason", None) or type(exc).__name__
        raise _TlsFailed(f"TLS handshake on {port} failed ({why})") from None
    return reader, writer


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await writer.wait_closed()
    except (TimeoutError, OSError, ssl.SSLError):
        writer.transport.abort()


def _why(exc: ProtocolError) -> str:
    return str(exc).removeprefix(f"{exc.where}: ") if exc.where else str(exc)


async def _read_message(reader: asyncio.StreamReader, cap: int) -> bytes:
    buf = bytearray()
    need: int | None = None
    while need is None or len(buf) < need:
        want = (need - len(buf)) if need is not None else (2 if len(buf) < 2 else 1)
        chunk = await reader.read(min(want, _STREAM_LIMIT))
        if not chunk:
            if not buf:
                raise _Unknown("closed by the server before any reply")
            raise _Unknown(f"closed by the server after {len(buf)} bytes of a reply")
        buf += chunk
        if need is None and len(buf) <= wire.HEADER_MAX:
            need = wire.message_length(bytes(buf), cap)
    return bytes(buf)


async def _roundtrip(conn: _Conn, request: bytes, opts: LdapProbeOptions) -> wire.BindResult:
    reader, writer = conn
    try:
        async with asyncio.timeout(opts.read_timeout):
            writer.write(request)
            await writer.drain()
            data = await _read_message(reader, opts.max_message)
    except TimeoutError:
        raise _Unknown(f"no complete reply within {opts.read_timeout:g} s") from None
    except ProtocolError as exc:
        raise _Unknown(f"odd reply: {_why(exc)}") from None
    except (ConnectionError, OSError, ssl.SSLError) as exc:
        raise _Unknown(f"connection lost ({type(exc).__name__})") from None
    try:
        return wire.parse_bind_response(data)
    except ProtocolError as exc:
        raise _Unknown(f"odd reply: {_why(exc)}") from None


async def _bind(
    address: str, port: int, opts: LdapProbeOptions, ntlm: wire.NtlmBind, *, tls: bool
) -> wire.BindResult:
    """One NTLM bind on a fresh connection; the final (or the first refusing) BindResponse."""
    conn = await _connect(address, port, opts, tls=tls)
    try:
        first = await _roundtrip(conn, wire.bind_request(1, ntlm.first), opts)
        if first.result_code != wire.RESULT_SASL_BIND_IN_PROGRESS:
            return first
        try:
            token = ntlm.second(first.sasl_creds)
        except ProtocolError as exc:
            raise _Unknown(f"odd reply: {_why(exc)}") from None
        return await _roundtrip(conn, wire.bind_request(2, token), opts)
    finally:
        await _close(conn[1])


def _first_step(result: wire.BindResult) -> str | None:
    """Why a bind that never got to AUTHENTICATE says nothing (None: it did get there)."""
    if result.result_code == wire.RESULT_AUTH_METHOD_NOT_SUPPORTED:
        return f"NTLM (GSS-SPNEGO) bind not offered ({result.describe()})"
    return None


# ----------------------------------------------------------------------------- signing


def _creds_bind(
    creds: Credentials, *, channel_binding: bytes = b"", sign: bool = False
) -> wire.NtlmBind:
    """An NTLM bind as ``creds`` (MsvAvChannelBindings when given; signing asked if ``sign``)."""
    return wire.NtlmBind(
        creds.user,
        creds.password,
        creds.domain,
        creds.nthash,
        sign=sign,
        channel_binding=channel_binding,
    )


def signing_verdict(result: wire.BindResult, *, authenticated: bool) -> tuple[LdapSigning, str]:
    """Pure: what one unsigned NTLM bind's final answer says about signing."""
    who = "an authenticated" if authenticated else "an anonymous"
    if result.result_code == wire.RESULT_STRONGER_AUTH_REQUIRED:
        return LdapSigning.REQUIRED, f"{who} NTLM bind without signing: strongerAuthRequired"
    if result.result_code == wire.RESULT_SUCCESS:
        return LdapSigning.NOT_REQUIRED, f"{who} NTLM bind without signing succeeded"
    why = _first_step(result) or f"{who} NTLM bind without signing refused: {result.describe()}"
    return LdapSigning.UNKNOWN, why


async def _signing(address: str, opts: LdapProbeOptions) -> tuple[LdapSigning, str, bool]:
    """(verdict, reason, credentials used)."""
    port = opts.ldap_port
    try:
        anon = await _bind(address, port, opts, wire.NtlmBind(sign=False), tls=False)
    except _Unknown as exc:
        return LdapSigning.UNKNOWN, f"ldap: {exc}", False
    verdict, why = signing_verdict(anon, authenticated=False)
    if verdict is not LdapSigning.UNKNOWN or anon.result_code != wire.RESULT_INVALID_CREDENTIALS:
        return verdict, f"ldap: {why}", False
    if opts.credentials is None:
        return LdapSigning.UNKNOWN, f"ldap: {why}; give --user to decide", False
    try:
        authed = await _bind(address, port, opts, _creds_bind(opts.credentials), tls=False)
    except _Unknown as exc:
        return LdapSigning.UNKNOWN, f"ldap: {exc}", True
    verdict, why = signing_verdict(authed, authenticated=True)
    return verdict, f"ldap: {why}", True


# ----------------------------------------------------------------------- channel binding


def _bad_bindings(result: wire.BindResult) -> bool:
    return (
        result.result_code == wire.RESULT_INVALID_CREDENTIALS and result.data_code == BAD_BINDINGS
    )


def channel_binding_verdict(
    no_token: wire.BindResult, wrong_token: wire.BindResult | None, *, authenticated: bool
) -> tuple[ChannelBinding, str]:
    """Pure: the verdict from the bind without a token and (if made) the one with a wrong one."""
    if _bad_bindings(no_token):
        return ChannelBinding.ALWAYS, "NTLM bind without a channel-binding token: data 80090346"
    if no_token.result_code == wire.RESULT_SUCCESS:
        first_answer = "accepted"
    elif not authenticated and no_token.result_code == wire.RESULT_INVALID_CREDENTIALS:
        first_answer = f"refused only for the made-up account ({no_token.describe()})"
    else:
        why = _first_step(no_token) or no_token.describe()
        return ChannelBinding.UNKNOWN, f"NTLM bind without a token refused: {why}"
    if wrong_token is None:
        return ChannelBinding.UNKNOWN, f"bind without a token {first_answer}; no second bind"
    if _bad_bindings(wrong_token):
        return (
            ChannelBinding.WHEN_SUPPORTED,
            f"no token {first_answer}, a wrong token refused (data 80090346)",
        )
    if wrong_token.result_code == wire.RESULT_SUCCESS:
        return ChannelBinding.NEVER, f"no token {first_answer}, a wrong token accepted"
    if not authenticated and wrong_token.result_code == wire.RESULT_INVALID_CREDENTIALS:
        return (
            ChannelBinding.UNKNOWN,
            f"no token {first_answer}, a wrong token too ({wrong_token.describe()}): only a "
            "successful bind with a wrong token proves 'never'; give --user to decide",
        )
    return ChannelBinding.UNKNOWN, f"NTLM bind with a wrong token: {wrong_token.describe()}"


def _probe_account() -> Credentials:
    """A made-up account: a refused logon, never a lockout (the account does not exist)."""
    return Credentials(f"smbsign-probe-{os.urandom(4).hex()}", "", password=os.urandom(12).hex())


async def _channel_binding(
    address: str, opts: LdapProbeOptions
) -> tuple[ChannelBinding, str, bool]:
    creds = opts.credentials
    authenticated = creds is not None
    account = creds if creds is not None else _probe_account()
    port = opts.ldaps_port

    sign = False

    async def bind(cbt: bytes) -> wire.BindResult:
        ntlm = _creds_bind(account, channel_binding=cbt, sign=sign)
        return await _bind(address, port, opts, ntlm, tls=True)

    note = ""
    try:
        no_token = await bind(b"")
        if no_token.result_code == wire.RESULT_STRONGER_AUTH_REQUIRED:
            # Samba's "ldap server require strong auth = yes" wants sign/seal even over TLS
            # (smb.conf(5)); the tokens are then tested on binds that ask for signing.
            sign = True
            note = " (unsigned NTLM binds over TLS refused with strongerAuthRequired; tested "
            note += "with signing asked)"
            no_token = await bind(b"")
        verdict, why = channel_binding_verdict(no_token, None, authenticated=authenticated)
        if verdict is ChannelBinding.UNKNOWN and why.endswith("no second bind"):
            wrong = await bind(wire.wrong_channel_binding())
            verdict, why = channel_binding_verdict(no_token, wrong, authenticated=authenticated)
    except (_Closed, _TlsFailed) as exc:
        return ChannelBinding.NO_TLS, f"ldaps: {exc}", False
    except _Unknown as exc:
        return ChannelBinding.UNKNOWN, f"ldaps: {exc}{note}", authenticated
    return verdict, f"ldaps: {why}{note}", authenticated


async def probe_ldap(address: str, opts: LdapProbeOptions) -> LdapObservation:
    """Signing and channel binding of ``address`` (an IP literal); never raises for the network."""
    signing: tuple[LdapSigning, str, bool] = (LdapSigning.UNKNOWN, "ldap: not probed", False)
    binding: tuple[ChannelBinding, str, bool] = (
        ChannelBinding.UNKNOWN,
        "ldaps: not probed",
        False,
    )
    steps: list[Callable[[], Awaitable[None]]] = []

    async def do_signing() -> None:
        nonlocal signing
        signing = await _signing(address, opts)

    async def do_binding() -> None:
        nonlocal binding
        binding = await _channel_binding(address, opts)

    if opts.ldap:
        steps.append(do_signing)
    if opts.ldaps:
        steps.append(do_binding)
    try:
        async with asyncio.timeout(opts.host_deadline):
            await asyncio.gather(*(step() for step in steps))
    except TimeoutError:
        late = f"host deadline of {opts.host_deadline:g} s reached"
        if signing[1] == "ldap: not probed" and opts.ldap:
            signing = (LdapSigning.UNKNOWN, f"ldap: {late}", False)
        if binding[1] == "ldaps: not probed" and opts.ldaps:
            binding = (ChannelBinding.UNKNOWN, f"ldaps: {late}", False)
    return LdapObservation(
        signing=signing[0],
        channel_binding=binding[0],
        method="authenticated" if signing[2] or binding[2] else "unauthenticated",
        reason="; ".join((signing[1], binding[1])),
    )

"""Fake LDAP servers on real loopback sockets for the LDAP probe tests (issue #12).

:class:`WindowsLikeDc` answers GSS-SPNEGO NTLM binds the way an Active Directory domain
controller does; the bytes are synthesised here, in the shape Windows sends them:

- the bind answers are RFC 4511 4.2.2 BindResponses (built with impacket's ldapasn1);
- the CHALLENGE carries the AV pairs a DC sends (NetBIOS/DNS names, timestamp), MS-NLMP 2.2.1.2;
- ``LDAPServerIntegrity=2`` refuses, at the AUTHENTICATE step, a bind whose NEGOTIATE did not
  ask for signing, with resultCode 8 and the diagnostic text Windows uses ("The server requires
  binds to turn on integrity checking if SSL\\TLS are not already active on the connection",
  as quoted in pingidentity/ldapsdk issue 96 and AgNO3/jcifs-ng issue 255);
- ``LdapEnforceChannelBinding`` 2 refuses a missing token, 1 and 2 a wrong token, with
  resultCode 49 and ``data 80090346`` (SEC_E_BAD_BINDINGS; Microsoft KB4520412 "2020 LDAP
  channel binding and LDAP signing requirements"), before the password is looked at, which
  NetExec's and LdapRelayScan's unauthenticated checks rely on; a wrong password is resultCode
  49 ``data 52e`` in the format quoted in Pennyw0rth/NetExec issue 566.

Samba does not have these behaviours (docs/ldap.md has what Samba 4.17 measurably does).
Hostile servers (garbage, huge lengths, drip, reset, silence) are :class:`Hostile` modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from impacket import ntlm
from impacket.ldap import ldapasn1
from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp
from pyasn1.codec.ber import decoder, encoder
from wazuh_fake import make_cert

VALID_USER = "alice"
STRONGER = (
    "00002028: LdapErr: DSID-0C090259, comment: The server requires binds to turn on integrity "
    "checking if SSL\\TLS are not already active on the connection, data 0, v4563"
)
BAD_BINDINGS = (
    "80090346: LdapErr: DSID-0C0906B5, comment: AcceptSecurityContext error, data 80090346, v4563"
)
LOGON_FAILURE = (
    "8009030C: LdapErr: DSID-0C0906B5, comment: AcceptSecurityContext error, data 52e, v4563"
)


def bind_response(msg_id: int, code: int, diag: str = "", creds: bytes | None = None) -> bytes:
    resp = ldapasn1.BindResponse()
    resp["resultCode"] = code
    resp["matchedDN"] = ""
    resp["diagnosticMessage"] = diag
    if creds is not None:
        resp["serverSaslCreds"] = creds
    msg = ldapasn1.LDAPMessage()
    msg["messageID"] = msg_id
    msg["protocolOp"].setComponentByType(resp.getTagSet(), resp)
    return bytes(encoder.encode(msg))


def notice_of_disconnection(code: int = 2, diag: str = "") -> bytes:
    resp = ldapasn1.ExtendedResponse()
    resp["resultCode"] = code
    resp["matchedDN"] = ""
    resp["diagnosticMessage"] = diag
    resp["responseName"] = "1.3.6.1.4.1.1466.20036"
    msg = ldapasn1.LDAPMessage()
    msg["messageID"] = 0
    msg["protocolOp"].setComponentByType(resp.getTagSet(), resp)
    return bytes(encoder.encode(msg))


def challenge_message() -> bytes:
    """An NTLM CHALLENGE as a DC sends it [MS-NLMP 2.2.1.2], with its AV pairs."""
    av = ntlm.AV_PAIRS()
    av[ntlm.NTLMSSP_AV_HOSTNAME] = "DC1".encode("utf-16le")
    av[ntlm.NTLMSSP_AV_DOMAINNAME] = "LAB".encode("utf-16le")
    av[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = "dc1.lab.example".encode("utf-16le")
    av[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = "lab.example".encode("utf-16le")
    av[ntlm.NTLMSSP_AV_TIME] = struct.pack("<q", 133_000_000_000_000_000)
    ch = ntlm.NTLMAuthChallenge()
    ch["flags"] = (
        ntlm.NTLMSSP_NEGOTIATE_UNICODE
        | ntlm.NTLMSSP_NEGOTIATE_NTLM
        | ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
        | ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO
        | ntlm.NTLMSSP_NEGOTIATE_SIGN
        | ntlm.NTLMSSP_NEGOTIATE_SEAL
        | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
        | ntlm.NTLMSSP_NEGOTIATE_128
        | ntlm.NTLMSSP_NEGOTIATE_56
        | ntlm.NTLMSSP_TARGET_TYPE_DOMAIN
        | ntlm.NTLMSSP_NEGOTIATE_VERSION
    )
    ch["Version"] = b"\x0a\x00\x63\x45\x00\x00\x00\x0f"  # 10.0.17763, NTLM revision 15
    ch["challenge"] = b"\x11" * 8
    domain = "LAB".encode("utf-16le")
    ch["domain_name"] = domain
    ch["domain_offset"] = 56
    ch["TargetInfoFields"] = av.getData()
    ch["TargetInfoFields_offset"] = 56 + len(domain)
    return bytes(ch.getData())


def sasl_challenge() -> bytes:
    resp = SPNEGO_NegTokenResp()
    resp["NegState"] = b"\x01"
    resp["SupportedMech"] = b""
    resp["ResponseToken"] = challenge_message()
    return bytes(resp.getData())


@dataclass(frozen=True, slots=True)
class Authenticate:
    user: str
    negotiate_flags: int
    channel_binding: bytes | None  # MsvAvChannelBindings, None when absent


def parse_request(data: bytes) -> tuple[int, bytes]:
    msg, _ = decoder.decode(data, asn1Spec=ldapasn1.LDAPMessage())
    bind = msg["protocolOp"]["bindRequest"]
    assert str(bind["authentication"]["sasl"]["mechanism"]) == "GSS-SPNEGO"
    return int(msg["messageID"]), bytes(bind["authentication"]["sasl"]["credentials"])


def negotiate_flags(creds: bytes) -> int:
    token = bytes(SPNEGO_NegTokenInit(creds)["MechToken"])
    neg = ntlm.NTLMAuthNegotiate()
    neg.fromString(token)
    return int(neg["flags"])


def parse_authenticate(creds: bytes, flags: int) -> Authenticate:
    token = bytes(SPNEGO_NegTokenResp(creds)["ResponseToken"])
    auth = ntlm.NTLMAuthChallengeResponse()
    auth.fromString(token)
    user = bytes(auth["user_name"]).decode("utf-16le")
    nt = bytes(auth["ntlm"])
    cbt: bytes | None = None
    if len(nt) > 44:  # NTProofStr (16) + the fixed NTLMv2_CLIENT_CHALLENGE header (28)
        pairs = ntlm.AV_PAIRS(nt[44:])
        got = pairs[ntlm.NTLMSSP_AV_CHANNEL_BINDINGS]
        cbt = bytes(got[1]) if got is not None else None
    return Authenticate(user, flags, cbt)


@dataclass
class WindowsLikeDc:
    """Answers like an AD DC configured with these two registry values (see module doc)."""

    server_integrity: int = 1  # LDAPServerIntegrity
    enforce_channel_binding: int = 0  # LdapEnforceChannelBinding
    anonymous_ntlm: bool = True  # an anonymous NTLM AUTHENTICATE is accepted
    ntlm: bool = True  # GSS-SPNEGO with NTLM offered at all
    stronger_at_negotiate: bool = False  # integrity refusal already at the NEGOTIATE
    # Samba "ldap server require strong auth = yes" (measured, docs/ldap.md): over TLS an
    # unsigned bind gets 8 and one asking for signing gets 53; None: not this behaviour
    tls_signed_answer: int | None = None
    seen: list[Authenticate] = field(default_factory=list)

    def answer(self, msg_id: int, creds: bytes, state: dict[str, int], tls: bool) -> bytes:
        if not self.ntlm:
            return bind_response(
                msg_id,
                7,
                "00002027: LdapErr: DSID-0C090A1A, comment: Unknown authentication mechanism",
            )
        if creds[:1] == b"\x60":  # NegTokenInit: the NEGOTIATE
            state["flags"] = negotiate_flags(creds)
            unsigned = not state["flags"] & ntlm.NTLMSSP_NEGOTIATE_SIGN
            if self.stronger_at_negotiate and not tls and self.server_integrity == 2 and unsigned:
                return bind_response(msg_id, 8, STRONGER)
            return bind_response(msg_id, 14, "", sasl_challenge())
        auth = parse_authenticate(creds, state.get("flags", 0))
        self.seen.append(auth)
        if tls and self.tls_signed_answer is not None:
            if not auth.negotiate_flags & ntlm.NTLMSSP_NEGOTIATE_SIGN:
                return bind_response(msg_id, 8, "SASL:[GSS-SPNEGO]: Sign or Seal are required.")
            if self.tls_signed_answer:
                return bind_response(msg_id, self.tls_signed_answer, "Sign or Seal not allowed")
        if tls:
            if auth.channel_binding is None and self.enforce_channel_binding == 2:
                return bind_response(msg_id, 49, BAD_BINDINGS)
            if auth.channel_binding is not None and self.enforce_channel_binding >= 1:
                return bind_response(msg_id, 49, BAD_BINDINGS)  # never the right token here
        elif self.server_integrity == 2 and not auth.negotiate_flags & ntlm.NTLMSSP_NEGOTIATE_SIGN:
            return bind_response(msg_id, 8, STRONGER)
        if auth.user == "":
            return bind_response(
                msg_id,
                0 if self.anonymous_ntlm else 49,
                "" if self.anonymous_ntlm else LOGON_FAILURE,
            )
        if auth.user == VALID_USER:
            return bind_response(msg_id, 0)
        return bind_response(msg_id, 49, LOGON_FAILURE)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_message(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(2)
    if head[1] & 0x80:
        extra = await reader.readexactly(head[1] & 0x7F)
        length = int.from_bytes(extra, "big")
        head += extra
    else:
        length = head[1]
    return head + await reader.readexactly(length)


def dc_handler(dc: WindowsLikeDc, *, tls: bool) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state: dict[str, int] = {}
        try:
            while True:
                msg_id, creds = parse_request(await read_message(reader))
                writer.write(dc.answer(msg_id, creds, state, tls))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


def hostile_handler(mode: str) -> Handler:
    """One hostile behaviour after the first request: ``garbage``, ``not_ber``, ``huge``,
    ``drip``, ``reset``, ``silent``, ``eof``, ``notice``, ``truncated``, ``deep``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_message(reader)
            if mode == "garbage":
                writer.write(b"\x30\x05\xff\xfe\xfd\xfc\xfb")
            elif mode == "not_ber":
                writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            elif mode == "huge":
                writer.write(b"\x30\x84\x7f\xff\xff\xff" + b"A" * 1024)
            elif mode == "drip":
                writer.write(b"\x30\x82\x10\x00")
                for _ in range(10_000):
                    writer.write(b"\x00")
                    await writer.drain()
                    await asyncio.sleep(0.05)
            elif mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "silent":
                await asyncio.sleep(60)
            elif mode == "notice":
                writer.write(notice_of_disconnection(2, "00002024: LdapErr: DSID-0C060810"))
            elif mode == "truncated":
                writer.write(bind_response(1, 14, "", sasl_challenge())[:20])
            elif mode == "deep":
                writer.write(b"\x30\x82\x0f\xa0" + b"\x30\x80" * 2000)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if mode == "reset":
                writer.transport.abort()
            else:
                writer.close()

    return handle


def self_signed(tmp: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate (as Samba makes for LDAPS)."""
    cert_path, key_path = make_cert(tmp)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


@contextlib.asynccontextmanager
async def serve(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Listen on 127.0.0.1 (an ephemeral port, yielded) until the block ends."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)

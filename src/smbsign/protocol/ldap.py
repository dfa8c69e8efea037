"""LDAP bind messages for the LDAP relay-exposure probe (RFC 4511 4.2, MS-ADTS 5.1.1.1).

Bytes in, values out; every malformed reply is a :class:`~smbsign.errors.ProtocolError`.

Taken from maintained libraries (impacket, the project's ``remote`` extra):

- LDAP messages are encoded and decoded with ``impacket.ldap.ldapasn1`` (the pyasn1 specs of
  RFC 4511 4.1-4.2 with Active Directory's Sicily/SASL choices);
- NTLMSSP NEGOTIATE and AUTHENTICATE come from ``impacket.ntlm`` (``getNTLMSSPType1``,
  ``getNTLMSSPType3``). Its NTLMv2 response puts a channel-binding token given to it into the
  ``MsvAvChannelBindings`` AV pair of the response's target info, *before* NTProofStr is
  computed [MS-NLMP 2.2.2.1, 3.3.2]; the MIC over NEGOTIATE, CHALLENGE and AUTHENTICATE
  [MS-NLMP 3.1.5.1.2] is computed afterwards here, as impacket's own LDAP SASL bind does. A
  wrong token is therefore inside every hash the server checks;
- SPNEGO wrapping (the ``GSS-SPNEGO`` SASL mechanism, MS-ADTS 5.1.1.1.2) from ``impacket.spnego``.

Written here, and why: impacket's ``LDAPConnection`` reads a reply until a short ``recv`` with
no size cap and no timeout (``recv_raw``), and opens its own blocking socket, so it cannot be
pointed at a hostile server. This module only decides how long the next LDAP message is
(:func:`message_length`, one BER header, refused beyond a cap before anything is buffered),
decodes one bounded message, and reads Active Directory's ``data XXXX`` code out of the
diagnostic message (MS-ADTS 3.1.1.3.1.9: the Win32 error after ``data``; ``80090346`` is
SEC_E_BAD_BINDINGS, ``52e`` ERROR_LOGON_FAILURE).
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from hashlib import md5
from typing import Any

from smbsign.errors import ProtocolError

__all__ = [
    "HEADER_MAX",
    "RESULT_INVALID_CREDENTIALS",
    "RESULT_SASL_BIND_IN_PROGRESS",
    "RESULT_STRONGER_AUTH_REQUIRED",
    "RESULT_SUCCESS",
    "BindResult",
    "NtlmBind",
    "bind_request",
    "message_length",
    "parse_bind_response",
]

RESULT_SUCCESS = 0
RESULT_AUTH_METHOD_NOT_SUPPORTED = 7
RESULT_STRONGER_AUTH_REQUIRED = 8  # [RFC 4511 4.1.9]
RESULT_SASL_BIND_IN_PROGRESS = 14
RESULT_INVALID_CREDENTIALS = 49
HEADER_MAX = 6  # tag, one length-of-length byte, up to four length bytes
_MAX_LENGTH_BYTES = 4
_DATA_CODE = re.compile(r"\bdata ([0-9A-Fa-f]{1,8})\b")
_WHERE = "ldap"


def message_length(head: bytes, cap: int) -> int | None:
    """Total length of the LDAPMessage starting with ``head`` (header included).

    None while ``head`` is too short to tell. An LDAPMessage is a universal SEQUENCE (0x30)
    with a definite length [RFC 4511 5.1: "only the definite form of length encoding"];
    anything else, or a length above ``cap``, is refused before its body is read.
    """
    if len(head) < 2:
        return None
    if head[0] != 0x30:
        raise ProtocolError(f"not an LDAP message (first byte 0x{head[0]:02X})", where=_WHERE)
    first = head[1]
    if first < 0x80:
        total = 2 + first
    else:
        count = first & 0x7F
        if count == 0:
            raise ProtocolError("indefinite BER length", where=_WHERE)
        if count > _MAX_LENGTH_BYTES:
            raise ProtocolError(f"BER length of {count} bytes", where=_WHERE)
        if len(head) < 2 + count:
            return None
        total = 2 + count + int.from_bytes(head[2 : 2 + count], "big")
    if total > cap:
        raise ProtocolError(f"LDAP message of {total} bytes exceeds cap {cap}", where=_WHERE)
    return total


@dataclass(frozen=True, slots=True)
class BindResult:
    """One BindResponse [RFC 4511 4.2.2]; ``sasl_creds`` is serverSaslCreds when present."""

    message_id: int
    result_code: int
    diagnostic: str
    sasl_creds: bytes | None = None

    @property
    def data_code(self) -> str | None:
        """Active Directory's Win32 error after ``data`` in the message (lower-case hex)."""
        m = _DATA_CODE.search(self.diagnostic)
        return m.group(1).lower() if m else None

    def describe(self) -> str:
        """``resultCode 49 (data 52e)``: short, printable, bounded."""
        code = self.data_code
        return f"resultCode {self.result_code}" + (f" (data {code})" if code else "")


def _asn1() -> tuple[Any, Any, Any, Any]:
    try:
        from impacket.ldap import ldapasn1
        from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
        from pyasn1.error import PyAsn1Error  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - checked by the CLI before probing
        raise ProtocolError("impacket is not installed (pip install 'smbsign[remote]')") from exc
    return ldapasn1, decoder, encoder, PyAsn1Error


def _text(value: Any, limit: int = 200) -> str:
    raw = bytes(value.asOctets()) if hasattr(value, "asOctets") else bytes(value)
    text = raw[:limit].decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def parse_bind_response(data: bytes) -> BindResult:
    """Decode one complete LDAPMessage holding a BindResponse.

    A Notice of Disconnection [RFC 4511 4.4.1] or any other operation is a ProtocolError
    that names it; so is every decoding failure.
    """
    ldapasn1, decoder, _, asn1_error = _asn1()
    bad = (asn1_error, ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)
    try:
        message, rest = decoder.decode(data, asn1Spec=ldapasn1.LDAPMessage())
        op = message["protocolOp"]
        name = op.getName()
    except bad as exc:
        raise ProtocolError(f"malformed BER: {type(exc).__name__}", where=_WHERE) from None
    if rest:
        raise ProtocolError(f"{len(rest)} bytes after the LDAP message", where=_WHERE)
    if name == "extendedResp":
        raise ProtocolError(
            f"server sent a notice instead of a bind response ({_notice(op['extendedResp'])})",
            where=_WHERE,
        )
    if name != "bindResponse":
        raise ProtocolError(f"unexpected LDAP operation {name!r}", where=_WHERE)
    try:
        resp = op["bindResponse"]
        creds = resp["serverSaslCreds"]
        return BindResult(
            message_id=int(message["messageID"]),
            result_code=int(resp["resultCode"]),
            diagnostic=_text(resp["diagnosticMessage"]),
            sasl_creds=bytes(creds.asOctets()) if creds.isValue else None,
        )
    except bad as exc:
        raise ProtocolError(f"malformed BER: {type(exc).__name__}", where=_WHERE) from None


def _notice(resp: Any) -> str:
    try:
        return f"resultCode {int(resp['resultCode'])}: {_text(resp['diagnosticMessage'])}"
    except Exception:  # noqa: BLE001 (a notice with unreadable fields is still a notice)
        return "unreadable notice"


def bind_request(message_id: int, credentials: bytes) -> bytes:
    """An LDAPMessage with a SASL ``GSS-SPNEGO`` BindRequest (version 3, empty name)."""
    ldapasn1, _, encoder, _ = _asn1()
    bind = ldapasn1.BindRequest()
    bind["version"] = 3
    bind["name"] = ""
    bind["authentication"]["sasl"]["mechanism"] = "GSS-SPNEGO"
    bind["authentication"]["sasl"]["credentials"] = credentials
    message = ldapasn1.LDAPMessage()
    message["messageID"] = message_id
    message["protocolOp"].setComponentByType(bind.getTagSet(), bind)
    return bytes(encoder.encode(message))


def _hmac_md5(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, md5).digest()


class NtlmBind:
    """One NTLM bind over ``GSS-SPNEGO``: NEGOTIATE, then AUTHENTICATE for the CHALLENGE.

    ``sign`` False leaves NTLMSSP_NEGOTIATE_SIGN/SEAL/KEY_EXCH out of the NEGOTIATE, so the
    session has no integrity [MS-NLMP 2.2.2.5]; an empty user and password is the anonymous
    AUTHENTICATE [MS-NLMP 3.2.5.1.2]. ``channel_binding`` is the 16-byte MD5 value placed in
    MsvAvChannelBindings (empty: none sent).
    """

    def __init__(
        self,
        user: str = "",
        password: str = "",
        domain: str = "",
        nthash: str = "",
        *,
        sign: bool = False,
        channel_binding: bytes = b"",
    ) -> None:
        from impacket import ntlm
        from impacket.spnego import SPNEGO_NegTokenInit, TypesMech

        self._user, self._password, self._domain, self._nthash = user, password, domain, nthash
        self._cbt = channel_binding
        version = ntlm.VERSION()
        version["ProductMajorVersion"], version["ProductMinorVersion"] = 10, 0
        version["ProductBuild"] = 19041
        self._version = version
        self._negotiate = ntlm.getNTLMSSPType1(
            "", domain, signingRequired=sign, use_ntlmv2=True, version=version
        )
        blob = SPNEGO_NegTokenInit()
        blob["MechTypes"] = [TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]]
        blob["MechToken"] = self._negotiate.getData()
        self.first: bytes = bytes(blob.getData())

    def second(self, sasl_creds: bytes | None) -> bytes:
        """The AUTHENTICATE for the server's CHALLENGE (SPNEGO NegTokenResp, MIC included)."""
        from impacket import ntlm
        from impacket.spnego import SPNEGO_NegTokenResp

        if not sasl_creds:
            raise ProtocolError("no NTLM CHALLENGE in the bind response", where=_WHERE)
        try:
            challenge = bytes(SPNEGO_NegTokenResp(sasl_creds)["ResponseToken"])
        except Exception as exc:  # noqa: BLE001 (impacket parsing hostile bytes: any error)
            raise ProtocolError(
                f"unusable SPNEGO token ({type(exc).__name__})", where=_WHERE
            ) from None
        if challenge[:8] != b"NTLMSSP\x00" or challenge[8:12] != b"\x02\x00\x00\x00":
            raise ProtocolError("not an NTLM CHALLENGE", where=_WHERE)
        try:
            nthash = bytes.fromhex(self._nthash) if self._nthash else ""
            auth, session_key = ntlm.getNTLMSSPType3(
                self._negotiate,
                challenge,
                self._user,
                self._password,
                self._domain,
                "",
                nthash,
                use_ntlmv2=True,
                channel_binding_value=self._cbt,
                service="ldap",
                version=self._version,
            )
            auth["MIC"] = _hmac_md5(
                session_key,
                self._negotiate.getData()
                + ntlm.NTLMAuthChallenge(challenge).getData()
                + auth.getData(),
            )
            blob = SPNEGO_NegTokenResp()
            blob["ResponseToken"] = auth.getData()
            return bytes(blob.getData())
        except Exception as exc:  # noqa: BLE001 (impacket parsing hostile bytes: any error)
            raise ProtocolError(
                f"unusable NTLM CHALLENGE ({type(exc).__name__})", where=_WHERE
            ) from None


def wrong_channel_binding() -> bytes:
    """16 random bytes: never the MD5 of this connection's gss_channel_bindings_struct."""
    return os.urandom(16)

"""The directory reader: one signed and sealed LDAP session to a domain controller.

Transport: impacket's ``LDAPConnection`` (``impacket.ldap.ldap``, impacket >= 0.12) binds
with SASL GSS-SPNEGO carrying NTLM and, with ``signing=True``, wraps every later message with
the NTLM session key (sign and seal): the SASL GSS-SPNEGO bind of [MS-ADTS] 5.1.1.1; the Group
Policy client itself requires LDAP signing ([MS-GPOL] 3.2.5.1.1, LDAP_OPT_SIGN). There is no
simple bind: the password never crosses the wire. The secret comes from the caller
(:mod:`smbsign.cli.audit_remote` reads it from ``--password-file``, ``SMBSIGN_PASSWORD``,
``SMBSIGN_NTHASH`` or a prompt) and no message here ever contains it.

Searches are paged (the Simple Paged Results control ``1.2.840.113556.1.4.319``, RFC 2696;
[MS-ADTS] 3.1.1.3.4.1.1) and *streamed*: :meth:`LdapDirectory.search` is a generator that
holds one page. ``nTSecurityDescriptor`` is asked for with the SD flags control
(``1.2.840.113556.1.4.801``, DACL only: [MS-ADTS] 3.1.1.3.4.1.11), which a non-administrator
needs to read it. Referrals are not chased ([MS-GPOL] 3.2.5.1.3 disables them too); each one
is kept in :attr:`LdapDirectory.referrals` for a note. Every socket operation has a timeout.

Failures are one-line :class:`DirectoryError` values: unreachable DC, wrong credentials
(LDAP 49 with AD's ``data 52e``), locked account (``data 775``), disabled or expired
accounts, a referral instead of an answer, a timeout. Samba writes the same diagnostic
(``AcceptSecurityContext error, data %x`` with the Win32 code of the NTSTATUS, SAMBA
``source4/ldap_server/ldap_bind.c`` ``ldapsrv_bind_error_msg``), so the causes read alike.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from smbsign.ad.ber import (
    SEARCH_RESULT_DONE,
    SEARCH_RESULT_ENTRY,
    message_size,
    op_tag,
    search_entry,
)
from smbsign.collect.winreg_remote import Credentials
from smbsign.errors import SmbsignError

LDAP_PORT = 389
DEFAULT_TIMEOUT = 30.0
PAGE_SIZE = 500
MAX_VALUES = 100_000  # values kept per attribute (memberOf of a huge group stays bounded)
MAX_REFERRALS = 100
MAX_SASL_BUFFER = 16 * 1024 * 1024  # Samba and Windows stay far below (RFC 4422 3.7 bounds it)

BASE, ONELEVEL, SUBTREE = 0, 1, 2
_DATA = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")
#: AD's sub-codes of invalidCredentials (49) in the bind diagnostic ("... data 52e, v1db1"),
#: [MS-ERREF] 2.2 Win32 error codes.
_BIND_DATA = {
    "52e": "wrong user name or password",
    "525": "wrong user name or password",
    "775": "the account is locked out",
    "533": "the account is disabled",
    "532": "the password has expired",
    "701": "the account has expired",
    "773": "the user must change the password",
    "530": "logon not permitted at this time",
    "531": "logon not permitted from this workstation",
}


class DirectoryError(SmbsignError):
    """The directory could not be read; ``str()`` is one line without secrets."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One search result; attribute names are lower-case, values raw bytes."""

    dn: str
    attrs: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)

    def raw(self, name: str) -> bytes | None:
        vals = self.attrs.get(name.lower())
        return vals[0] if vals else None

    def text(self, name: str) -> str | None:
        raw = self.raw(name)
        return None if raw is None else raw.decode("utf-8", "replace")

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(v.decode("utf-8", "replace") for v in self.attrs.get(name.lower(), ()))

    def integer(self, name: str) -> int | None:
        text = (self.text(name) or "").strip()
        body = text[1:] if text[:1] == "-" else text
        return int(text) if body.isascii() and body.isdigit() and len(body) <= 20 else None


class Searcher(Protocol):
    """What the readers need from a directory (a fake in unit tests)."""

    referrals: list[str]

    def search(
        self,
        base: str,
        scope: int,
        search_filter: str,
        attributes: Sequence[str],
        *,
        security_descriptor: bool = False,
    ) -> Iterator[Entry]: ...


def _one_line(text: str, creds: Credentials) -> str:
    out = " ".join(text.split())[:240]
    for secret in (creds.password, creds.nthash):
        if secret:
            out = out.replace(secret, "***")
    return out


def bind_error(where: str, message: str, creds: Credentials) -> DirectoryError:
    """A bind failure as one line naming the cause when AD's sub-code tells it."""
    m = _DATA.search(message)
    known = _BIND_DATA.get(m.group(1).lower()) if m else None
    if known:
        return DirectoryError(f"{where}: bind refused: {known} (LDAP 49, data {m.group(1)})")  # type: ignore[union-attr]
    low = message.lower()
    if "invalidcredentials" in low:
        return DirectoryError(f"{where}: bind refused: wrong user name or password (LDAP 49)")
    if "strongauthrequired" in low or "strongerauthrequired" in low:
        return DirectoryError(f"{where}: bind refused: the DC requires stronger authentication")
    return DirectoryError(f"{where}: bind failed: {_one_line(message, creds)}")


class LdapDirectory:
    """A bound, sealed LDAP session; close with :meth:`close` (or use as a context manager)."""

    def __init__(
        self,
        dc: str,
        creds: Credentials,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        port: int = LDAP_PORT,
    ) -> None:
        self.where = f"DC {dc} port {port}"
        self.referrals: list[str] = []
        self._timeout = timeout
        self._conn: Any = None
        self._reachable(dc, port, timeout)
        from impacket.ldap import ldap as impacket_ldap

        try:
            url = f"ldap://{dc}" if port == LDAP_PORT else f"ldap://{dc}:{port}"
            self._conn = impacket_ldap.LDAPConnection(url, signing=True)
            self._conn._socket.settimeout(timeout)
        except Exception as exc:  # noqa: BLE001 - impacket raises bare exceptions
            raise DirectoryError(
                f"{self.where}: cannot connect: {_one_line(str(exc), creds)}"
            ) from None
        try:
            self._conn.login(
                creds.user,
                creds.password,
                creds.domain,
                "",
                creds.nthash,
                authenticationChoice="sasl",
            )
        except TimeoutError:
            self.close()
            raise DirectoryError(
                f"{self.where}: no answer to the bind within {timeout:g} s"
            ) from None
        except Exception as exc:  # noqa: BLE001 - impacket raises bare exceptions
            self.close()
            raise bind_error(self.where, str(exc), creds) from None
        self._link: Any = _SealedLink(self._conn, self.where)

    def _reachable(self, dc: str, port: int, timeout: float) -> None:
        try:
            socket.create_connection((dc, port), timeout=timeout).close()
        except TimeoutError:
            raise DirectoryError(
                f"{self.where}: unreachable (no answer within {timeout:g} s)"
            ) from None
        except socket.gaierror as exc:
            raise DirectoryError(
                f"{self.where}: cannot resolve the name ({exc.strerror})"
            ) from None
        except OSError as exc:
            raise DirectoryError(f"{self.where}: unreachable ({exc.strerror or exc})") from None

    def __enter__(self) -> LdapDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken socket is not an error
                conn.close()

    def search(
        self,
        base: str,
        scope: int,
        search_filter: str,
        attributes: Sequence[str],
        *,
        security_descriptor: bool = False,
    ) -> Iterator[Entry]:
        """Entries under ``base``, one page at a time (a generator)."""
        from impacket.ldap import ldapasn1

        if self._conn is None:
            raise DirectoryError(f"{self.where}: the session is closed")
        req = ldapasn1.SearchRequest()
        req["baseObject"] = base
        req["scope"] = ldapasn1.Scope(scope)
        req["derefAliases"] = ldapasn1.DerefAliases("neverDerefAliases")
        req["sizeLimit"] = 0
        req["timeLimit"] = int(self._timeout)
        req["typesOnly"] = False
        req["filter"] = self._conn._parseFilter(search_filter)
        req["attributes"].setComponents(*attributes)
        paged = ldapasn1.SimplePagedResultsControl(criticality=True, size=PAGE_SIZE, cookie="")
        controls: list[Any] = [paged]
        if security_descriptor:
            controls.append(ldapasn1.SDFlagsControl(criticality=True, flags=0x04))
        while True:
            cookie = b""
            for raw in self._exchange(req, controls, base):
                try:
                    got = self._answer(raw, base)
                except DirectoryError:
                    raise
                except Exception as exc:  # noqa: BLE001 - ParseError, and pyasn1's own errors
                    what = " ".join(str(exc).split())[:200] or type(exc).__name__
                    raise DirectoryError(f"{self.where}: bad answer to {base}: {what}") from None
                if isinstance(got, Entry):
                    yield got
                elif got is not None:
                    cookie = got
            if not cookie:
                return
            paged.setCookie(cookie)

    def _answer(self, raw: bytes, base: str) -> Entry | bytes | None:
        """One answer message: an entry, the paging cookie of the SearchResultDone, or None
        (a reference, kept in :attr:`referrals`). pyasn1 decodes values lazily: reading a
        string or a control of a decoded message can raise too, so all of it is here."""
        from impacket.ldap import ldapasn1
        from impacket.ldap.ldap import decoder

        if op_tag(raw) == SEARCH_RESULT_ENTRY:  # the common case: read without pyasn1
            return Entry(*search_entry(raw, MAX_VALUES))
        message, _ = decoder.decode(raw, asn1Spec=ldapasn1.LDAPMessage())
        op = message["protocolOp"].getComponent()
        if op.isSameTypeWith(ldapasn1.SearchResultReference()):
            if len(self.referrals) < MAX_REFERRALS:
                self.referrals.extend(_text(u) for u in op)
        elif op.isSameTypeWith(ldapasn1.SearchResultDone()):
            return _done(op, message, base, self.where)
        return None

    def _exchange(self, req: Any, controls: list[Any], base: str) -> Iterator[Any]:
        """Send ``req``; the answers as they arrive, up to the SearchResultDone."""
        try:
            yield from self._link.send_receive(req, controls)
        except DirectoryError:
            raise
        except TimeoutError:
            raise DirectoryError(
                f"{self.where}: no answer within {self._timeout:g} s (search of {base})"
            ) from None
        except Exception as exc:  # noqa: BLE001 - impacket raises bare exceptions
            raise DirectoryError(f"{self.where}: search of {base} failed: {exc}") from None


class _SealedLink:
    """Reads a sealed session one SASL buffer at a time ([MS-ADTS] 5.1.1.1; RFC 4422 section
    3.7: each buffer is a 4-byte big-endian length and that many bytes).

    impacket's own ``recv`` assumes one buffer per read and waits forever when a page arrives
    in several; here every buffer is read exactly, unsealed with impacket's session cipher, and
    the LDAP messages are decoded from the clear text as soon as they are complete.
    """

    def __init__(self, conn: Any, where: str) -> None:
        self._conn = conn
        self._where = where
        self._clear = b""
        self._unfinished = False  # a caller stopped reading before the SearchResultDone

    def _read_exact(self, size: int) -> bytes:
        sock = self._conn._socket
        chunks: list[bytes] = []
        while size:
            chunk = sock.recv(min(size, 1 << 16))
            if not chunk:
                raise DirectoryError(f"{self._where}: the DC closed the connection")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def send_receive(self, req: Any, controls: list[Any]) -> Iterator[bytes]:
        """Send ``req``; each answer message (raw BER) up to the SearchResultDone."""
        if self._unfinished:  # finish the abandoned answer first (its messages are dropped)
            for _ in self._answers():
                pass
        self._conn.send(req, controls)
        self._unfinished = True
        yield from self._answers()

    def _answers(self) -> Iterator[bytes]:
        while True:
            while True:
                size = message_size(self._clear)
                if size is None:
                    break
                raw, self._clear = self._clear[:size], self._clear[size:]
                done = op_tag(raw) == SEARCH_RESULT_DONE
                if done:
                    self._unfinished = False
                yield raw
                if done:
                    return
            head = self._read_exact(4)
            size = int.from_bytes(head, "big")
            if not 16 <= size <= MAX_SASL_BUFFER:
                raise DirectoryError(f"{self._where}: bad SASL buffer length {size}")
            self._clear += bytes(self._conn.decrypt(head + self._read_exact(size)))


def _text(value: Any) -> str:
    """An LDAPString / LDAPURL the DC sent: UTF-8 (RFC 4511 4.1.2), undecodable bytes replaced
    (pyasn1's ``str()`` raised on them: a bad diagnostic hid the result code)."""
    return bytes(value).decode("utf-8", "replace")


def _done(op: Any, message: Any, base: str, where: str) -> bytes:
    """The paging cookie of a SearchResultDone; DirectoryError unless it succeeded."""
    from impacket.ldap import ldapasn1

    code = int(op["resultCode"])
    if code == 10:  # referral: the object lives in another naming context
        urls = " ".join(_text(u) for u in op["referral"]) if op["referral"].hasValue() else ""
        urls = " ".join(urls.split())  # one line, whatever the DC wrote
        raise DirectoryError(
            f"{where}: {base} is answered with a referral ({urls[:120]}), not followed"
        )
    if code == 32:  # noSuchObject
        return b""
    if code != 0:
        diag = " ".join(_text(op["diagnosticMessage"]).split())[:160]
        raise DirectoryError(
            f"{where}: search of {base} failed: {op['resultCode'].prettyPrint()} {diag}"
        )
    for ctrl in message["controls"] if message["controls"].hasValue() else ():
        if str(ctrl["controlType"]) == ldapasn1.CONTROL_PAGEDRESULTS:
            value, _ = ldapasn1.decoder.decode(
                ctrl["controlValue"], asn1Spec=ldapasn1.SimplePagedResultsControlValue()
            )
            return bytes(value["cookie"])
    return b""

"""MS-RRP (the ``winreg`` named pipe over SMB) through impacket, for :mod:`winreg_remote`.

impacket is the maintained Python implementation of SMB2/3 + DCE/RPC + MS-RRP that
MisconfigurationManager and impacket's own ``reg.py`` use; this module only opens the pipe,
makes the four calls the reader needs ([MS-RRP] 3.1.5.3 OpenLocalMachine, 3.1.5.15
BaseRegOpenKey, 3.1.5.17 BaseRegQueryValue, 3.1.5.10 BaseRegEnumKey, 3.1.5.6 BaseRegCloseKey)
and turns impacket's exceptions into :class:`RrpError` (a Win32 error code) or
:class:`RemoteRegistryError` (a one-line message). BaseRegQueryValue is built here instead
of calling ``rrp.hBaseRegQueryValue``, which re-asks with whatever size the server names (a
hostile server could make it allocate gigabytes); here the size is capped.

Signing: after NEGOTIATE, an SMB2/3 connection is switched to *require* signing (the same
two flags impacket's relay client sets; impacket has no public switch), so the session that
carries the registry reads is signed even when the server only enables signing. SMB 3.1.1
always signs. An SMB1-only server is read with whatever SMB1 signing it negotiates.
Authentication is NTLM (password or NT hash); Kerberos is not supported.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import Any

from impacket import smb3
from impacket.dcerpc.v5 import rrp, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.smbconnection import SessionError, SMBConnection

from smbsign.collect.winreg_remote import ERROR_ACCESS_DENIED, ERROR_MORE_DATA, Credentials

ERROR_NO_MORE_ITEMS = 0x103
MAX_VALUE_BYTES = 64 * 1024  # registry values the catalog reads are DWORDs and short strings

_NT_STATUS = {  # [MS-ERREF] 2.3.1, the ones a registry read meets
    0xC000006D: "logon failed (wrong user name or password)",
    0xC0000022: "access denied to the winreg pipe (administrator rights needed)",
    0xC0000034: "no winreg pipe (is the Remote Registry service running?)",
    0xC00000AC: "no winreg pipe (is the Remote Registry service running?)",
    0xC0000072: "account disabled",
    0xC0000234: "account locked out",
    0xC0000071: "password expired",
    0xC000015B: "logon type not granted to this account",
}


_ERRNO = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


class RemoteRegistryError(Exception):
    """The remote registry could not be opened; the message is one line, without secrets."""


class RrpError(Exception):
    """An RRP call failed with a Win32 error code ([MS-RRP] 3.1.5, [MS-ERREF] 2.2)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"RRP error 0x{code:x}")
        self.code = code


def _one_line(exc: BaseException, creds: Credentials) -> str:
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    for secret in (creds.password, creds.nthash):
        if secret:
            text = text.replace(secret, "***")
    return text


def _rpc_code(exc: DCERPCException) -> int:
    code = exc.get_error_code()
    return int(code) if isinstance(code, int) else 0


class ImpacketRrp:
    """An open ``\\winreg`` pipe with an HKLM handle; close with :meth:`close`."""

    def __init__(self, host: str, creds: Credentials, *, port: int, timeout: float) -> None:
        self._host = host
        self._creds = creds
        self._conn: Any = None
        self._dce: Any = None
        self._hklm: Any = None
        try:
            self._open(port, timeout)
        except RemoteRegistryError:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - impacket raises bare Exception subclasses
            self.close()
            raise RemoteRegistryError(self._explain(exc, port)) from None

    def _open(self, port: int, timeout: float) -> None:
        self._conn = SMBConnection(self._host, self._host, sess_port=port, timeout=timeout)
        server = self._conn.getSMBServer()
        if isinstance(server, smb3.SMB3):  # ask for a signed session (module docstring)
            server.RequireMessageSigning = True
            server._Connection["RequireSigning"] = True
        c = self._creds
        self._conn.login(c.user, c.password, c.domain, "", c.nthash)
        rpc = transport.SMBTransport(self._host, port, r"\winreg", smb_connection=self._conn)
        rpc.set_connect_timeout(timeout)
        self._dce = rpc.get_dce_rpc()
        self._dce.connect()
        self._dce.bind(rrp.MSRPC_UUID_RRP)
        self._hklm = self._call(rrp.hOpenLocalMachine, rrp.KEY_READ)["phKey"]

    def _explain(self, exc: BaseException, port: int) -> str:
        where = f"{self._host} port {port}"
        if isinstance(exc, SessionError):
            status = exc.getErrorCode()
            known = _NT_STATUS.get(status)
            return f"{where}: {known or _one_line(exc, self._creds)}"
        if isinstance(exc, RrpError):
            if exc.code == ERROR_ACCESS_DENIED:
                return f"{where}: access denied to HKLM (administrator rights needed)"
            return f"{where}: opening HKLM failed with Win32 error 0x{exc.code:x}"
        if isinstance(exc, OSError) and isinstance(exc.strerror, BaseException):
            exc = exc.strerror  # nmb wraps the socket error: OSError("Connection error", e)
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return f"{where}: timed out"
        if isinstance(exc, OSError) and exc.errno in _ERRNO:
            return f"{where}: {_ERRNO[exc.errno]}"
        if isinstance(exc, OSError) and isinstance(exc.strerror, str):
            return f"{where}: {exc.strerror}"
        return f"{where}: {type(exc).__name__}: {_one_line(exc, self._creds)}"

    def _call(self, func: Any, *args: Any) -> Any:
        try:
            return func(self._dce, *args)
        except rrp.DCERPCSessionError as exc:
            raise RrpError(_rpc_code(exc)) from None
        except DCERPCException as exc:  # an RPC fault (nca_s_* or a Win32 code)
            raise RrpError(_rpc_code(exc)) from None

    def open_key(self, subkey: str) -> Any:
        """Handle of HKLM\\``subkey``; raises :class:`RrpError`."""
        return self._call(rrp.hBaseRegOpenKey, self._hklm, subkey, 1, rrp.KEY_READ)["phkResult"]

    def query_value(self, handle: Any, name: str) -> tuple[int, bytes]:
        """``(type code, raw data)`` of a value, at most :data:`MAX_VALUE_BYTES` long."""
        size = 512
        for _ in range(2):
            request = rrp.BaseRegQueryValue()
            request["hKey"] = handle
            request["lpValueName"] = rrp.checkNullString(name)
            request["lpData"] = b" " * size
            request["lpcbData"] = size
            request["lpcbLen"] = size
            try:
                resp = self._dce.request(request)
            except DCERPCException as exc:
                code = _rpc_code(exc)
                if code != ERROR_MORE_DATA:
                    raise RrpError(code) from None
                packet = exc.get_packet()
                size = int(packet["lpcbData"]) if packet is not None else 0
                if not 0 < size <= MAX_VALUE_BYTES:
                    raise RrpError(ERROR_MORE_DATA) from None
                continue
            raw = b"".join(resp["lpData"])
            length = min(int(resp["lpcbLen"]), len(raw))
            return int(resp["lpType"]), raw[:length]
        raise RrpError(ERROR_MORE_DATA)

    def enum_key(self, handle: Any, index: int) -> str | None:
        """Name of subkey ``index``; None past the last one."""
        try:
            resp = self._call(rrp.hBaseRegEnumKey, handle, index)
        except RrpError as exc:
            if exc.code == ERROR_NO_MORE_ITEMS:
                return None
            raise
        return str(resp["lpNameOut"]).rstrip("\x00")

    def close_key(self, handle: Any) -> None:
        with contextlib.suppress(Exception):
            self._call(rrp.hBaseRegCloseKey, handle)

    def close(self) -> None:
        """Close HKLM, the pipe and the SMB session; never raises."""
        for step in (self._close_hklm, self._close_dce, self._close_conn):
            with contextlib.suppress(Exception):  # closing a broken connection
                step()

    def _close_hklm(self) -> None:
        if self._hklm is not None and self._dce is not None:
            self.close_key(self._hklm)
        self._hklm = None

    def _close_dce(self) -> None:
        if self._dce is not None:
            self._dce.disconnect()
        self._dce = None

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

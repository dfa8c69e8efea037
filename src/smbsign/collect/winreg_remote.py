"""A remote host's live registry over MS-RRP (``\\\\HOST\\winreg``), agentless (docs/collectors.md).

:class:`RemoteRegistryReader` implements :class:`~smbsign.collect.winreg_local.RegistryReader`
on top of an :class:`RrpCalls` session (impacket's in production, :mod:`rrp_impacket`; a fake
in the unit tests), so :func:`collect_remote` shares the values/facts/provenance logic of the
local reader (:func:`~smbsign.collect.winreg_local.collect_registry`). Only HKLM is read, and
only the (key, value) pairs asked for plus the host-fact values (docs/reference.md §3.5).

Error mapping ([MS-RRP] 3.1.5, Win32 codes of [MS-ERREF] 2.2): ERROR_FILE_NOT_FOUND /
ERROR_PATH_NOT_FOUND -> the value is absent (its default applies); ERROR_ACCESS_DENIED and
every other failure -> ``OSError``, which ``collect_registry`` turns into a
:class:`~smbsign.model.CollectError` (an ``error`` finding, never a default). A host that
cannot be opened at all (refused, timed out, logon failed, no pipe) is one ``CollectError``.
Provenance: kind ``winreg_remote``, path ``\\\\HOST\\winreg``, location the registry path of the
value, layer by value path as for the local reader.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from smbsign.codecs.regdata import RegValue, decode_data
from smbsign.collect.base import CollectResult, failed
from smbsign.collect.winreg_local import collect_registry
from smbsign.errors import ParseError
from smbsign.regpath import split_hive

KIND = "winreg_remote"
DEFAULT_PORT = 445
DEFAULT_TIMEOUT = 10.0  # seconds, for the TCP connect and for each SMB/RPC round trip
MAX_SUBKEYS = 4096

ERROR_FILE_NOT_FOUND = 0x2
ERROR_PATH_NOT_FOUND = 0x3
ERROR_ACCESS_DENIED = 0x5
ERROR_MORE_DATA = 0xEA
_ABSENT = frozenset({ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND})


@dataclass(frozen=True, slots=True)
class Credentials:
    """NTLM credentials; ``repr`` never shows the password or the NT hash (hex)."""

    user: str
    domain: str = ""
    password: str = field(default="", repr=False)
    nthash: str = field(default="", repr=False)


class RrpCalls(Protocol):
    """The RRP calls the reader makes on HKLM; failures raise an exception with ``code``."""

    def open_key(self, subkey: str) -> Any: ...

    def query_value(self, handle: Any, name: str) -> tuple[int, bytes]: ...

    def enum_key(self, handle: Any, index: int) -> str | None: ...

    def close_key(self, handle: Any) -> None: ...

    def close(self) -> None: ...


def pipe_path(host: str) -> str:
    """``\\\\HOST\\winreg``, the provenance path of every value read from ``host``."""
    return f"\\\\{host}\\winreg"


def _win32(exc: Exception) -> int | None:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None


def _as_oserror(exc: Exception, what: str) -> OSError:
    code = _win32(exc)
    if code == ERROR_ACCESS_DENIED:
        return OSError(ERROR_ACCESS_DENIED, f"access denied reading {what}")
    if code == ERROR_MORE_DATA:
        return OSError(code, f"{what}: value too large")
    if code is not None:
        return OSError(code, f"{what}: Win32 error 0x{code:x}")
    text = " ".join(str(exc).split())[:160] or type(exc).__name__
    return OSError(f"{what}: connection failed ({text})")


class RemoteRegistryReader:
    """HKLM of one remote host through an open :class:`RrpCalls` session (use ``with``)."""

    def __init__(self, calls: RrpCalls) -> None:
        self._calls = calls
        self._handles: dict[str, Any] = {}  # lower-cased subkey -> handle (None: absent)
        self._broken: str | None = None  # set by a transport failure: later calls fail fast

    def __enter__(self) -> RemoteRegistryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every key handle, then the session; never raises."""
        for handle in self._handles.values():
            if handle is not None:
                try:
                    self._calls.close_key(handle)
                except Exception:  # noqa: BLE001, S112 - closing a broken session
                    continue
        self._handles.clear()
        with contextlib.suppress(Exception):
            self._calls.close()

    def _key(self, key: str) -> Any:
        hive, rest = split_hive(key)
        if hive not in ("", "hklm"):
            return None  # only HKLM is read remotely (the catalog lives there)
        subkey = "\\".join(p for p in rest.split("\\") if p)
        slot = subkey.lower()
        if slot not in self._handles:
            self._handles[slot] = self._guard(lambda: self._calls.open_key(subkey), key)
        return self._handles[slot]

    def _guard(self, call: Callable[[], Any], what: str) -> Any:
        """Run one RRP call: absent -> None, any other failure -> ``OSError`` (module doc).

        After a transport failure (no Win32 code) the session is dead: every later call fails
        at once with the same reason instead of waiting for another timeout.
        """
        if self._broken is not None:
            raise OSError(f"{what}: {self._broken}")
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - impacket raises bare Exception subclasses
            if _win32(exc) in _ABSENT:
                return None
            err = _as_oserror(exc, what)
            if _win32(exc) is None:
                self._broken = str(err.args[0]).removeprefix(f"{what}: ")
            raise err from None

    def get(self, key: str, value: str) -> tuple[RegValue, int] | None:
        handle = self._key(key)
        if handle is None:
            return None
        what = f"{key}\\{value}"
        got = self._guard(lambda: self._calls.query_value(handle, value), what)
        if got is None:
            return None
        code, raw = got
        try:
            return decode_data(code, raw, where=what), code
        except ParseError as exc:
            raise OSError(f"{what}: {exc}") from None

    def subkeys(self, key: str) -> tuple[str, ...]:
        handle = self._key(key)
        if handle is None:
            return ()
        names: list[str] = []
        for index in range(MAX_SUBKEYS):
            name = self._guard(partial(self._calls.enum_key, handle, index), key)
            if name is None:
                break
            names.append(name)
        return tuple(names)


def collect_remote(
    host: str,
    wanted: Iterable[tuple[str, str]],
    connect: Callable[[], RrpCalls],
) -> CollectResult:
    """Read ``wanted`` (plus host facts) from ``host`` over a session ``connect`` opens.

    Never raises: a session that cannot be opened is one error; ``connect`` reports it by
    raising any exception whose message is one line without secrets.
    """
    path = pipe_path(host)
    try:
        calls = connect()
    except Exception as exc:  # noqa: BLE001 - see rrp_impacket.RemoteRegistryError
        return failed(host, path, KIND, " ".join(str(exc).split())[:240] or type(exc).__name__)
    with RemoteRegistryReader(calls) as reader:
        return collect_registry(reader, host, wanted, path=path, kind=KIND)


def impacket_connect(
    host: str, creds: Credentials, *, port: int = DEFAULT_PORT, timeout: float = DEFAULT_TIMEOUT
) -> Callable[[], RrpCalls]:
    """A ``connect`` for :func:`collect_remote` using impacket (``smbsign[remote]``)."""

    def connect() -> RrpCalls:
        try:
            from smbsign.collect.rrp_impacket import ImpacketRrp
        except ImportError:
            raise OSError("impacket is not installed (pip install 'smbsign[remote]')") from None
        return ImpacketRrp(host, creds, port=port, timeout=timeout)

    return connect

"""Each linked GPO's files from SYSVOL over a signed SMB session, parsed by the project's readers.

Per GPO ([MS-GPOL] 2.2.4: ``<gPCFileSysPath>\\gpt.ini``; the computer half under
``Machine``): ``GPT.INI`` (``[General] Version``, the file-system version whose low 16 bits
are the machine version, compared with the directory's ``versionNumber``: a mismatch is a note,
replication or an edit in progress, [MS-GPOL] 3.3.5.4), ``Machine\\Microsoft\\Windows
NT\\SecEdit\\GptTmpl.inf`` ([MS-GPSB] 2.2, read by :mod:`smbsign.collect.gpttmpl`) and
``Machine\\Registry.pol`` ([MS-GPREG] 2.2.1, :mod:`smbsign.collect.registrypol`).

Which files count follows the GPO's ``gPCMachineExtensionNames`` ([MS-GPOL] 3.2.5.1.10: the
client runs an extension only for GPOs that list its CSE GUID): a GptTmpl.inf in a GPO
without the Security CSE is not applied, and is reported as a note, not as evidence.

Failures are values: a missing GPO folder, an unreadable or oversized file, access denied
become :class:`~smbsign.model.CollectError` items naming the GPO. A file that is simply not
there is normal (nothing configured by that extension), except when the GPO lists the
extension that needs it.

The SMB session (impacket ``SMBConnection``) is switched to *require* signing after
NEGOTIATE, as :mod:`smbsign.collect.rrp_impacket` does, so no file is read over an unsigned
session.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from smbsign.ad.directory import REGISTRY_CSE, SECURITY_CSE, GpoObject
from smbsign.codecs.text import decode_text
from smbsign.collect import gpttmpl, registrypol
from smbsign.collect.winreg_remote import Credentials
from smbsign.errors import ParseError
from smbsign.model import CollectError, SettingValue

KIND = "sysvol"
MAX_FILE = 4 * 1024 * 1024  # GptTmpl.inf / Registry.pol of real GPOs are kilobytes
GPTTMPL = "Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf"
REGISTRY_POL = "Machine\\Registry.pol"
GPT_INI = "GPT.INI"
_VERSION = re.compile(r"^\s*version\s*=\s*(\d{1,10})\s*$", re.IGNORECASE | re.MULTILINE)


class SysvolError(Exception):
    """A file could not be read; ``missing`` when it does not exist (not an error by itself)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class FileReader(Protocol):
    """Reads ``\\\\server\\share\\path`` (a fake in unit tests); raises :class:`SysvolError`."""

    def read(self, unc: str, limit: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class GpoFiles:
    """What one GPO's files say, for every computer it applies to (host is filled in later)."""

    guid: str
    values: tuple[SettingValue, ...]
    errors: tuple[CollectError, ...]
    notes: tuple[str, ...]
    gpt_version: int | None


def _join(base: str, rel: str) -> str:
    return base.rstrip("\\/") + "\\" + rel


def _label(gpo: GpoObject) -> str:
    return f"GPO {gpo.name!r} {{{gpo.guid}}}"


def load_gpo(gpo: GpoObject, reader: FileReader) -> GpoFiles:
    """Read and parse the machine half of one GPO; never raises."""
    errors: list[CollectError] = []
    notes: list[str] = []
    values: list[SettingValue] = []
    if not gpo.path.startswith("\\\\"):
        err = CollectError(
            "", gpo.dn, KIND, f"{_label(gpo)}: gPCFileSysPath {gpo.path!r} is not a UNC path"
        )
        return GpoFiles(gpo.guid, (), (err,), (), None)
    gpt_version: int | None = None
    ini = _join(gpo.path, GPT_INI)
    try:
        text = decode_text(reader.read(ini, 64 * 1024))
        m = _VERSION.search(text)
        gpt_version = int(m.group(1)) if m else None
        if gpt_version is None:
            notes.append(f"{_label(gpo)}: GPT.INI has no [General] Version")
    except SysvolError as exc:
        what = "its folder is missing from SYSVOL" if exc.missing else str(exc)
        return GpoFiles(
            gpo.guid, (), (CollectError("", ini, KIND, f"{_label(gpo)}: {what}"),), (), None
        )
    except ParseError as exc:
        notes.append(f"{_label(gpo)}: GPT.INI: {exc}")
    if gpt_version is not None and gpo.version is not None and gpt_version != gpo.version:
        notes.append(
            f"{_label(gpo)}: version in the directory {gpo.version} differs from GPT.INI "
            f"{gpt_version} (replication or an edit in progress, [MS-GPOL] 3.3.5.4)"
        )
    for rel, cse, parse in (
        (GPTTMPL, SECURITY_CSE, gpttmpl.collect),
        (REGISTRY_POL, REGISTRY_CSE, registrypol.collect),
    ):
        unc = _join(gpo.path, rel)
        listed = gpo.has_extension(cse)
        try:
            data = reader.read(unc, MAX_FILE)
        except SysvolError as exc:
            if exc.missing and not listed:
                continue
            what = "missing, but the GPO lists its extension" if exc.missing else str(exc)
            errors.append(CollectError("", unc, parse_kind(parse), f"{_label(gpo)}: {what}"))
            continue
        if not listed:
            notes.append(
                f"{_label(gpo)}: {rel} is not applied: gPCMachineExtensionNames does not list "
                f"its extension {cse} ([MS-GPOL] 3.2.5.1.10)"
            )
            continue
        result = parse(data, unc, "")
        values.extend(result.values)
        errors.extend(
            CollectError(e.host, e.path, e.kind, f"{_label(gpo)}: {e.message}")
            for e in result.errors
        )
    return GpoFiles(gpo.guid, tuple(values), tuple(errors), tuple(notes), gpt_version)


def parse_kind(parse: Callable[..., Any]) -> str:
    return gpttmpl.KIND if parse is gpttmpl.collect else registrypol.KIND


# ------------------------------------------------------------------ impacket transport

_STATUS = {  # [MS-ERREF] 2.3.1
    0xC0000034: ("not found", True),  # STATUS_OBJECT_NAME_NOT_FOUND
    0xC000003A: ("not found", True),  # STATUS_OBJECT_PATH_NOT_FOUND
    0xC0000033: ("not found", True),  # STATUS_OBJECT_NAME_INVALID
    0xC0000022: ("access denied", False),
    0xC00000CC: ("no such share", False),  # STATUS_BAD_NETWORK_NAME
    0xC000006D: ("logon failed (wrong user name or password)", False),
    0xC0000234: ("account locked out", False),
}


class SmbSysvol:
    """A signed SMB session to one DC that reads SYSVOL files (:class:`FileReader`)."""

    def __init__(self, server: str, creds: Credentials, *, timeout: float = 30.0) -> None:
        from impacket import smb3
        from impacket.smbconnection import SMBConnection

        self._server = server
        self._conn: Any = None
        try:
            self._conn = SMBConnection(server, server, sess_port=445, timeout=timeout)
            smb = self._conn.getSMBServer()
            if isinstance(smb, smb3.SMB3):  # require signing (module docstring)
                smb.RequireMessageSigning = True
                smb._Connection["RequireSigning"] = True
            self._conn.login(creds.user, creds.password, creds.domain, "", creds.nthash)
        except Exception as exc:  # noqa: BLE001 - impacket raises bare exceptions
            self.close()
            raise SysvolError(f"SMB session to {server}: {self._explain(exc, creds)}") from None

    @staticmethod
    def _explain(exc: BaseException, creds: Credentials) -> str:
        code = getattr(exc, "getErrorCode", lambda: None)()
        if isinstance(code, int) and code in _STATUS:
            return _STATUS[code][0]
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        for secret in (creds.password, creds.nthash):
            if secret:
                text = text.replace(secret, "***")
        return text

    def read(self, unc: str, limit: int) -> bytes:
        parts = unc.lstrip("\\").split("\\", 2)
        if len(parts) < 3:
            raise SysvolError(f"{unc}: not a \\\\server\\share\\path")
        share, path = parts[1], parts[2]
        chunks: list[bytes] = []
        size = 0

        def sink(data: bytes) -> None:
            nonlocal size
            size += len(data)
            if size > limit:
                raise SysvolError(f"{unc}: larger than {limit} bytes")
            chunks.append(data)

        try:
            self._conn.getFile(share, path, sink)
        except SysvolError:
            raise
        except Exception as exc:  # noqa: BLE001 - impacket raises bare exceptions
            code = getattr(exc, "getErrorCode", lambda: None)()
            what, missing = (
                _STATUS.get(code, (None, False)) if isinstance(code, int) else (None, False)
            )
            raise SysvolError(f"{what or type(exc).__name__}", missing=missing) from None
        return b"".join(chunks)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken session is not an error
                conn.close()

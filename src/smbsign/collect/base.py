"""Shared interface and helpers of the evidence collectors (issue #3 item 3).

Every collector module exposes ``KIND``, ``sniff(data, name)`` and the pure
``collect(data, path, host) -> CollectResult``; ``collect`` never raises: malformed input
becomes a :class:`~smbsign.model.CollectError` in ``errors`` (an ``error`` finding later).
Text decoding follows reference.md §6.1/§6.2/§6.4: BOM first (UTF-16LE/BE, UTF-8), then BOM-less
UTF-16LE, then UTF-8, then the ANSI code page (cp1252).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from smbsign.errors import ParseError
from smbsign.model import CollectError, HostFacts, Layer, SettingValue


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one evidence source yielded."""

    values: tuple[SettingValue, ...] = ()
    facts: HostFacts | None = None  # facts found in the evidence (build, edition, role, ...)
    errors: tuple[CollectError, ...] = ()
    notes: tuple[str, ...] = ()  # what was left out and why (e.g. a symlink out of the tree)


class Collector(Protocol):
    """The shape of a collector module (for type checking the wiring table)."""

    KIND: str

    def sniff(self, data: bytes, name: str) -> bool: ...

    def collect(self, data: bytes, path: str, host: str) -> CollectResult: ...


def failed(host: str, path: str, kind: str, message: str) -> CollectResult:
    """A result holding one error and nothing else."""
    return CollectResult(errors=(CollectError(host=host, path=path, kind=kind, message=message),))


# ------------------------------------------------------------------------------ text

_NEWLINE = re.compile(r"\r\n|\r|\n")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def text_encoding(data: bytes) -> tuple[str, int]:
    """Guess ``(encoding, bom_length)`` of a text file (docs/reference.md §6.1, §6.4)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc, len(bom)
    head = data[:512]
    if len(head) >= 4:
        # BOM-less UTF-16: ASCII text has a NUL in every other byte.
        odd_nul = head[1::2].count(0)
        even_nul = head[0::2].count(0)
        half = len(head) // 2
        if odd_nul > half * 0.6 and even_nul == 0:
            return "utf-16-le", 0
        if even_nul > half * 0.6 and odd_nul == 0:
            return "utf-16-be", 0
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252", 0
    return "utf-8", 0


def decode_text(data: bytes, *, where: str = "") -> str:
    """Decode ``data`` as text; raise :class:`ParseError` if it is not text at all."""
    enc, skip = text_encoding(data)
    body = data[skip:]
    if enc.startswith("utf-16") and len(body) % 2:
        raise ParseError(f"odd byte count for {enc} text", where=where)
    try:
        text = body.decode(enc)
    except UnicodeDecodeError:
        if enc != "cp1252":
            raise ParseError(f"not valid {enc} text", where=where) from None
        text = body.decode("latin-1")
    if "\x00" in text:
        raise ParseError("NUL character in text (binary data?)", where=where)
    return text


def split_lines(text: str) -> list[str]:
    """Split on CRLF, LF or CR only (``str.splitlines`` also splits on form feeds etc.)."""
    return _NEWLINE.split(text)


def text_head(data: bytes, limit: int = 2048) -> str:
    """Lower-cased decoded prefix for sniffing; '' when it is not text."""
    enc, skip = text_encoding(data[: limit + 4])
    chunk = data[skip : skip + limit]
    if enc.startswith("utf-16"):
        chunk = chunk[: len(chunk) // 2 * 2]
    return chunk.decode(enc, errors="replace").lower()


# ------------------------------------------------------------------------- layers

_GPO_PATH = re.compile(r"(^|[\\/])(policies[\\/]\{[0-9a-f-]{36}\}|domainsysvol[\\/]gpo)([\\/]|$)")
_LOCAL_GPO_PATH = re.compile(r"system32[\\/]grouppolicy([\\/]|$)")


def in_gpo_tree(path: str) -> bool:
    """True when ``path`` lies inside a SYSVOL GPO or a GPO backup (docs/reference.md §6.2)."""
    return _GPO_PATH.search(path.lower()) is not None


def in_local_gpo(path: str) -> bool:
    """True for the local Group Policy store ``%SystemRoot%\\System32\\GroupPolicy``."""
    return _LOCAL_GPO_PATH.search(path.lower()) is not None


def registry_layer(setting: str, default: Layer = Layer.LOCAL) -> Layer:
    """Layer implied by where a registry value lives (docs/reference.md §3.4, §4.1).

    ``HKLM\\SOFTWARE\\Microsoft\\PolicyManager\\...`` is written by MDM; any
    ``...\\SOFTWARE\\Policies\\...`` value is written by Group Policy (domain or local GPO;
    a registry read cannot tell which, so it is reported as ``gpo``).
    """
    low = setting.lower()
    if low.startswith("hklm\\software\\microsoft\\policymanager\\"):
        return Layer.MDM
    if "\\software\\policies\\" in low or low.startswith("software\\policies\\"):
        return Layer.GPO
    return default


def deletion_covers(marker: SettingValue, setting: str) -> bool:
    """True when key-deletion ``marker`` (id ``<key>\\*``, docs/collectors.md) deletes ``setting``.

    ``value_type`` ``KEY`` deletes the key and its subkeys; ``VALUES`` only the values
    directly under the key. Ids are compared lower-cased.
    """
    if not (marker.deleted and marker.setting.endswith("\\*")):
        return False
    prefix = marker.setting[:-1].lower()
    low = setting.lower()
    if not low.startswith(prefix) or low == prefix:
        return False
    return marker.value_type == "KEY" or "\\" not in low[len(prefix) :]

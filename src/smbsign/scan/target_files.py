"""Target files (``-iL FILE``, ``-`` for stdin), format detected from content (docs/scan.md).

Formats: a plain list (one or more specs a line, ``#`` comments, blank lines), nmap XML
(``-oX``: hosts with tcp 445 or 139 ``state="open"``, with the open ports kept as a hint),
nmap/masscan grepable (``-oG``), masscan list (``-oL``: ``open tcp 445 10.0.0.5 1700000000``)
and zmap (one address a line, or ``-O csv`` with a ``saddr`` column).

Every parser is fed raw chunks and returns items as they complete, so the same code reads a
regular file and a pipe that is still being written (``zmap ... | smbsign scan -iL -``).
UTF-16 input (what PowerShell 5 ``>`` writes) is transcoded on the way in by :class:`Decoded`,
with the BOM rules the evidence collectors use (:func:`smbsign.codecs.text.text_encoding`).
Given ``on_error``, a parser reports a bad line through it and goes on with the next one
(stdin: the targets around a typo are still probed); without it the first bad line raises.
nmap XML goes through :class:`xml.etree.ElementTree.XMLPullParser` and each host element is
dropped once read, so memory stays flat; expat >= 2.4 bounds entity expansion and ElementTree
never fetches external entities.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Protocol, cast

from smbsign.codecs.text import text_encoding
from smbsign.errors import UsageError
from smbsign.scan.target_spec import Item, Name, Single, parse_spec
from smbsign.textutil import is_decimal

__all__ = ["SMB_PORTS", "AutoParser", "Decoded", "FileParser", "OnError", "PlainList", "detect"]

SMB_PORTS = (445, 139)
MAX_LINE = 64 * 1024  # a longer "line" is not a target list
_DETECT_BYTES = 4096

_MASSCAN_LINE = re.compile(rb"^(open|closed|banner|unknown) (tcp|udp|sctp) \d+ ")
_GREP_PORTS = re.compile(r"(\d+)/open/tcp/")


OnError = Callable[[str], None]  # receives "FILE:LINE: what is wrong"


class FileParser(Protocol):
    def feed(self, chunk: bytes) -> list[Item]: ...

    def close(self) -> list[Item]: ...


class Decoded:
    """Hands ``inner`` UTF-8 bytes: UTF-16 (LE/BE, by BOM or by its NUL pattern) is transcoded.

    Anything else passes unchanged (a UTF-8 BOM is dropped by the line parsers). Detection
    waits for the first 4 bytes; decoding is incremental, so a pipe still streams.
    """

    def __init__(self, path: str, inner: FileParser) -> None:
        self._path = path
        self._inner = inner
        self._head: bytes | None = b""
        self._decoder: codecs.IncrementalDecoder | None = None

    def _convert(self, data: bytes, *, final: bool = False) -> bytes:
        if self._decoder is None:
            return data
        try:
            return self._decoder.decode(data, final).encode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{self._path}: not valid UTF-16 text") from None

    def _start(self) -> bytes:
        head, self._head = self._head or b"", None
        enc, bom = text_encoding(head)
        if enc.startswith("utf-16"):
            self._decoder = codecs.getincrementaldecoder(enc)()
            head = head[bom:]
        return self._convert(head)

    def feed(self, chunk: bytes) -> list[Item]:
        if self._head is not None:
            self._head += chunk
            if len(self._head) < 4:
                return []
            return self._inner.feed(self._start())
        return self._inner.feed(self._convert(chunk))

    def close(self) -> list[Item]:
        out = self._inner.feed(self._start()) if self._head is not None else []
        tail = self._convert(b"", final=True)
        if tail:
            out += self._inner.feed(tail)
        return out + self._inner.close()


def _decode(where: str, line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 text") from None


def _spec(where: str, text: str) -> Item:
    try:
        return parse_spec(text)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None


class _LineParser:
    """Base for line formats: splits chunks into lines and hands each to ``_line``."""

    def __init__(self, path: str, on_error: OnError | None = None) -> None:
        self._path = path
        self._buf = b""
        self._lineno = 0
        self._on_error = on_error
        self._skipping = False  # inside an over-long line that was reported

    def _line(self, where: str, line: bytes) -> list[Item]:
        raise NotImplementedError

    def _take(self, line: bytes) -> list[Item]:
        self._lineno += 1
        if self._lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        line = line.strip()
        if not line:
            return []
        return self._line(f"{self._path}:{self._lineno}", line)

    def _report(self, exc: UsageError) -> None:
        if self._on_error is None:
            raise exc
        self._on_error(str(exc))

    def _lines(self, lines: list[bytes]) -> list[Item]:
        out: list[Item] = []
        for line in lines:
            try:
                out.extend(self._take(line))
            except UsageError as exc:
                self._report(exc)
        return out

    def feed(self, chunk: bytes) -> list[Item]:
        if self._skipping:
            end = chunk.find(b"\n")
            if end < 0:
                return []
            chunk, self._skipping = chunk[end + 1 :], False
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        out = self._lines(lines)
        if len(self._buf) > MAX_LINE:
            self._lineno += 1
            self._buf, self._skipping = b"", True
            self._report(UsageError(f"{self._path}:{self._lineno}: line too long"))
        return out

    def close(self) -> list[Item]:
        rest, self._buf = self._buf, b""
        return self._lines([rest]) if rest and not self._skipping else []


class PlainList(_LineParser):
    """Specs separated by white space or commas; ``#`` starts a comment (nmap ``-iL``)."""

    def _line(self, where: str, line: bytes) -> list[Item]:
        text = _decode(where, line).split("#", 1)[0]
        return [_spec(where, word) for word in text.replace(",", " ").split()]


class MasscanList(_LineParser):
    """``open tcp 445 10.0.0.5 1700000000`` (masscan ``-oL``); only SMB ports count."""

    def _line(self, where: str, line: bytes) -> list[Item]:
        if line.startswith(b"#"):
            return []
        words = _decode(where, line).split()
        if len(words) < 4 or not is_decimal(words[2]):
            raise UsageError(f"{where}: not a masscan list line")
        if words[0] != "open" or words[1] != "tcp" or int(words[2]) not in SMB_PORTS:
            return []
        return [_spec(where, words[3])]


class Grepable(_LineParser):
    """nmap/masscan ``-oG``: ``Host: 10.0.0.5 ()<TAB>Ports: 445/open/tcp//microsoft-ds///``."""

    def _line(self, where: str, line: bytes) -> list[Item]:
        text = _decode(where, line)
        if text.startswith("#") or "Ports:" not in text:
            return []
        host = re.search(r"Host: (\S+)", text)
        ports = {int(p) for p in _GREP_PORTS.findall(text.split("Ports:", 1)[1])}
        if host is None or not ports & set(SMB_PORTS):
            return []
        return [_spec(where, host.group(1))]


class ZmapCsv(_LineParser):
    """zmap ``-O csv``: a header line naming ``saddr``; only that column is read."""

    def __init__(self, path: str, on_error: OnError | None = None) -> None:
        super().__init__(path, on_error)
        self._col: int | None = None

    def _line(self, where: str, line: bytes) -> list[Item]:
        cells = [c.strip() for c in _decode(where, line).split(",")]
        if self._col is None:
            if "saddr" not in cells:
                raise UsageError(f"{where}: zmap CSV header without a saddr column")
            self._col = cells.index("saddr")
            return []
        if len(cells) <= self._col:
            raise UsageError(f"{where}: row has no saddr column")
        return [_spec(where, cells[self._col])]


class NmapXml:
    """nmap ``-oX``: one :class:`Single` per host with tcp 445 or 139 open."""

    def __init__(self, path: str, on_error: OnError | None = None) -> None:
        self._path = path
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        self._root: ET.Element | None = None
        self._on_error = on_error
        self._failed = False  # reported through on_error: the rest of the document is ignored

    def _events(self) -> Iterator[Item]:
        try:
            events = cast("Iterator[tuple[str, ET.Element]]", self._parser.read_events())
            for event, elem in events:
                if event == "start" and self._root is None:
                    if elem.tag != "nmaprun":
                        raise UsageError(f"{self._path}: XML but not nmap -oX output")
                    self._root = elem
                elif event == "end" and elem.tag == "host" and self._root is not None:
                    item = self._host(elem)
                    self._root.clear()  # drop the host just read: flat memory
                    if item is not None:
                        yield item
        except (ET.ParseError, LookupError) as exc:
            raise UsageError(f"{self._path}: malformed nmap XML: {exc}") from None

    def _host(self, host: ET.Element) -> Item | None:
        open_ports = []
        for port in host.iterfind("ports/port"):
            state = port.find("state")
            portid = port.get("portid", "")
            if (
                port.get("protocol") == "tcp"
                and is_decimal(portid)
                and int(portid) in SMB_PORTS
                and state is not None
                and state.get("state") == "open"
            ):
                open_ports.append(int(portid))
        addrs = host.iterfind("address")
        addr = next((a.get("addr") for a in addrs if a.get("addrtype") in ("ipv4", "ipv6")), None)
        if not open_ports or not addr:
            return None
        item = _spec(self._path, addr)
        if not isinstance(item, Single):
            raise UsageError(f"{self._path}: host address {addr!r} is not a single address")
        hostname = None
        for hn in host.iterfind("hostnames/hostname"):
            name = hn.get("name") or ""
            if hn.get("type") == "user" and name:
                try:
                    parsed = parse_spec(name)
                except UsageError:
                    continue
                hostname = parsed.name if isinstance(parsed, Name) else None
        ordered = tuple(p for p in SMB_PORTS if p in open_ports)
        return Single(item.version, item.value, item.scope, hostname, ordered)

    def _collect(self, out: list[Item], error: UsageError | None = None) -> list[Item]:
        """The hosts read so far; an error after them is raised or reported (then fatal)."""
        try:
            out.extend(self._events())
            if error is not None:
                raise error
        except UsageError as exc:
            if self._on_error is None:
                raise
            self._failed = True
            self._on_error(str(exc))
        return out

    def feed(self, chunk: bytes) -> list[Item]:
        if self._failed:
            return []
        try:
            self._parser.feed(chunk)
        except (ET.ParseError, LookupError, ValueError) as exc:
            return self._collect([], UsageError(f"{self._path}: malformed nmap XML: {exc}"))
        return self._collect([])

    def close(self) -> list[Item]:
        if self._failed:
            return []
        try:
            self._parser.close()
        except (ET.ParseError, LookupError, ValueError) as exc:
            why = f"{self._path}: truncated or malformed nmap XML: {exc}"
            return self._collect([], UsageError(why))
        out = self._collect([])
        if self._root is None and not self._failed:
            return self._collect(out, UsageError(f"{self._path}: empty nmap XML"))
        return out


def detect(path: str, head: bytes, on_error: OnError | None = None) -> FileParser:
    """Pick the parser from the first non-blank line of ``head`` (the file's first bytes)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    first = text.split(b"\n", 1)[0].strip()
    if first.startswith(b"<"):
        return NmapXml(path, on_error)
    if first.startswith(b"#masscan") or _MASSCAN_LINE.match(first):
        return MasscanList(path, on_error)
    if first.startswith((b"# Nmap", b"# Masscan", b"Host: ", b"Timestamp: ")):
        return Grepable(path, on_error)
    if b"saddr" in first.split(b","):
        return ZmapCsv(path, on_error)
    return PlainList(path, on_error)


class AutoParser:
    """Buffers the first non-blank line, picks the format with :func:`detect`, then streams."""

    def __init__(self, path: str, on_error: OnError | None = None) -> None:
        self._path = path
        self._head = b""
        self._parser: FileParser | None = None
        self._on_error = on_error

    def _ready(self) -> bool:
        text = self._head.lstrip(b"\xef\xbb\xbf").lstrip()
        return b"\n" in text or len(self._head) >= _DETECT_BYTES

    def feed(self, chunk: bytes) -> list[Item]:
        if self._parser is None:
            self._head += chunk
            if not self._ready():
                return []
            self._parser = detect(self._path, self._head, self._on_error)
            chunk, self._head = self._head, b""
        return self._parser.feed(chunk)

    def close(self) -> list[Item]:
        if self._parser is None:
            if not self._head.strip():
                return []  # an empty file names no targets
            self._parser = detect(self._path, self._head, self._on_error)
            return self._parser.feed(self._head) + self._parser.close()
        return self._parser.close()

"""The one writer interface and the row that describes a format (docs/architecture.md).

Every output is a :class:`Writer`: ``begin(meta)``, then ``add(item)`` for each scan record or
finding as it arrives, then ``end(summary)``. ``end`` also runs after an interruption (the CLI
calls it in ``finally``) with ``summary["complete"]`` false, and leaves a valid file: JSON
Lines are valid after every line, the JSON document is closed with ``"complete": false``, a
buffered format (SARIF, HTML...) renders the items so far as an incomplete run.

A :class:`Format` says which record kinds it carries and, per kind, how to write them; a
format without a streaming writer for a kind buffers the items and renders them as a
:class:`smbsign.run.Run` (what ``smbsign report`` shows for that run once stored, apart from
its id and times).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from smbsign import __version__
from smbsign.model import Finding, ScanRecord
from smbsign.run import CatalogLike, Run, RunInfo, RunKind, new_run_id, utc_now

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "ITEM_KINDS",
    "Format",
    "Item",
    "Kind",
    "Meta",
    "Options",
    "RecordStream",
    "RunBuffer",
    "Writer",
    "lazy_render",
    "write_bytes",
]

Item = ScanRecord | Finding


class Kind(StrEnum):
    """What a command writes: live scan records, live findings, a stored run."""

    RECORDS = "records"  # smbsign scan
    FINDINGS = "findings"  # smbsign audit, smbsign ad audit
    RUN = "run"  # smbsign report (a stored scan or audit)
    HISTORY = "history"  # smbsign history (stored runs, without their rows)
    DIFF = "diff"  # smbsign diff (two stored runs compared)


# Kinds written item by item (begin / add / end); the others are one document each.
ITEM_KINDS = frozenset({Kind.RECORDS, Kind.FINDINGS, Kind.RUN})


@dataclass(frozen=True, slots=True)
class Meta:
    """What a writer knows before the first item: the run it belongs to."""

    run_kind: RunKind = "scan"
    run_id: str = field(default_factory=new_run_id)
    started: datetime = field(default_factory=utc_now)
    argv: tuple[str, ...] = ()  # already redacted
    catalog: CatalogLike | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """Per-command knobs a writer may use: the table's console, the LDAP CSV columns."""

    console: Console | None = None
    ldap: bool = False  # scan --protocols ldap: CSV gets the ldap_* columns
    width: int | None = None  # table width (None: the terminal's)
    trend: Sequence[RunInfo] = ()  # older runs (HTML trend chart)


class Writer(Protocol):
    def begin(self, meta: Meta) -> None: ...

    def add(self, item: Item) -> None: ...

    def end(self, summary: Mapping[str, Any]) -> None: ...


class Renderer(Protocol):
    """A whole run to bytes (``smbsign report``); every format has one."""

    def __call__(
        self, run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()
    ) -> bytes: ...


WriterFactory = Callable[[TextIO, Options], Writer]


@dataclass(frozen=True, slots=True)
class Format:
    """One output format: its name, file suffix, one line of help, the kinds it carries."""

    name: str
    suffix: str
    help: str
    render: Renderer
    writers: Mapping[Kind, WriterFactory] = field(default_factory=dict)  # streaming, per kind
    kinds: frozenset[Kind] = ITEM_KINDS
    # One-document kinds (history, diff): kind -> render(document) -> bytes.
    documents: Mapping[Kind, Callable[[Any], bytes]] = field(default_factory=dict)

    def carries(self, kind: Kind) -> bool:
        return kind in self.kinds or kind in self.documents

    def document(self, kind: Kind, doc: object) -> bytes:
        """A one-document kind (``history``, ``diff``) in this format."""
        render = self.documents.get(kind)
        if render is None:
            raise ValueError(f"format {self.name!r} cannot carry {kind.value}")
        return render(doc)

    def writer(self, kind: Kind, fh: TextIO, opts: Options | None = None) -> Writer:
        """The writer of ``kind`` items on ``fh`` (its own, else a buffer rendered at end)."""
        if kind not in self.kinds:
            raise ValueError(f"format {self.name!r} cannot carry {kind.value}")
        opts = opts or Options()
        make = self.writers.get(kind)
        return make(fh, opts) if make is not None else RunBuffer(self.render, fh, opts)


def lazy_render(module: str) -> Renderer:
    """``module``'s ``render``, imported on first use (``--help`` loads no renderer)."""

    def render(
        run: Run, catalog: CatalogLike | None = None, *, trend: Sequence[RunInfo] = ()
    ) -> bytes:
        fn: Renderer = importlib.import_module(module).render
        return fn(run, catalog, trend=trend)

    return render


def write_bytes(fh: TextIO, data: bytes) -> None:
    """``data`` on ``fh`` as it is (UTF-8, CRLF kept): through its binary buffer if it has one."""
    buf = getattr(fh, "buffer", None)
    if buf is not None:
        fh.flush()
        buf.write(data)
        buf.flush()
    else:
        fh.write(data.decode("utf-8"))
        fh.flush()


class RecordStream:
    """``begin``/``add``/``end`` for a scan record writer that has ``write`` and ``close``."""

    def write(self, rec: ScanRecord) -> None:
        raise NotImplementedError

    def close(self, summary: dict[str, Any]) -> None:
        raise NotImplementedError

    def begin(self, meta: Meta) -> None:
        _ = meta

    def add(self, item: Item) -> None:
        if not isinstance(item, ScanRecord):
            raise TypeError("a scan record writer takes scan records")
        self.write(item)

    def end(self, summary: Mapping[str, Any]) -> None:
        self.close(dict(summary))


class RunBuffer:
    """Keeps the items and renders them as one run at ``end`` (formats that need it all).

    Of scan records it keeps those of hosts that answered, as the store does, so memory grows
    with the SMB hosts found, not with the size of the range."""

    def __init__(self, render: Renderer, fh: TextIO, opts: Options) -> None:
        self._render = render
        self._fh = fh
        self._opts = opts
        self._meta = Meta()
        self._records: list[ScanRecord] = []
        self._findings: list[Finding] = []
        from smbsign.scan.runner import is_dead  # the scan machinery only when writing

        self._dead = is_dead

    def begin(self, meta: Meta) -> None:
        self._meta = meta

    def add(self, item: Item) -> None:
        if isinstance(item, ScanRecord):
            if not self._dead(item):  # as the store keeps a scan: the hosts that answered
                self._records.append(item)
        else:
            self._findings.append(item)

    def end(self, summary: Mapping[str, Any]) -> None:
        meta = self._meta
        run = Run(
            id=meta.run_id,
            kind=meta.run_kind,
            started=meta.started,
            finished=utc_now(),
            tool_version=__version__,
            argv=meta.argv,
            records=tuple(self._records),
            findings=tuple(self._findings),
            complete=bool(summary.get("complete", True)),
        )
        write_bytes(self._fh, self._render(run, meta.catalog, trend=self._opts.trend))


class BytesBuffer:
    """Keeps the findings and writes ``render(findings)`` at ``end`` (audit documents)."""

    def __init__(self, render: Callable[[Sequence[Finding]], bytes], fh: TextIO) -> None:
        self._render = render
        self._fh = fh
        self._findings: list[Finding] = []

    def begin(self, meta: Meta) -> None:
        _ = meta

    def add(self, item: Item) -> None:
        if isinstance(item, Finding):
            self._findings.append(item)

    def end(self, summary: Mapping[str, Any]) -> None:
        _ = summary
        write_bytes(self._fh, self._render(self._findings))

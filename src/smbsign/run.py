"""The run model: one recorded run (a ``scan`` or an ``audit``), its ids, its redacted command
line and the pure numbers every report shows. Presentation-free: the store and every output
format read it (docs/architecture.md).

Scores follow EDCA (docs/reference.md §10.4): per framework,
``100 × Σweight(pass) / Σweight(pass + fail + error)`` over host×control pairs. ``error`` is
in the denominator (a control we could not read is not compliance); ``unknown`` and
``not_applicable`` are left out of it and shown as counts, so an unreadable default never
inflates nor deflates the score (docs/reference.md §3.4). A framework with nothing scorable has no
score (None), never 0 % or 100 %.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from smbsign.model import Finding, ScanRecord, ScanStatus, Status
from smbsign.scan.target_spec import address_sort_key
from smbsign.verdict import RELAYABLE, Verdict, verdict

if TYPE_CHECKING:
    from smbsign.catalog.schema import Control, Framework

RunKind = Literal["scan", "audit"]
RUN_KINDS: tuple[RunKind, ...] = ("scan", "audit")


class CatalogLike(Protocol):
    """What reports need of the catalog (``smbsign.catalog.load_catalog()`` provides it)."""

    @property
    def controls(self) -> Mapping[str, Control]: ...

    @property
    def frameworks(self) -> Mapping[str, Framework]: ...


# ------------------------------------------------------------------------- run ids

_ID_FIRST = "abcdefghjkmnpqrstvwxyz"  # a letter: an id is never mistaken for a sequence number
_ID_REST = "0123456789" + _ID_FIRST
ID_LENGTH = 10


def new_run_id() -> str:
    """A short random id (about 50 bits), lower case, starting with a letter."""
    return secrets.choice(_ID_FIRST) + "".join(
        secrets.choice(_ID_REST) for _ in range(ID_LENGTH - 1)
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """UTC ISO-8601 with a ``Z`` suffix (sorts as text)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------------- redaction

_SECRET_OPTION = re.compile(
    r"^--?[a-z0-9-]*(pass|pwd|hash|secret|token|credential|apikey|api-key|aes-key|aeskey|ticket)"
    r"[a-z0-9-]*$",
    re.IGNORECASE,
)
_NOT_SECRET_SUFFIX = ("-env", "-file", "-var", "-prompt")
# The user part may hold '@' (``user@server:pw@host``, SQLAlchemy reads it so) and a password
# typed without percent-encoding may too: everything up to the last '@' of the word is hidden.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/\s]*:)\S*@", re.IGNORECASE)
# One argv element is one word even with spaces in it ("postgresql://u:pass word@h/db").
_ARG_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/]*:).*@", re.IGNORECASE | re.S)
# libpq takes a password from the query string too (``?password=``, ``sslpassword=``).
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:ssl)?password=)[^&#\s]*", re.IGNORECASE)
REDACTED = "***"


def redact_text(text: str, *, word: bool = False) -> str:
    """Hide URL passwords in ``text``: ``scheme://user:***@``, ``?password=***``.

    ``word=True`` treats ``text`` as one command-line argument (spaces belong to it).
    """
    userinfo = _ARG_URL_PASSWORD if word else _URL_PASSWORD
    text = userinfo.sub(lambda m: f"{m.group('head')}{REDACTED}@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}", text)


def _is_secret_option(name: str) -> bool:
    return bool(_SECRET_OPTION.match(name)) and not name.lower().endswith(_NOT_SECRET_SUFFIX)


def redact_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """Command line safe to store: secret option values replaced, URL passwords hidden.

    ``--password X``, ``--password=X``, ``--hashes LM:NT`` ... keep the option name only;
    ``--password-env NAME`` keeps the variable name (not a secret); prompts are untouched.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        if arg.startswith("-") and _is_secret_option(name):
            if eq:
                out.append(f"{name}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg, word=True))
    return tuple(out)


# ---------------------------------------------------------------------------- run


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline numbers of a run (stored with it, shown by ``history``)."""

    hosts: int  # distinct hosts seen in records or findings
    smb_hosts: int  # distinct hosts where an SMB server answered a NEGOTIATE (status ok)
    relayable: int  # distinct hosts with a not-required / disabled verdict
    required: int  # distinct hosts where every SMB answer required signing
    unknown: int  # distinct hosts whose signing could not be determined
    findings: Mapping[str, int] = field(default_factory=dict)  # status value -> count


@dataclass(frozen=True, slots=True)
class Run:
    """A finished ``scan`` or ``audit``; ``argv`` is already redacted."""

    id: str
    kind: RunKind
    started: datetime
    finished: datetime
    tool_version: str
    argv: tuple[str, ...]
    records: tuple[ScanRecord, ...] = ()
    findings: tuple[Finding, ...] = ()
    seq: int | None = None  # the store's sequence number, once recorded
    complete: bool = True  # False: interrupted (Ctrl-C, closed pipe, write error) part way

    @property
    def summary(self) -> Summary:
        return summarize(self.records, self.findings)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A stored run without its rows (what ``history`` lists)."""

    seq: int
    id: str
    kind: RunKind
    started: datetime
    finished: datetime
    tool_version: str
    argv: tuple[str, ...]
    summary: Summary
    complete: bool = True  # False: the run was interrupted part way


@dataclass(frozen=True, slots=True)
class History:
    """What ``smbsign history`` shows: the store (password hidden) and its runs, newest first."""

    store: str
    runs: tuple[RunInfo, ...]


def host_verdicts(records: Iterable[ScanRecord]) -> dict[str, Verdict]:
    """One verdict per host: relayable if any port is, else required if any, else unknown."""
    by_host: dict[str, set[Verdict]] = defaultdict(set)
    for rec in records:
        by_host[rec.target].add(verdict(rec))
    out: dict[str, Verdict] = {}
    for host, seen in by_host.items():
        relay = seen & RELAYABLE
        if relay:
            out[host] = Verdict.DISABLED if relay == {Verdict.DISABLED} else Verdict.NOT_REQUIRED
        elif Verdict.REQUIRED in seen and Verdict.UNKNOWN not in seen:
            out[host] = Verdict.REQUIRED
        elif Verdict.UNKNOWN in seen:
            out[host] = Verdict.UNKNOWN
        elif Verdict.REQUIRED in seen:
            out[host] = Verdict.REQUIRED
        else:
            out[host] = Verdict.NO_SMB
    return out


# ------------------------------------------------------------------ one server, many addresses


def server_key(rec: ScanRecord) -> str | None:
    """What identifies the server behind ``rec`` across addresses, or None (never merged).

    The SMB2 NEGOTIATE ServerGuid "uniquely identif[ies] this server" (MS-SMB2 2.2.4), so two
    addresses that answer with one GUID are one server (IPv4 and IPv6, several NICs). Never
    merged: a record without an SMB2 answer, a zero (or all-ones) GUID, and a GUID that is a
    name -- Samba sends its lower-cased NetBIOS name, zero padded (``negprot_spnego`` in
    source3/smbd/smb2_negprot.c; the lab's servers send ``lab-default``...), so two Samba
    servers with one NetBIOS name send the same GUID: such a GUID merges only records that
    also carry the same host name (the name the user gave, resolved to both addresses).
    """
    if rec.status is not ScanStatus.OK or rec.smb2 is None or not rec.smb2.server_guid:
        return None
    try:
        raw = uuid.UUID(rec.smb2.server_guid).bytes_le
    except ValueError:
        return None
    if raw in (bytes(16), b"\xff" * 16):
        return None
    name = raw.rstrip(b"\0")
    if len(name) < len(raw) and all(0x20 <= b < 0x7F for b in name):  # Samba's name-GUID
        return f"{raw.hex()}|{rec.hostname.lower()}" if rec.hostname else None
    return raw.hex()


def server_addresses(records: Iterable[ScanRecord]) -> dict[str, tuple[str, ...]]:
    """Each probed address -> all addresses of its server (numeric order, itself included)."""
    parent: dict[str, str] = {}

    def root(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first: dict[str, str] = {}
    for rec in records:
        parent.setdefault(rec.target, rec.target)
        key = server_key(rec)
        if key is None:
            continue
        other = first.setdefault(key, rec.target)
        parent[root(rec.target)] = root(other)
    groups: dict[str, list[str]] = defaultdict(list)
    for a in parent:
        groups[root(a)].append(a)
    out: dict[str, tuple[str, ...]] = {}
    for members in groups.values():
        ordered = tuple(sorted(members, key=address_sort_key))
        for a in members:
            out[a] = ordered
    return out


# Failures first in every human-facing report (relayable, then undetermined, then safe).
_VERDICT_RANK = {
    Verdict.NOT_REQUIRED: 0,
    Verdict.DISABLED: 0,
    Verdict.UNKNOWN: 1,
    Verdict.REQUIRED: 2,
    Verdict.NO_SMB: 3,
}
_STATUS_RANK = {
    Status.FAIL: 0,
    Status.ERROR: 1,
    Status.UNKNOWN: 2,
    Status.PASS: 3,
    Status.NOT_APPLICABLE: 4,
}


def finding_order(f: Finding) -> tuple[int, tuple[int, int, str], str, str]:
    """Sort key: failing first, then host in numeric address order, then control."""
    return (_STATUS_RANK[f.status], address_sort_key(f.host), f.host, f.control)


@dataclass(frozen=True, slots=True)
class ServerRow:
    """One row of a hosts table: a port of one server, with every address that answered alike."""

    addresses: tuple[str, ...]
    record: ScanRecord  # the answer (the same on every address of the row)

    @property
    def host(self) -> str:
        return ", ".join(self.addresses)


def _answer(r: ScanRecord) -> tuple[object, ...]:
    """What a hosts row shows of a record (the per-connection preauth hash left out)."""
    smb2 = (r.smb2.dialect, r.smb2.security_mode, r.smb2.capabilities) if r.smb2 else None
    return (verdict(r), r.status, r.transport, smb2, r.smb1, r.reason, r.hostname)


def server_rows(records: Sequence[ScanRecord]) -> list[ServerRow]:
    """Rows for the hosts tables: the addresses of one server that gave the same answer on a
    port share a row; failures first, then numeric address order, then port."""
    servers = server_addresses(records)
    groups: dict[tuple[tuple[str, ...], int], list[ScanRecord]] = defaultdict(list)
    for r in records:
        groups[(servers[r.target], r.port)].append(r)
    rows: list[ServerRow] = []
    for recs in groups.values():
        recs.sort(key=lambda r: address_sort_key(r.target))
        if len(recs) > 1 and all(_answer(recs[0]) == _answer(r) for r in recs[1:]):
            rows.append(ServerRow(tuple(r.target for r in recs), recs[0]))
        else:
            rows.extend(ServerRow((r.target,), r) for r in recs)
    rows.sort(
        key=lambda row: (
            _VERDICT_RANK[verdict(row.record)],
            address_sort_key(row.addresses[0]),
            row.record.port,
        )
    )
    return rows


def summarize(records: Sequence[ScanRecord], findings: Sequence[Finding]) -> Summary:
    """Headline counts; addresses of one server (``server_addresses``) count once."""
    servers = server_addresses(records)
    if any(len(v) > 1 for v in servers.values()):
        records = [replace(r, target=servers[r.target][0]) for r in records]
    per_host = host_verdicts(records)
    hosts = set(per_host) | {servers[f.host][0] if f.host in servers else f.host for f in findings}
    counts = Counter(per_host.values())
    return Summary(
        hosts=len(hosts),
        smb_hosts=len({r.target for r in records if r.status is ScanStatus.OK}),
        relayable=sum(n for v, n in counts.items() if v in RELAYABLE),
        required=counts[Verdict.REQUIRED],
        unknown=counts[Verdict.UNKNOWN],
        findings={s.value: n for s in Status if (n := sum(f.status is s for f in findings))},
    )


def summary_to_dict(s: Summary) -> dict[str, object]:
    return {
        "hosts": s.hosts,
        "smb_hosts": s.smb_hosts,
        "relayable": s.relayable,
        "required": s.required,
        "unknown": s.unknown,
        "findings": dict(s.findings),
    }


def summary_from_dict(d: Mapping[str, object]) -> Summary:
    raw = d.get("findings")
    findings = {str(k): int(str(v)) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return Summary(
        hosts=int(str(d.get("hosts", 0))),
        smb_hosts=int(str(d.get("smb_hosts", 0))),
        relayable=int(str(d.get("relayable", 0))),
        required=int(str(d.get("required", 0))),
        unknown=int(str(d.get("unknown", 0))),
        findings=findings,
    )


def clean(text: object) -> str:
    """One line with no control characters (terminal, Markdown and CSV cells)."""
    return _CONTROL.sub(" ", str(text)).strip()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

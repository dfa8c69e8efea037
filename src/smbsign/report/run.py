"""One recorded run (a ``scan`` or an ``audit``) and the pure numbers every report shows.

Scores follow EDCA (ANCHORS.md, "EDCA"): per framework,
``100 × Σweight(pass) / Σweight(pass + fail + error)`` over host×control pairs. ``error`` is
in the denominator (a control we could not read is not compliance); ``unknown`` and
``not_applicable`` are left out of it and shown as counts, so an unreadable default never
inflates nor deflates the score (DOMAIN.md 3.4). A framework with nothing scorable has no
score (None), never 0 % or 100 %.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from smbsign.catalog.schema import Control, Framework
from smbsign.model import Finding, ScanRecord, ScanStatus, Status
from smbsign.report.verdict import RELAYABLE, Verdict, verdict

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


def summarize(records: Sequence[ScanRecord], findings: Sequence[Finding]) -> Summary:
    per_host = host_verdicts(records)
    hosts = set(per_host) | {f.host for f in findings}
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

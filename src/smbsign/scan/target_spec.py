"""Target spec grammar, exclusions and lazy expansion (issue #2 item 4; docs/scan.md "Targets").

A spec is parsed into a compact item — one address, an inclusive integer range, or a host
name — and addresses are produced one at a time, so a /8 never sits in memory. Host names
are not resolved here: the runner resolves them at probe time and keeps the name.

Deduplication without materializing: ranges already produced are kept as merged integer
intervals (one pair per range spec, not per address) and later specs skip what they cover;
single addresses go into a seen-set (memory grows with the number of *listed* single
addresses, i.e. with the size of the input, never with the size of a range). Exclusions are
merged intervals too, checked per address and subtracted from ranges before iteration.

Written by hand because no library expands nmap-style ranges lazily with exclusions; the
address arithmetic itself is :mod:`ipaddress`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from smbsign.errors import UsageError
from smbsign.scan.intervals import covers as _covers
from smbsign.scan.intervals import merge_into as _merge_into
from smbsign.scan.intervals import span as _span
from smbsign.scan.intervals import subtract as _subtract
from smbsign.textutil import is_decimal

__all__ = [
    "MAX_RANGE",
    "Exclusions",
    "Item",
    "Name",
    "Range",
    "Single",
    "Target",
    "address_sort_key",
    "parse_spec",
    "special_holes",
]

MAX_RANGE = 1 << 32  # largest range one spec may name (an IPv4 /0; an IPv6 /96)

# Special-purpose blocks never probed when a range runs over them (docs/scan.md "Special
# addresses"); an address named on its own is probed. (first, last, kept_when_range_inside):
# a range lying wholly inside loopback is a deliberate local test and is kept.
_SPECIAL: dict[int, tuple[tuple[int, int, bool], ...]] = {
    4: (
        (0x00000000, 0x00FFFFFF, False),  # 0.0.0.0/8 "this network" [RFC 791 3.2, RFC 6890]
        (0x7F000000, 0x7FFFFFFF, True),  # 127.0.0.0/8 loopback [RFC 1122 3.2.1.3]
        (0xE0000000, 0xEFFFFFFF, False),  # 224.0.0.0/4 multicast [RFC 5771]
        (0xF0000000, 0xFFFFFFFF, False),  # 240.0.0.0/4 reserved + limited broadcast [RFC 6890]
    ),
    6: (
        (0, 0, False),  # ::/128 unspecified [RFC 4291 2.5.2]
        (1, 1, True),  # ::1/128 loopback [RFC 4291 2.5.3]
        (0xFF << 120, (1 << 128) - 1, False),  # ff00::/8 multicast [RFC 4291 2.7]
    ),
}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_ADDR_CLASS: dict[int, type[IPAddress]] = {4: ipaddress.IPv4Address, 6: ipaddress.IPv6Address}


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to probe.

    ``address`` is a literal (IPv6 without brackets, ``%scope`` kept) or None when
    ``hostname`` must be resolved at probe time. ``open_ports`` are the SMB ports an nmap XML
    input reported open (empty when unknown).
    """

    address: str | None
    hostname: str | None = None
    open_ports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Single:
    version: int
    value: int
    scope: str = ""
    hostname: str | None = None
    open_ports: tuple[int, ...] = ()

    def text(self) -> str:
        base = str(_ADDR_CLASS[self.version](self.value))
        return f"{base}%{self.scope}" if self.scope else base


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive range of integer addresses of one IP version."""

    version: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class Name:
    name: str


Item = Single | Range | Name

# RFC 1123 labels (underscore tolerated, as in real AD names); a last label made only of
# digits is an IP-like typo (RFC 3696 2: top-level domains are never all-numeric).
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_NUMERICISH = re.compile(r"^[0-9*,-]+$")
_RANGES = "ranges are a.b.c.d-e, a.b.c.d-w.x.y.z or CIDR"


def _bad(spec: str, why: str) -> UsageError:
    shown = spec if len(spec) <= 80 else spec[:77] + "..."
    return UsageError(f"bad target {shown!r}: {why}")


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _check_scope(spec: str, scope: str) -> None:
    """A ``%scope`` must name an interface of this machine or be a number (RFC 4007 11.2)."""
    if is_decimal(scope):
        return
    try:
        socket.if_nametoindex(scope)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        raise _bad(spec, f"no network interface named {scope!r}") from None


def _single(spec: str, addr: IPAddress) -> Single:
    scope = ""
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
        scope = addr.scope_id
        _check_scope(spec, scope)
        addr = ipaddress.IPv6Address(str(addr).split("%", 1)[0])
    elif isinstance(addr, ipaddress.IPv6Address) and addr.is_link_local:
        # fe80::/10 is ambiguous without a zone: the kernel refuses it (RFC 4007 6, 11).
        raise _bad(spec, f"a link-local address needs its interface, e.g. {addr}%eth0")
    return Single(addr.version, int(addr), scope)


def _range(spec: str, first: IPAddress, last: IPAddress) -> Range:
    if first.version != last.version:
        raise _bad(spec, "range mixes IPv4 and IPv6")
    if "%" in str(first) or "%" in str(last):
        raise _bad(spec, "a range cannot carry a %scope")
    lo, hi = int(first), int(last)
    if hi < lo:
        raise _bad(spec, "range ends before it starts")
    if isinstance(first, ipaddress.IPv6Address) and (first.is_link_local or last.is_link_local):
        raise _bad(spec, "a link-local range cannot carry the %interface it needs; list addresses")
    if hi - lo + 1 > MAX_RANGE:
        raise _bad(spec, f"range of {hi - lo + 1} addresses exceeds the limit of {MAX_RANGE}")
    return Range(first.version, lo, hi)


def _parse_dash(spec: str, left: str, right: str) -> Range | None:
    """``10.0.0.1-50`` (last octet), ``10.0.0.1-10.0.1.20`` or ``2001:db8::1-2001:db8::ff``."""
    first = _parse_address(left)
    if first is None:
        return None
    if isinstance(first, ipaddress.IPv4Address) and is_decimal(right):
        octet = int(right)
        if octet > 255:
            raise _bad(spec, "last octet above 255")
        last: IPAddress = ipaddress.IPv4Address((int(first) & ~0xFF) | octet)
        return _range(spec, first, last)
    end = _parse_address(right)
    if end is None:
        raise _bad(spec, f"range end is not an address or a last octet; {_RANGES}")
    return _range(spec, first, end)


def _parse_name(spec: str) -> Name:
    name = spec.rstrip(".") if spec.endswith(".") and len(spec) > 1 else spec
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise _bad(spec, "not a valid internationalized host name") from None
    labels = name.split(".")
    if all(_NUMERICISH.match(label) for label in labels):
        raise _bad(spec, f"not an address; {_RANGES}")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _bad(spec, "not an address, range, CIDR or host name")
    if is_decimal(labels[-1]):
        raise _bad(spec, "not an address (a host name cannot end in a numeric label)")
    return Name(name.lower())


def parse_spec(spec: str) -> Item:
    """Parse one target spec; raise :class:`UsageError` naming it when it is not valid."""
    text = spec.strip()
    if not text:
        raise _bad(spec, "empty")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "/" in text:
        if "%" in text:
            raise _bad(spec, "a CIDR cannot carry a %scope")
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise _bad(spec, str(exc)) from None
        return _range(spec, net.network_address, net.broadcast_address)
    addr = _parse_address(text)
    if addr is not None:
        return _single(spec, addr)
    if "-" in text:
        left, right = text.split("-", 1)
        found = _parse_dash(spec, left, right)
        if found is not None:
            return found
    if "%" in text or ":" in text:
        raise _bad(spec, "not a valid IPv6 address")
    return _parse_name(text)


class Exclusions:
    """Addresses never to probe: merged intervals per IP version (scope ignored)."""

    def __init__(self) -> None:
        self._iv: dict[int, list[tuple[int, int]]] = {4: [], 6: []}

    def add(self, spec: str) -> None:
        item = parse_spec(spec)
        if isinstance(item, Name):
            raise UsageError(f"bad exclusion {spec!r}: give addresses, ranges or CIDRs")
        self.add_item(item)

    def add_item(self, item: Single | Range) -> None:
        lo, hi = (item.value, item.value) if isinstance(item, Single) else (item.first, item.last)
        _merge_into(self._iv[item.version], lo, hi)

    def add_all(self, specs: Iterable[str]) -> None:
        for spec in specs:
            self.add(spec)

    def holes(self, version: int) -> list[tuple[int, int]]:
        return self._iv[version]

    def excludes(self, version: int, value: int) -> bool:
        return _covers(self._iv[version], value)

    def excludes_text(self, address: str) -> bool:
        """For resolved host names: is this literal address excluded?"""
        addr = _parse_address(address.split("%", 1)[0])
        return addr is not None and self.excludes(addr.version, int(addr))

    def __bool__(self) -> bool:
        return bool(self._iv[4] or self._iv[6])


def special_holes(item: Range) -> list[tuple[int, int]]:
    """The special-purpose blocks a range skips (:data:`_SPECIAL`), sorted and disjoint."""
    return [
        (lo, hi)
        for lo, hi, kept_inside in _SPECIAL[item.version]
        if not (kept_inside and lo <= item.first and item.last <= hi)
    ]


def _v4_text(value: int) -> str:
    """``str(IPv4Address(value))`` without building the object (a 4x cheaper dotted quad)."""
    return socket.inet_ntoa(value.to_bytes(4, "big"))


def _v6_text(value: int) -> str:
    return str(ipaddress.IPv6Address(value))


class Expander:
    """Turns items into targets once each, honouring exclusions (state lives per scan).

    Ranges skip the special-purpose blocks (:func:`special_holes`); ``skipped`` counts the
    addresses left out that way.
    """

    def __init__(self, exclusions: Exclusions) -> None:
        self._excl = exclusions
        self._done: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        self._seen: dict[int, set[int]] = {4: set(), 6: set()}
        self._seen_scoped: set[tuple[int, str]] = set()
        self._names: set[str] = set()
        self.skipped = 0

    def _parts(self, item: Range, *, commit: bool = True) -> list[tuple[int, int]]:
        parts = _subtract(item.first, item.last, self._done[item.version])
        holes = self._excl.holes(item.version)
        if holes:
            parts = [p for lo, hi in parts for p in _subtract(lo, hi, holes)]
        before = _span(parts)
        parts = [p for lo, hi in parts for p in _subtract(lo, hi, special_holes(item))]
        if commit:
            self.skipped += before - _span(parts)
            _merge_into(self._done[item.version], item.first, item.last)
        return parts

    def size(self, item: Range) -> int:
        """How many new targets ``expand(item)`` would give, without changing any state."""
        return _span(self._parts(item, commit=False))

    def _fresh_single(self, item: Single) -> bool:
        if self._excl.excludes(item.version, item.value):
            return False
        if item.scope:
            key = (item.value, item.scope)
            if key in self._seen_scoped:
                return False
            self._seen_scoped.add(key)
            return True
        if item.value in self._seen[item.version] or _covers(self._done[item.version], item.value):
            return False
        self._seen[item.version].add(item.value)
        return True

    def _fresh_name(self, item: Name) -> bool:
        if item.name in self._names:
            return False
        self._names.add(item.name)
        return True

    def expand(self, item: Item) -> Iterator[Target]:
        if isinstance(item, Name):
            if self._fresh_name(item):
                yield Target(None, hostname=item.name)
        elif isinstance(item, Single):
            if self._fresh_single(item):
                yield Target(item.text(), item.hostname, item.open_ports)
        else:
            text = _v4_text if item.version == 4 else _v6_text
            seen = self._seen[item.version]
            for lo, hi in self._parts(item):
                if not seen:  # the common case, a range alone: no per-address lookup
                    for value in range(lo, hi + 1):
                        yield Target(text(value))
                    continue
                for value in range(lo, hi + 1):
                    if value not in seen:
                        yield Target(text(value))

    def count(self, item: Item) -> int:
        """How many targets ``expand`` would give, without producing them (a progress hint)."""
        if isinstance(item, Name):
            return int(self._fresh_name(item))
        if isinstance(item, Single):
            return int(self._fresh_single(item))
        return _span(self._parts(item))


def address_sort_key(address: str) -> tuple[int, int, str]:
    """Numeric order, IPv4 before IPv6, scoped after unscoped; non-addresses last."""
    base, _, scope = address.partition("%")
    addr = _parse_address(base)
    if addr is None:
        return (9, 0, address)
    return (addr.version, int(addr), scope)

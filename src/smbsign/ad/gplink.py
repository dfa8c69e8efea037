"""``gPLink`` and ``gPOptions`` values of a scope of management (pure, fuzzable).

Syntax [MS-GPOL] 2.2.2 (Domain SOM Search): ``gPLink`` is
``[<GPO DN_1>;<GPLinkOptions_1>]...[<GPO DN_n>;<GPLinkOptions_n>]`` where each GPO DN carries
the ``LDAP://`` prefix (case-insensitive in practice) and ``GPLinkOptions`` is a decimal bit
field: 0x1 the link MUST be ignored (disabled; it wins over 0x2), 0x2 the link is enforced.
"The order in which GPO paths appear in this attribute specifies the link order"; how that
order becomes precedence is :mod:`smbsign.ad.resolve`'s business ([MS-GPOL] 3.2.5.1.5).
``gPOptions`` is an integer; 1 blocks inheritance of non-enforced links from higher SOMs.

Tolerant of what real directories hold (case, whitespace around parts, an empty value, an
unset attribute); anything else raises :class:`~smbsign.errors.ParseError` with one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smbsign.errors import ParseError

LINK_DISABLED = 0x1
LINK_ENFORCED = 0x2
BLOCK_INHERITANCE = 0x1
#: A gPLink longer than this is refused (AD's rangeUpper for gPLink is unset; 1 MiB is far
#: above any real value and bounds the work).
MAX_GPLINK = 1 << 20

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_GUID_RDN = re.compile(r"^\s*cn\s*=\s*\{(" + _GUID + r")\}\s*(?:,|$)", re.IGNORECASE)
_LDAP = re.compile(r"^\s*ldap://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class GpLink:
    """One link of a SOM to a GPO; ``index`` is its 0-based position in the gPLink string."""

    gpo_dn: str
    guid: str  # upper-case, without braces; "" when the DN's first RDN is not a GUID
    options: int
    index: int

    @property
    def disabled(self) -> bool:
        return bool(self.options & LINK_DISABLED)

    @property
    def enforced(self) -> bool:
        """Enforced and not disabled ([MS-GPOL] 2.2.2: 0x3 behaves as 0x1)."""
        return bool(self.options & LINK_ENFORCED) and not self.disabled


def guid_of_dn(dn: str) -> str:
    """The GPO GUID of ``cn={GUID},cn=policies,...`` in upper case, or ""."""
    m = _GUID_RDN.match(dn)
    return m.group(1).upper() if m else ""


def parse_gplink(text: str | bytes | None, *, where: str = "gPLink") -> tuple[GpLink, ...]:
    """The links of a ``gPLink`` value, in string order; empty for None/blank/``" "``."""
    if text is None:
        return ()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("not UTF-8", where=where) from None
    if len(text) > MAX_GPLINK:
        raise ParseError(f"longer than {MAX_GPLINK} characters", where=where)
    rest = text.strip()
    links: list[GpLink] = []
    while rest:
        if not rest.startswith("["):
            raise ParseError(f"expected '[' at {rest[:40]!r}", where=where)
        end = rest.find("]")
        if end < 0:
            raise ParseError("unterminated '[' entry", where=where)
        body, rest = rest[1:end], rest[end + 1 :].lstrip()
        dn_part, sep, opt_part = body.rpartition(";")
        if not sep:
            raise ParseError(f"entry without ';options': {body[:60]!r}", where=where)
        opt = opt_part.strip()
        if not opt.isascii() or not opt.isdigit() or len(opt) > 10:
            raise ParseError(f"link options are not a decimal number: {opt[:20]!r}", where=where)
        m = _LDAP.match(dn_part)
        if m is None:
            raise ParseError(f"GPO path does not start with LDAP://: {dn_part[:60]!r}", where=where)
        dn = dn_part[m.end() :].strip()
        if not dn:
            raise ParseError("empty GPO DN", where=where)
        links.append(GpLink(gpo_dn=dn, guid=guid_of_dn(dn), options=int(opt), index=len(links)))
    return tuple(links)


def parse_gpoptions(value: str | bytes | int | None, *, where: str = "gPOptions") -> int:
    """``gPOptions`` as an int (0 when unset); a non-integer raises ParseError."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    text = value.strip()
    if not text:
        return 0
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit() or len(body) > 11:
        raise ParseError(f"not an integer: {text[:20]!r}", where=where)
    return int(text)


def blocks_inheritance(gpoptions: int) -> bool:
    """[MS-GPOL] 2.2.2: a value of 1 blocks non-enforced links from higher SOMs."""
    return gpoptions == BLOCK_INHERITANCE

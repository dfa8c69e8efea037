"""A small, strict BER reader for the LDAP messages a search returns (pure, fuzzable).

pyasn1 (impacket's decoder) needs about 1.4 ms per computer entry; a domain of 100,000
computers would spend minutes decoding. LDAP encodes with definite lengths only (RFC 4511
section 5.1), and a SearchResultEntry is a fixed shape (RFC 4511 section 4.5.2):

    LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE {...}, controls [0] OPTIONAL }
    SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName LDAPDN,
        attributes SEQUENCE OF SEQUENCE { type AttributeDescription, vals SET OF OCTET STRING } }

so this module frames messages (:func:`message_size`), tells the operation (:func:`op_tag`) and
reads entries (:func:`search_entry`) directly; every other operation (SearchResultDone,
references) is rare and left to pyasn1. Any length that does not fit raises
:class:`~smbsign.errors.ParseError`.
"""

from __future__ import annotations

from smbsign.errors import ParseError

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
SEARCH_RESULT_ENTRY = 0x64  # [APPLICATION 4], constructed
SEARCH_RESULT_DONE = 0x65  # [APPLICATION 5]
SEARCH_RESULT_REFERENCE = 0x73  # [APPLICATION 19], constructed


def _length(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(length, position after it), None when ``buf`` ends first."""
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4:
        raise ParseError(f"BER: unsupported length form 0x{first:02x}")
    if pos + 1 + count > len(buf):
        return None
    return int.from_bytes(buf[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def message_size(buf: bytes) -> int | None:
    """Size of the first complete LDAPMessage in ``buf``, None when more bytes are needed."""
    if not buf:
        return None
    if buf[0] != SEQUENCE:
        raise ParseError(f"BER: an LDAP message starts with 0x30, not 0x{buf[0]:02x}")
    got = _length(buf, 1)
    if got is None:
        return None
    length, body = got
    return body + length if body + length <= len(buf) else None


def _tlv(buf: bytes, pos: int, end: int, tag: int | None = None) -> tuple[int, int, int]:
    """(tag, value start, value end) of the element at ``pos``, inside ``end``."""
    if pos >= end:
        raise ParseError("BER: element expected, none left")
    got = _length(buf, pos + 1)
    if got is None:
        raise ParseError("BER: truncated length")
    length, start = got
    if start + length > end:
        raise ParseError("BER: element longer than its container")
    if tag is not None and buf[pos] != tag:
        raise ParseError(f"BER: tag 0x{buf[pos]:02x} where 0x{tag:02x} was expected")
    return buf[pos], start, start + length


def op_tag(msg: bytes) -> int:
    """The protocolOp tag of one framed LDAPMessage."""
    _, start, end = _tlv(msg, 0, len(msg), SEQUENCE)
    _, _, after_id = _tlv(msg, start, end, INTEGER)
    return _tlv(msg, after_id, end)[0]


def search_entry(msg: bytes, max_values: int) -> tuple[str, dict[str, tuple[bytes, ...]]]:
    """(objectName, attributes by lower-case name) of a framed SearchResultEntry message."""
    _, start, end = _tlv(msg, 0, len(msg), SEQUENCE)
    _, _, pos = _tlv(msg, start, end, INTEGER)
    _, op_start, op_end = _tlv(msg, pos, end, SEARCH_RESULT_ENTRY)
    _, dn_start, dn_end = _tlv(msg, op_start, op_end, OCTET_STRING)
    dn = msg[dn_start:dn_end].decode("utf-8", "replace")
    _, attrs_start, attrs_end = _tlv(msg, dn_end, op_end, SEQUENCE)
    attrs: dict[str, tuple[bytes, ...]] = {}
    pos = attrs_start
    while pos < attrs_end:
        _, a_start, a_end = _tlv(msg, pos, attrs_end, SEQUENCE)
        _, t_start, t_end = _tlv(msg, a_start, a_end, OCTET_STRING)
        _, v_start, v_end = _tlv(msg, t_end, a_end, SET)
        values: list[bytes] = []
        vpos = v_start
        while vpos < v_end:
            _, s, e = _tlv(msg, vpos, v_end, OCTET_STRING)
            if len(values) < max_values:
                values.append(msg[s:e])
            vpos = e
        attrs[msg[t_start:t_end].decode("utf-8", "replace").lower()] = tuple(values)
        pos = a_end
    return dn, attrs

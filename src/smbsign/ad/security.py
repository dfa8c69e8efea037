"""Security filtering: does a GPO's ACL let a computer apply it? ([MS-GPOL] 3.2.5.1.6).

The client checks the GPO's ``nTSecurityDescriptor`` DACL for an ACE that grants the extended
right Apply-Group-Policy (rightsGuid ``edacfd8f-ffb3-11d1-b41d-00a0c968f939``, [MS-ADTS]
5.1.3.2.1 Control Access Rights) to the computer or a group it is a member of; a deny ACE for
one of them makes the GPO denied. The GPO must also be readable, or it is not returned by the
GPO Search ([MS-GPOL] 3.2.5.1.5: such a GPO is ignored), so Read Property is checked too.

The access check follows [MS-DTYP] 2.5.3.2 (AccessCheck): ACEs in DACL order, inherit-only
ACEs skipped, a deny for a right not yet granted ends the check; a null DACL grants all, an
empty DACL grants nothing. Rights: ``ADS_RIGHT_DS_READ_PROP`` 0x10, ``ADS_RIGHT_DS_CONTROL_ACCESS``
0x100, ``GENERIC_ALL`` 0x10000000 and ``GENERIC_READ`` 0x80000000 ([MS-ADTS] 5.1.3.2, [MS-DTYP]
2.4.3). An object ACE counts for Apply-Group-Policy only without an object type or with that
right's GUID.

Whether an ACE's trustee is in the computer's token is known only for the computer's own
SID, the groups of its domain (the caller expands ``memberOf`` and the primary group) and a
few well-known SIDs every computer token carries; any other SID (another domain, a builtin
group, SYSTEM) is *unknown*, and a decision that rests on it is ``unknown``, never "applies".
"""

from __future__ import annotations

import functools
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smbsign.ad.directory import sid_text
from smbsign.ad.resolve import Applies, GpoStatus
from smbsign.errors import ParseError

APPLY_GROUP_POLICY = "edacfd8f-ffb3-11d1-b41d-00a0c968f939"
READ_PROP = 0x10
CONTROL_ACCESS = 0x100
GENERIC_ALL = 0x10000000
GENERIC_READ = 0x80000000
INHERIT_ONLY_ACE = 0x08
_ALLOW_TYPES = {0x00: False, 0x05: True}  # ACCESS_ALLOWED_ACE, ACCESS_ALLOWED_OBJECT_ACE
_DENY_TYPES = {0x01: False, 0x06: True}  # ACCESS_DENIED_ACE, ACCESS_DENIED_OBJECT_ACE

#: Well-known SIDs in every domain computer's network token ([MS-DTYP] 2.4.2.4): Everyone,
#: NETWORK, Authenticated Users, This Organization.
COMPUTER_WELL_KNOWN = frozenset({"S-1-1-0", "S-1-5-2", "S-1-5-11", "S-1-5-15"})
ENTERPRISE_DCS = "S-1-5-9"  # ENTERPRISE DOMAIN CONTROLLERS, in domain controllers' tokens


@dataclass(frozen=True, slots=True)
class Ace:
    """One DACL entry reduced to what the check needs."""

    allow: bool
    sid: str
    mask: int
    object_type: str | None = None  # lower-case GUID when the object ACE names one
    inherit_only: bool = False


@dataclass(frozen=True, slots=True)
class Dacl:
    """``aces`` is None for a null DACL (everyone has every right)."""

    aces: tuple[Ace, ...] | None


@dataclass(frozen=True, slots=True)
class Token:
    """What is known of a computer's security token."""

    sids: frozenset[str]  # the computer's SID, its groups' SIDs and well-known SIDs
    domain_sid: str  # SIDs under this prefix not in ``sids`` are known non-members
    name: str = "the computer"


def _impacket_aces(data: bytes) -> tuple[int, list[Any] | None]:
    """(Control, impacket ACE list or None when there is no DACL); ParseError if unparseable."""
    from impacket.ldap import ldaptypes

    try:
        sd = ldaptypes.SR_SECURITY_DESCRIPTOR(data=data)
        dacl = sd["Dacl"]
        return int(sd["Control"]), (list(dacl.aces) if dacl else None)
    except Exception as exc:  # noqa: BLE001 - impacket's structures raise bare exceptions
        raise ParseError(f"unparseable security descriptor ({type(exc).__name__})") from None


_SD_HEADER = struct.Struct("<BBHIIII")  # [MS-DTYP] 2.4.6 (self-relative)
_ACL_HEADER = struct.Struct("<BBHHH")  # [MS-DTYP] 2.4.5
_ACE_HEADER = struct.Struct("<BBH")  # [MS-DTYP] 2.4.4.1


def _check_acl_layout(data: bytes, offset: int, which: str) -> None:
    """The ACL at ``offset`` lies inside the descriptor and its ``AceCount`` ACEs inside the
    ACL, each at least its header long ([MS-DTYP] 2.4.5 AclSize, 2.4.4.1 AceSize); ParseError
    otherwise. impacket's parser trusts ``AceCount``: an ACE of size 0 made it parse the same
    ACE up to 65,535 times (over a minute for one descriptor)."""
    if offset == 0:
        return
    if offset + _ACL_HEADER.size > len(data):
        raise ParseError(f"the {which} lies outside the security descriptor")
    _rev, _sbz1, size, count, _sbz2 = _ACL_HEADER.unpack_from(data, offset)
    end = offset + size
    if size < _ACL_HEADER.size or end > len(data):
        raise ParseError(f"the {which} size {size} does not fit the security descriptor")
    pos = offset + _ACL_HEADER.size
    for i in range(count):
        if pos + _ACE_HEADER.size > end:
            raise ParseError(f"the {which} holds {i} ACEs, not its AceCount {count}")
        ace_size = _ACE_HEADER.unpack_from(data, pos)[2]
        if ace_size < _ACE_HEADER.size or pos + ace_size > end:
            raise ParseError(f"ACE {i} of the {which} has a size ({ace_size}) that does not fit")
        pos += ace_size


def _sid(raw: bytes) -> str:
    """An ACE's SID ([MS-DTYP] 2.4.2.2) as ``S-1-...`` from its own bytes (impacket's
    ``formatCanonical`` prints any revision and only the last byte of the 6-byte identifier
    authority, so a foreign SID could read as ``S-1-5-11``); ParseError when malformed."""
    sid = sid_text(raw[: 8 + 4 * raw[1]] if len(raw) >= 8 else b"")
    if not sid:
        raise ParseError("an ACE's SID is malformed")
    return sid


def _ace(ace: Any) -> Ace | None:
    kind = int(ace["AceType"])
    if kind not in _ALLOW_TYPES and kind not in _DENY_TYPES:
        return None  # audit, callback and label ACEs do not grant or deny here
    body = ace["Ace"]
    obj: str | None = None
    is_object = _ALLOW_TYPES.get(kind, _DENY_TYPES.get(kind, False))
    if is_object and int(body["Flags"]) & 0x01 and len(body["ObjectType"]) == 16:
        obj = str(uuid.UUID(bytes_le=bytes(body["ObjectType"])))
    return Ace(
        allow=kind in _ALLOW_TYPES,
        sid=_sid(bytes(body["Sid"].getData())),
        mask=int(body["Mask"]["Mask"]),
        object_type=obj,
        inherit_only=bool(int(ace["AceFlags"]) & INHERIT_ONLY_ACE),
    )


@functools.lru_cache(maxsize=4096)
def parse_security_descriptor(data: bytes) -> Dacl:
    """The DACL of a self-relative security descriptor ([MS-DTYP] 2.4.6); ParseError if bad.

    Cached: every computer checks the same few GPO descriptors."""
    if len(data) < _SD_HEADER.size:
        raise ParseError("security descriptor shorter than its header")
    *_, sacl, dacl = _SD_HEADER.unpack(data[: _SD_HEADER.size])
    _check_acl_layout(data, sacl, "SACL")
    _check_acl_layout(data, dacl, "DACL")
    control, raw = _impacket_aces(data)
    if raw is None:
        if control & 0x0004:  # SE_DACL_PRESENT with no DACL: a null DACL
            return Dacl(None)
        raise ParseError("no DACL in the security descriptor (was it asked for?)")
    try:
        aces = [a for a in (_ace(x) for x in raw) if a is not None]
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - impacket's structures raise bare exceptions
        raise ParseError(f"unparseable ACE ({type(exc).__name__})") from None
    return Dacl(tuple(aces))


def member(token: Token, sid: str) -> bool | None:
    """True/False when membership is known, None when it is not."""
    if sid in token.sids:
        return True
    if token.domain_sid and sid.startswith(token.domain_sid + "-"):
        return False
    if sid.startswith("S-1-5-21-") or sid.startswith("S-1-5-32-"):
        return None  # another domain, or a builtin group whose members we did not expand
    if sid in COMPUTER_WELL_KNOWN or sid == ENTERPRISE_DCS:
        return False  # well-known and not in this token
    return None


def _covers_read(ace: Ace) -> bool:
    if ace.object_type is not None:
        return False  # a property-specific ACE: not a read of the whole object
    return bool(ace.mask & (READ_PROP | GENERIC_READ | GENERIC_ALL))


def _covers_apply(ace: Ace) -> bool:
    if ace.object_type is not None and ace.object_type != APPLY_GROUP_POLICY:
        return False
    return bool(ace.mask & (CONTROL_ACCESS | GENERIC_ALL))


def _check(
    aces: Sequence[Ace], token: Token, covers: Callable[[Ace], bool], right: str
) -> GpoStatus:
    deny_doubt = allow_doubt = ""
    for ace in aces:
        if ace.inherit_only or not covers(ace):
            continue
        m = member(token, ace.sid)
        if m is False:
            continue
        if not ace.allow:
            if m is True:
                return GpoStatus(Applies.NO, f"the GPO's ACL denies {right} to {ace.sid}")
            deny_doubt = (
                deny_doubt or f"a deny of {right} to {ace.sid}, whose membership is not known"
            )
            continue
        if m is True:
            if deny_doubt:  # the unknown deny comes first and may apply
                return GpoStatus(Applies.UNKNOWN, f"security filtering: {deny_doubt}")
            return GpoStatus(Applies.YES)
        allow_doubt = (
            allow_doubt or f"{right} is granted to {ace.sid}, whose membership is not known"
        )
    if allow_doubt:
        return GpoStatus(Applies.UNKNOWN, f"security filtering: {allow_doubt}")
    return GpoStatus(Applies.NO, f"the GPO's ACL does not grant {right} to {token.name}")


def apply_group_policy(dacl: Dacl, token: Token) -> GpoStatus:
    """Whether ``token`` may read and apply the GPO ([MS-GPOL] 3.2.5.1.6 security filtering)."""
    if dacl.aces is None:
        return GpoStatus(Applies.YES)
    read = _check(dacl.aces, token, _covers_read, "Read")
    apply = _check(dacl.aces, token, _covers_apply, "Apply Group Policy")
    for st in (read, apply):
        if st.applies is Applies.NO:
            return GpoStatus(Applies.NO, f"security filtering: {st.reason}")
    for st in (read, apply):
        if st.applies is Applies.UNKNOWN:
            return st
    return GpoStatus(Applies.YES)


def security_status(sd: bytes | None, token: Token) -> GpoStatus:
    """:func:`apply_group_policy` from raw ``nTSecurityDescriptor`` bytes; unknown when absent
    or unparseable (never "applies")."""
    if not sd:
        return GpoStatus(
            Applies.UNKNOWN, "security filtering: the GPO's security descriptor was not readable"
        )
    try:
        dacl = parse_security_descriptor(sd)
    except ParseError as exc:
        return GpoStatus(Applies.UNKNOWN, f"security filtering: {exc}")
    return apply_group_policy(dacl, token)

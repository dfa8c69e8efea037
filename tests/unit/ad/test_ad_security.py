"""Security filtering from a GPO's DACL ([MS-GPOL] 3.2.5.1.6, [MS-DTYP] 2.5.3.2)."""

from __future__ import annotations

import struct
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.ad.resolve import Applies
from smbsign.ad.security import (
    APPLY_GROUP_POLICY,
    Ace,
    Dacl,
    Token,
    apply_group_policy,
    parse_security_descriptor,
    security_status,
)

DOM = "S-1-5-21-1-2-3"
PC = f"{DOM}-1105"
DOMAIN_COMPUTERS = f"{DOM}-515"
SERVERS = f"{DOM}-2001"
OTHER = f"{DOM}-2002"
AU = "S-1-5-11"
TOKEN = Token(frozenset({PC, DOMAIN_COMPUTERS, SERVERS, "S-1-1-0", AU}), DOM, "PC1$")
READ = Ace(True, AU, 0x20094)  # LCRPLORC
APPLY = Ace(True, AU, 0x100, APPLY_GROUP_POLICY)


def sid_bytes(sid: str) -> bytes:
    parts = sid.split("-")
    auth, subs = int(parts[2]), [int(x) for x in parts[3:]]
    return (
        bytes([1, len(subs)])
        + auth.to_bytes(6, "big")
        + b"".join(struct.pack("<I", s) for s in subs)
    )


def ace_bytes(kind: int, flags: int, mask: int, sid: str, obj: str | None = None) -> bytes:
    body = struct.pack("<I", mask)
    if kind in (5, 6):
        body += struct.pack("<I", 1 if obj else 0) + (uuid.UUID(obj).bytes_le if obj else b"")
    body += sid_bytes(sid)
    return struct.pack("<BBH", kind, flags, 4 + len(body)) + body


def sd_bytes(*aces: bytes) -> bytes:
    data = b"".join(aces)
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(data), len(aces), 0) + data
    header = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20)
    return header + acl


def test_default_gpo_acl_applies_to_authenticated_users() -> None:
    raw = sd_bytes(ace_bytes(5, 2, 0x100, AU, APPLY_GROUP_POLICY), ace_bytes(0, 2, 0x20094, AU))
    dacl = parse_security_descriptor(raw)
    assert dacl.aces is not None and dacl.aces[0].object_type == APPLY_GROUP_POLICY
    assert security_status(raw, TOKEN).applies is Applies.YES


def test_filtered_to_another_group_does_not_apply() -> None:
    st_ = apply_group_policy(Dacl((READ, Ace(True, OTHER, 0x100, APPLY_GROUP_POLICY))), TOKEN)
    assert st_.applies is Applies.NO and "Apply Group Policy" in st_.reason


def test_filtered_to_a_group_of_the_computer_applies() -> None:
    st_ = apply_group_policy(Dacl((READ, Ace(True, SERVERS, 0x100, APPLY_GROUP_POLICY))), TOKEN)
    assert st_.applies is Applies.YES


def test_deny_ace_for_a_member_group_wins() -> None:
    deny = Ace(False, SERVERS, 0x100, APPLY_GROUP_POLICY)
    st_ = apply_group_policy(Dacl((deny, READ, APPLY)), TOKEN)
    assert st_.applies is Applies.NO and SERVERS in st_.reason
    raw = sd_bytes(
        ace_bytes(6, 0, 0x100, SERVERS, APPLY_GROUP_POLICY),
        ace_bytes(0, 0, 0x20094, AU),
        ace_bytes(5, 0, 0x100, AU, APPLY_GROUP_POLICY),
    )
    assert security_status(raw, TOKEN).applies is Applies.NO


def test_other_extended_right_or_inherit_only_does_not_grant() -> None:
    other = Ace(True, AU, 0x100, "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2")
    io = Ace(True, AU, 0x100, APPLY_GROUP_POLICY, inherit_only=True)
    assert apply_group_policy(Dacl((READ, other, io)), TOKEN).applies is Applies.NO


def test_generic_all_grants_both() -> None:
    assert apply_group_policy(Dacl((Ace(True, PC, 0x10000000),)), TOKEN).applies is Applies.YES


def test_unknown_trustee_makes_it_unknown_never_applies() -> None:
    foreign = "S-1-5-21-9-9-9-513"
    st_ = apply_group_policy(Dacl((READ, Ace(True, foreign, 0x100, APPLY_GROUP_POLICY))), TOKEN)
    assert st_.applies is Applies.UNKNOWN and foreign in st_.reason
    deny_unknown = Ace(False, "S-1-5-32-544", 0x100, APPLY_GROUP_POLICY)
    assert apply_group_policy(Dacl((deny_unknown, READ, APPLY)), TOKEN).applies is Applies.UNKNOWN


def test_null_empty_missing_and_garbage() -> None:
    assert apply_group_policy(Dacl(None), TOKEN).applies is Applies.YES
    assert apply_group_policy(Dacl(()), TOKEN).applies is Applies.NO
    assert security_status(None, TOKEN).applies is Applies.UNKNOWN
    assert security_status(b"\x01\x00" * 3, TOKEN).applies is Applies.UNKNOWN
    no_dacl = struct.pack("<BBHIIII", 1, 0, 0x8000, 0, 0, 0, 0)
    assert security_status(no_dacl, TOKEN).applies is Applies.UNKNOWN


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_security_descriptor_never_raises_or_applies_by_accident(data: bytes) -> None:
    st_ = security_status(b"\x01\x00\x04\x80" + data, TOKEN)
    assert st_.applies in (Applies.YES, Applies.NO, Applies.UNKNOWN)


def test_an_unknown_allow_before_a_granting_ace_does_not_make_it_unknown() -> None:
    # Samba's GPO DACL lists SYSTEM (membership unknown) before Authenticated Users
    system_read = Ace(True, "S-1-5-18", 0x20094)
    assert apply_group_policy(Dacl((system_read, READ, APPLY)), TOKEN).applies is Applies.YES

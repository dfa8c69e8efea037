"""probe_port against scripted fake servers on loopback (docs/reference.md §5.7-5.9).

The servers replay the hand-built golden replies of ``smbwire_builders`` (reference.md §4.6 rows)
or misbehave on purpose (reset, garbage, huge length, half a reply, silence). Real Samba is
exercised by the lab integration tests; these pin the sequence and every status mapping.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smbwire_builders import (
    framed,
    smb1_negotiate_response,
    smb1_no_dialect_response,
    smb2_error_response,
    smb2_negotiate_response,
)
from smbwire_fakeserver import CLOSE, RST, SILENT, FakeServer, Reply, reply

from smbsign.model import ScanRecord, ScanStatus, Smb1Signing
from smbsign.scan.prober import ProbeOptions, probe_port

FAST = ProbeOptions(connect_timeout=1.0, read_timeout=0.4)
SMB1_OFF = reply(smb1_no_dialect_response())


def smb2_with_smb1_off(security_mode: int, dialect: int = 0x0311) -> dict[str, Any]:
    """An SMB2 server without SMB1 (Samba >= 4.11 default shape, docs/reference.md §4.6)."""
    return {
        "smb2": reply(smb2_negotiate_response(security_mode=security_mode, dialect=dialect)),
        "smb1_ntlm": SMB1_OFF,
    }


def run(coro: Coroutine[Any, Any, ScanRecord]) -> ScanRecord:
    return asyncio.run(asyncio.wait_for(coro, 20))


async def _probe(
    actions: dict[str, Any], opts: ProbeOptions = FAST, host: str = "127.0.0.1", **kw: Any
) -> tuple[ScanRecord, FakeServer]:
    async with FakeServer(actions, host=host, **kw) as server:
        record = await probe_port(host, server.port, opts)
    return record, server


def probe(actions: dict[str, Any], **kw: Any) -> tuple[ScanRecord, FakeServer]:
    return asyncio.run(asyncio.wait_for(_probe(actions, **kw), 20))


# ----------------------------------------------------------------- golden replies
def test_smb2_required_smb1_off() -> None:
    """Samba `server signing = mandatory` / AD DC default (reference.md §4.6): 0x03 + 0xFFFF."""
    record, server = probe(smb2_with_smb1_off(0x03))
    assert record.status is ScanStatus.OK
    assert record.signing_required is True
    assert not record.relayable
    assert record.reason == "SMB2 3.1.1 signing required; SMB1 not offered"
    assert record.smb2 is not None
    assert (record.smb2.security_mode, record.smb2.dialect, record.smb2.dialect_revision) == (
        0x03,
        "3.1.1",
        0x0311,
    )
    assert (record.smb2.cipher, record.smb2.signing_algorithm) == ("AES-128-GCM", "AES-GMAC")
    assert record.smb2.preauth_hash == "SHA-512"
    assert record.smb1.offered is False
    assert record.transport == "direct_tcp"
    assert record.target == "127.0.0.1"
    assert record.elapsed_ms > 0
    assert sorted(server.seen) == ["smb1_ntlm", "smb2"]  # no fallback needed


def test_smb2_not_required() -> None:
    record, _ = probe(smb2_with_smb1_off(0x01))
    assert record.status is ScanStatus.OK
    assert record.signing_required is False
    assert record.relayable
    assert record.reason == "SMB2 3.1.1 signing not required; SMB1 not offered"


def test_dual_stack_smb2_required_smb1_enabled_is_not_required() -> None:
    """SMB2 0x03 + SMB1 0x07: SMB1 sessions can be unsigned -> relayable (reference.md §2.1)."""
    record, server = probe(
        {
            "smb2": reply(smb2_negotiate_response(security_mode=0x03)),
            "smb1_ntlm": reply(smb1_negotiate_response(security_mode=0x07)),
        }
    )
    assert record.status is ScanStatus.OK
    assert record.signing_required is False
    assert record.smb1.offered is True
    assert record.smb1.signing is Smb1Signing.ENABLED
    assert record.smb1.security_mode == 0x07
    assert record.reason == (
        "SMB2 3.1.1 signing required; SMB1 offered with signing enabled but not required"
    )
    assert "smb1_multi" not in server.seen


def test_dual_stack_both_required() -> None:
    record, _ = probe(
        {
            "smb2": reply(smb2_negotiate_response(security_mode=0x03)),
            "smb1_ntlm": reply(smb1_negotiate_response(security_mode=0x0F)),
        }
    )
    assert record.signing_required is True
    assert record.smb1.signing is Smb1Signing.REQUIRED


def test_smb1_only_required_via_fallback() -> None:
    """Samba NT1-only closes the native SMB2 connection (docs/reference.md §4.6); the multi-protocol
    fallback gets an SMB1 reply, which proves SMB2 is not offered."""
    smb1_0f = reply(smb1_negotiate_response(security_mode=0x0F))
    record, server = probe({"smb2": CLOSE, "smb1_ntlm": smb1_0f, "smb1_multi": smb1_0f})
    assert record.status is ScanStatus.OK
    assert record.signing_required is True
    assert record.smb2 is None
    assert record.smb1.offered is True
    assert record.reason == "no SMB2 (SMB1 only); SMB1 offered with signing required"
    assert server.seen.count("smb1_multi") == 1


def test_smb1_only_silent_to_smb2_like_windows_2003() -> None:
    """XP/2003 stay silent on a native SMB2 negotiate (reference.md §5.7): fallback after the read
    timeout because the SMB1 probe proved the host speaks SMB1."""
    smb1_03 = reply(smb1_negotiate_response(security_mode=0x03))
    record, server = probe({"smb2": SILENT, "smb1_ntlm": smb1_03, "smb1_multi": smb1_03})
    assert record.status is ScanStatus.OK
    assert record.signing_required is False
    assert record.smb1.signing is Smb1Signing.DISABLED
    assert record.reason == "no SMB2 (SMB1 only); SMB1 offered with signing disabled"
    assert "smb1_multi" in server.seen


def test_fallback_answered_with_smb2_wildcard() -> None:
    """Native SMB2 reset, multi-protocol answered with SMB2 0x02FF (reference.md §5.8 step 3)."""
    record, _ = probe(
        {
            "smb2": RST,
            "smb1_ntlm": SMB1_OFF,
            "smb1_multi": reply(smb2_negotiate_response(security_mode=0x03, dialect=0x02FF)),
        }
    )
    assert record.status is ScanStatus.OK
    assert record.signing_required is True
    assert record.smb2 is not None
    assert (record.smb2.dialect, record.smb2.capabilities) == ("2.???", 0x07)


def test_smb1_check_disabled_leaves_required_unknown() -> None:
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=0.4, smb1_check=False)
    record, server = probe({"smb2": reply(smb2_negotiate_response(security_mode=0x03))}, opts=opts)
    assert record.status is ScanStatus.OK
    assert record.signing_required is None
    assert record.smb1.offered is None
    assert record.reason == "SMB2 3.1.1 signing required; SMB1 unknown (not checked)"
    assert server.seen == ["smb2"]


def test_smb1_check_disabled_not_required_is_still_proven() -> None:
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=0.4, smb1_check=False)
    record, _ = probe({"smb2": reply(smb2_negotiate_response(security_mode=0x01))}, opts=opts)
    assert record.signing_required is False


def test_smb1_probe_timeout_makes_required_unknown() -> None:
    record, _ = probe(
        {"smb2": reply(smb2_negotiate_response(security_mode=0x03)), "smb1_ntlm": SILENT}
    )
    assert record.status is ScanStatus.OK
    assert record.signing_required is None
    assert record.reason == "SMB2 3.1.1 signing required; SMB1 unknown (read_timeout)"


def test_smb1_disconnect_means_not_offered() -> None:
    """Windows without SMB1 disconnects without reply [MS-SMB2 3.3.5.3.2]."""
    for action in (CLOSE, RST):
        record, _ = probe(
            {"smb2": reply(smb2_negotiate_response(security_mode=0x03)), "smb1_ntlm": action}
        )
        assert record.signing_required is True
        assert record.smb1.offered is False


def test_smb2_reply_to_smb1_probe_means_not_offered() -> None:
    record, _ = probe(
        {
            "smb2": reply(smb2_negotiate_response(security_mode=0x03)),
            "smb1_ntlm": reply(smb2_negotiate_response(security_mode=0x03, dialect=0x0202)),
        }
    )
    assert record.signing_required is True
    assert record.smb1.reason == "SMB2 reply to NT LM 0.12 negotiate"


def test_smb2_error_status() -> None:
    record, _ = probe({"smb2": reply(smb2_error_response(0xC00000BB)), "smb1_ntlm": SMB1_OFF})
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert record.smb2 is None
    assert record.reason == "smb2_status:0xC00000BB (STATUS_NOT_SUPPORTED); SMB1 not offered"


def test_ipv6_loopback() -> None:
    record, _ = probe(
        smb2_with_smb1_off(0x01),
        host="::1",
    )
    assert record.status is ScanStatus.OK
    assert record.target == "::1"
    assert record.signing_required is False


def test_ipv6_with_scope_id() -> None:
    """``addr%scope`` (as for link-local fe80::/10) goes through getaddrinfo with its scope.
    glibc accepts a scope *name* only on link-local addresses, so on ::1 the numeric form of
    the loopback interface index is used."""
    scoped = f"::1%{socket.if_nametoindex('lo')}"

    async def go() -> ScanRecord:
        async with FakeServer(
            smb2_with_smb1_off(0x03),
            host="::1",
        ) as server:
            return await probe_port(scoped, server.port, FAST)

    record = run(go())
    assert record.status is ScanStatus.OK
    assert record.target == scoped
    assert record.signing_required is True


# ----------------------------------------------------------------- hostile servers
def test_reset_everything() -> None:
    record, server = probe({"smb2": RST, "smb1_ntlm": RST, "smb1_multi": RST})
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert record.smb1.offered is None  # a host that never spoke SMB proves nothing
    assert record.reason.startswith("eof")
    assert server.seen.count("smb1_multi") == 1


def test_garbage_is_not_smb() -> None:
    http = Reply(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", then=CLOSE)
    record, server = probe({"smb2": http, "smb1_ntlm": http, "smb1_multi": http})
    assert record.status is ScanStatus.NOT_SMB
    assert record.signing_required is None
    assert record.reason.startswith("not_smb")
    assert "smb1_multi" not in server.seen


def test_framed_garbage_is_not_smb_without_reading_it_all() -> None:
    junk = Reply(b"\x00\x00\xf0\x00" + b"JUNK" * 8)  # announces 61440 bytes, sends 32, waits
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=30.0)
    record, _ = probe({"smb2": junk, "smb1_ntlm": junk}, opts=opts)
    assert record.status is ScanStatus.NOT_SMB
    assert "not SMB" in record.reason


def test_huge_length_is_refused_before_reading() -> None:
    """A 16 MB announcement is rejected on the 4-byte header, not waited for."""
    huge = Reply(b"\x00\xff\xff\xff\xfeSMB" + b"\x00" * 60)
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=30.0)
    record, _ = probe({"smb2": huge, "smb1_ntlm": huge}, opts=opts)
    assert record.status is ScanStatus.NOT_SMB
    assert "exceeds cap 65536" in record.reason


def test_half_a_reply_then_stall_is_read_timeout() -> None:
    half = Reply(framed(smb2_negotiate_response(security_mode=0x03))[:40])
    record, _ = probe({"smb2": half, "smb1_ntlm": SMB1_OFF})
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert record.reason == "read_timeout: reply incomplete after 40 bytes; SMB1 not offered"


def _received(reason: str) -> int:
    """N of ``read_timeout: reply incomplete after N bytes``."""
    prefix = "read_timeout: reply incomplete after "
    assert reason.startswith(prefix), reason
    return int(reason[len(prefix) :].split(" ", 1)[0])


def test_trickled_reply_hits_the_total_read_deadline() -> None:
    """A valid reply sent one byte every 20 ms takes seconds; read_timeout (0.5 s) bounds the
    whole reply, not each recv, so the probe gives up part-way (a per-recv deadline would
    wait for the last byte and report the verdict)."""
    data = framed(smb2_negotiate_response(security_mode=0x01))
    slow = Reply(data, drip=0.02)
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=0.5)
    record, _ = probe({"smb2": slow, "smb1_ntlm": slow}, opts=opts)
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert record.smb2 is None
    assert 0 < _received(record.reason) < len(data)


def test_endless_trickle_never_holds_the_probe() -> None:
    """A frame announcing 64 KiB, then a byte every 10 ms for up to 20 s: the probe ends after
    about read_timeout with what it had, long before the server would stop."""
    endless = Reply(b"\x00\x01\x00\x00\xfeSMB" + b"\x00" * 2000, drip=0.01)
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=0.5)
    record, server = probe({"smb2": endless, "smb1_ntlm": endless}, opts=opts)
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert 0 < _received(record.reason) < 1000
    assert "smb1_multi" not in server.seen


def test_half_a_reply_then_close_is_protocol_error() -> None:
    half = Reply(framed(smb2_negotiate_response(security_mode=0x03))[:100], then=CLOSE)
    record, _ = probe({"smb2": half, "smb1_ntlm": SMB1_OFF})
    assert record.status is ScanStatus.ERROR
    assert record.reason.startswith("protocol_error: truncated: closed after 100 bytes")


def test_malformed_smb2_is_protocol_error() -> None:
    bad = bytearray(smb2_negotiate_response(security_mode=0x01))
    bad[64] = 36  # body StructureSize 36 instead of 65
    record, _ = probe({"smb2": reply(bytes(bad)), "smb1_ntlm": SMB1_OFF})
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert "protocol_error" in record.reason
    assert "body StructureSize 36" in record.reason


def test_silent_server_is_read_timeout_not_not_required() -> None:
    record, server = probe({"smb2": SILENT, "smb1_ntlm": SILENT, "smb1_multi": SILENT})
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert record.reason == "read_timeout"
    assert record.smb1.offered is None
    assert "smb1_multi" not in server.seen  # silence from a non-SMB1 host: no extra round trip


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["wait", CLOSE, RST]))
def test_random_server_bytes_never_raise(data: bytes, then: str) -> None:
    """Whatever a server sends, probe_port returns a record; only a parsed SMB answer is OK."""
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=0.2)
    action = Reply(data, then=then)
    record, _ = probe({"smb2": action, "smb1_ntlm": action, "smb1_multi": action}, opts=opts)
    if record.status is ScanStatus.OK:
        assert record.smb2 is not None or record.smb1.offered is True
    else:
        assert record.signing_required is None
        assert record.status in (ScanStatus.ERROR, ScanStatus.NOT_SMB)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_golden_reply_never_raises(edits: list[tuple[int, int]]) -> None:
    opts = ProbeOptions(connect_timeout=1.0, read_timeout=0.2)
    data = bytearray(framed(smb2_negotiate_response(security_mode=0x03)))
    for pos, value in edits:
        data[pos % len(data)] = value
    record, _ = probe({"smb2": Reply(bytes(data)), "smb1_ntlm": SMB1_OFF}, opts=opts)
    if record.status is ScanStatus.OK and record.smb2 is not None:
        assert record.signing_required is bool(record.smb2.security_mode & 0x02)


def test_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    record = run(probe_port("127.0.0.1", port, FAST))
    assert record.status is ScanStatus.CLOSED
    assert record.signing_required is None
    assert record.reason == "closed: connection refused"


def test_full_backlog_is_filtered() -> None:
    """A listener that never accepts, with its accept queue full, drops further SYNs (Linux):
    the connect times out -> `filtered`, entirely on loopback."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        record = run(probe_port("127.0.0.1", port, ProbeOptions(connect_timeout=0.3)))
    finally:
        for s in fillers:
            s.close()
        listener.close()
    assert record.status is ScanStatus.FILTERED
    assert record.reason == "filtered: no answer within 0.3 s"


def test_not_an_address() -> None:
    record = run(probe_port("not-an-ip.example", 445, FAST))
    assert record.status is ScanStatus.ERROR
    assert record.reason.startswith("connect_error: invalid address")


def test_cancellation_closes_the_connection() -> None:
    async def go() -> bool:
        async with FakeServer({"smb2": SILENT, "smb1_ntlm": SILENT}) as server:
            opts = ProbeOptions(connect_timeout=1.0, read_timeout=30.0)
            task = asyncio.create_task(probe_port("127.0.0.1", server.port, opts))
            while len(server.seen) < 2:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(server.peer_closed.wait(), 5)
            return server.peer_closed.is_set()

    assert asyncio.run(go())


def test_many_concurrent_probes_one_loop() -> None:
    async def go() -> list[ScanRecord]:
        async with FakeServer(smb2_with_smb1_off(0x03)) as server:
            opts = ProbeOptions(connect_timeout=5.0, read_timeout=5.0)
            return await asyncio.gather(
                *(probe_port("127.0.0.1", server.port, opts) for _ in range(100))
            )

    records = asyncio.run(go())
    assert [r.signing_required for r in records] == [True] * 100


# ----------------------------------------------------------------- NetBIOS (port 139 path)
NB = ProbeOptions(connect_timeout=1.0, read_timeout=0.4, transport="netbios")
POSITIVE = b"\x82\x00\x00\x00"
NEGATIVE = b"\x83\x00\x00\x01\x82"


def test_netbios_session_then_smb2_without_contexts() -> None:
    record, server = probe(
        {
            "smb2": reply(smb2_negotiate_response(security_mode=0x03, dialect=0x0302)),
            "smb1_ntlm": SMB1_OFF,
        },
        opts=NB,
        session_answers=[POSITIVE],
    )
    assert record.status is ScanStatus.OK
    assert record.transport == "netbios"
    assert record.signing_required is True
    assert record.reason == "SMB2 3.0.2 signing required; SMB1 not offered"
    assert set(server.called_names) == {b"CKFDENECFDEFFCFGEFFCCACACACACACA"}
    smb2_request = server.requests[server.seen.index("smb2")]
    assert smb2_request[66:68] == b"\x04\x00"  # DialectCount 4: 2.0.2-3.0.2, no 3.1.1
    assert smb2_request[96:98] == b"\x00\x00"  # no negotiate contexts


def test_netbios_smb311_only_server_gets_a_311_retry() -> None:
    """An SMB3_11-only server answers the <= 3.0.2 NetBIOS offer with STATUS_NOT_SUPPORTED
    (recorded from Samba, reference.md §4.6); one retry offering 3.1.1 gets the answer (5.1)."""

    def smb311_only(body: bytes) -> Reply:
        if b"\x11\x03" in body[100:112]:  # 0x0311 among the dialects
            return reply(smb2_negotiate_response(security_mode=0x03))
        return reply(smb2_error_response(0xC00000BB))

    record, server = probe(
        {"smb2": smb311_only, "smb1_ntlm": SMB1_OFF}, opts=NB, session_answers=[POSITIVE]
    )
    assert record.status is ScanStatus.OK
    assert record.signing_required is True
    assert record.reason == "SMB2 3.1.1 signing required; SMB1 not offered"
    assert server.seen.count("smb2") == 2


def test_netbios_negative_then_retry_with_hostname_label() -> None:
    async def go() -> tuple[ScanRecord, FakeServer]:
        async with FakeServer(
            {
                "smb2": reply(smb2_negotiate_response(security_mode=0x01, dialect=0x0302)),
                "smb1_ntlm": SMB1_OFF,
            },
            session_answers=[NEGATIVE, POSITIVE],
        ) as server:
            record = await probe_port(
                "127.0.0.1", server.port, NB, hostname="fileserver.corp.example"
            )
        return record, server

    record, server = asyncio.run(go())
    assert record.status is ScanStatus.OK
    assert record.signing_required is False
    assert record.hostname == "fileserver.corp.example"
    assert server.called_names[0] == b"CKFDENECFDEFFCFGEFFCCACACACACACA"
    from smbsign.protocol.netbios import encode_name

    assert server.called_names[1] == encode_name("FILESERVER")
    # the name that worked is reused for the SMB1 probe: 3 session requests in all
    assert len(server.called_names) == 3


def test_netbios_refused_twice_is_error() -> None:
    record, server = probe({}, opts=NB, session_answers=[NEGATIVE])
    assert record.status is ScanStatus.ERROR
    assert record.signing_required is None
    assert record.reason == (
        "netbios_refused: called name 127.0.0.1: called name not present (0x82)"
    )
    assert len(server.called_names) == 2  # bounded: one retry
    assert server.seen == []


def test_netbios_retarget_is_not_followed() -> None:
    retarget = b"\x84\x00\x00\x06\x0a\x00\x00\x02\x01\xbd"
    record, server = probe({}, opts=NB, session_answers=[retarget])
    assert record.status is ScanStatus.ERROR
    assert record.reason == "netbios_refused: retarget to 10.0.0.2:445 not followed"
    assert len(server.called_names) == 1


def test_netbios_positive_response_with_echoed_names_is_skipped() -> None:
    """#11 item 7: a positive session response that declares a payload (some servers echo
    the called and calling names, 68 bytes) is read past [RFC1002 4.3.3], not an error."""
    from smbsign.protocol.netbios import build_session_request

    echoed = POSITIVE[:3] + b"\x44" + build_session_request()[4:]
    record, server = probe(
        {
            "smb2": reply(smb2_negotiate_response(security_mode=0x03, dialect=0x0302)),
            "smb1_ntlm": reply(smb1_negotiate_response(security_mode=0x03)),
        },
        opts=NB,
        session_answers=[echoed],
    )
    assert record.status is ScanStatus.OK, record.reason
    assert record.signing_required is False  # SMB1 offered without signing: relayable
    assert record.relayable
    assert len(server.called_names) == 2  # one session for SMB2, one for the SMB1 probe


def test_netbios_positive_response_longer_than_the_cap_is_refused() -> None:
    """The declared payload is skipped only within the read cap (max_response)."""
    huge = b"\x82\x01\xff\xff" + b"\0" * 64
    opts = ProbeOptions(
        connect_timeout=1.0, read_timeout=0.4, transport="netbios", max_response=4096
    )
    record, server = probe({}, opts=opts, session_answers=[huge])
    assert record.status is not ScanStatus.OK
    assert "131071" in record.reason
    assert server.seen == []


def test_netbios_garbage_session_answer() -> None:
    record, _ = probe({}, opts=NB, session_answers=[b"HTTP/1.0 400 Bad\r\n\r\n"])
    assert record.status is ScanStatus.NOT_SMB
    assert record.reason.startswith("not_smb")


def test_probe_options_validation() -> None:
    with pytest.raises(ValueError, match="unknown transport"):
        ProbeOptions(transport="quic")

"""The LDAP signing / LDAPS channel-binding probe against fake servers on loopback (issue #12).

Windows behaviours Samba does not have (strongerAuthRequired with LDAPServerIntegrity=2,
``data 80090346`` with LdapEnforceChannelBinding=1/2) are served here from synthesised
exchanges over real loopback sockets; ``tests/unit/ldapwire_fakeserver.py`` says where the
shape of each reply comes from. The real Samba 4.17 DC is in tests/lab/test_ldap_lab.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

pytest.importorskip("impacket")

from ldapwire_fakeserver import (
    VALID_USER,
    WindowsLikeDc,
    dc_handler,
    hostile_handler,
    self_signed,
    serve,
)
from test_apply_samba_faults import closed_port

from smbsign.collect.winreg_remote import Credentials
from smbsign.model import ChannelBinding, LdapObservation, LdapSigning
from smbsign.scan.ldap_probe import LdapProbeOptions, probe_ldap

ALICE = Credentials(VALID_USER, "LAB", password="Secret-1")


def _run(
    dc: WindowsLikeDc | None,
    tmp_path: Path,
    *,
    creds: Credentials | None = None,
    ldap_mode: str | None = None,
    ldaps_mode: str | None = None,
    ldaps: str = "tls",  # "tls", "closed", "plain" (TCP, closes on the ClientHello), "plain_silent"
    **kw: float,
) -> LdapObservation:
    async def main() -> LdapObservation:
        dc_ = dc or WindowsLikeDc()
        plain_handler = hostile_handler(ldap_mode) if ldap_mode else dc_handler(dc_, tls=False)
        tls_handler = hostile_handler(ldaps_mode) if ldaps_mode else dc_handler(dc_, tls=True)
        ctx = self_signed(tmp_path) if ldaps == "tls" else None
        async with serve(plain_handler) as p389, serve(tls_handler, tls=ctx) as p636:
            if ldaps in ("plain", "plain_silent"):
                mode = "silent" if ldaps == "plain_silent" else "eof"
                async with serve(hostile_handler(mode)) as bare:
                    p636 = bare
                    return await probe_ldap("127.0.0.1", _opts(p389, p636, creds, **kw))
            if ldaps == "closed":
                p636 = closed_port()
            return await probe_ldap("127.0.0.1", _opts(p389, p636, creds, **kw))

    return asyncio.run(main())


def _opts(p389: int, p636: int, creds: Credentials | None, **kw: float) -> LdapProbeOptions:
    return LdapProbeOptions(
        ldap_port=p389,
        ldaps_port=p636,
        credentials=creds,
        connect_timeout=kw.get("connect_timeout", 1.0),
        read_timeout=kw.get("read_timeout", 1.0),
        host_deadline=kw.get("host_deadline", 10.0),
    )


# ------------------------------------------------------------------------------ signing


def test_integrity_2_refuses_unsigned_anonymous_bind_required(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(server_integrity=2), tmp_path)
    assert obs.signing is LdapSigning.REQUIRED
    assert obs.method == "unauthenticated"
    assert "strongerAuthRequired" in obs.reason


def test_integrity_1_accepts_unsigned_anonymous_bind_not_required(tmp_path: Path) -> None:
    dc = WindowsLikeDc(server_integrity=1)
    obs = _run(dc, tmp_path)
    assert obs.signing is LdapSigning.NOT_REQUIRED
    assert obs.relay_ldap
    anon = [a for a in dc.seen if a.user == ""]
    assert anon and not anon[0].negotiate_flags & 0x10  # NTLMSSP_NEGOTIATE_SIGN never asked


def test_anonymous_refused_without_credentials_is_unknown(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(server_integrity=1, anonymous_ntlm=False), tmp_path)
    assert obs.signing is LdapSigning.UNKNOWN
    assert "--user" in obs.reason


def test_anonymous_refused_then_credentials_decide(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(server_integrity=1, anonymous_ntlm=False), tmp_path, creds=ALICE)
    assert obs.signing is LdapSigning.NOT_REQUIRED
    assert obs.method == "authenticated"
    obs = _run(WindowsLikeDc(server_integrity=2, anonymous_ntlm=False), tmp_path, creds=ALICE)
    assert obs.signing is LdapSigning.REQUIRED


def test_wrong_credentials_are_unknown_never_not_required(tmp_path: Path) -> None:
    bad = Credentials("mallory", "LAB", password="x")
    obs = _run(WindowsLikeDc(anonymous_ntlm=False), tmp_path, creds=bad)
    assert obs.signing is LdapSigning.UNKNOWN
    assert "data 52e" in obs.reason


def test_ntlm_not_offered_is_unknown(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(ntlm=False), tmp_path, creds=ALICE)
    assert obs.signing is LdapSigning.UNKNOWN
    assert obs.channel_binding is ChannelBinding.UNKNOWN
    assert "not offered" in obs.reason


# ----------------------------------------------------------------------- channel binding


def test_enforce_2_is_always_without_credentials(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(enforce_channel_binding=2), tmp_path)
    assert obs.channel_binding is ChannelBinding.ALWAYS
    assert obs.method == "unauthenticated"


def test_enforce_1_is_when_supported_without_credentials(tmp_path: Path) -> None:
    dc = WindowsLikeDc(enforce_channel_binding=1)
    obs = _run(dc, tmp_path)
    assert obs.channel_binding is ChannelBinding.WHEN_SUPPORTED
    tls_binds = [a for a in dc.seen if a.user.startswith("smbsign-probe-")]
    assert [a.channel_binding is None for a in tls_binds] == [True, False]
    assert tls_binds[1].channel_binding is not None and len(tls_binds[1].channel_binding) == 16


def test_enforce_0_without_credentials_is_unknown_not_never(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(enforce_channel_binding=0), tmp_path)
    assert obs.channel_binding is ChannelBinding.UNKNOWN
    assert not obs.relay_ldaps
    assert "--user" in obs.reason


def test_enforce_0_with_credentials_is_never(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(enforce_channel_binding=0), tmp_path, creds=ALICE)
    assert obs.channel_binding is ChannelBinding.NEVER
    assert obs.relay_ldaps
    assert obs.method == "authenticated"


def test_enforce_1_and_2_with_credentials(tmp_path: Path) -> None:
    assert (
        _run(WindowsLikeDc(enforce_channel_binding=1), tmp_path, creds=ALICE).channel_binding
        is ChannelBinding.WHEN_SUPPORTED
    )
    assert (
        _run(WindowsLikeDc(enforce_channel_binding=2), tmp_path, creds=ALICE).channel_binding
        is ChannelBinding.ALWAYS
    )


def test_ldaps_port_closed_is_no_tls(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(), tmp_path, ldaps="closed")
    assert obs.channel_binding is ChannelBinding.NO_TLS
    assert "closed" in obs.reason


def test_tls_refused_is_no_tls(tmp_path: Path) -> None:
    """A DC without a certificate resets the TLS handshake (NetExec maps ECONNRESET the same)."""
    obs = _run(WindowsLikeDc(), tmp_path, ldaps="plain")
    assert obs.channel_binding is ChannelBinding.NO_TLS


def test_tls_handshake_that_never_answers_is_unknown_not_no_tls(tmp_path: Path) -> None:
    """A handshake left hanging (LdapRelayScan reads that as 'no certificate') is only a
    timeout here: unknown, with the reason."""
    obs = _run(WindowsLikeDc(), tmp_path, ldaps="plain_silent", read_timeout=0.5)
    assert obs.channel_binding is ChannelBinding.UNKNOWN
    assert "TLS handshake" in obs.reason and "timed out" in obs.reason


# --------------------------------------------------------------------- hostile servers


@pytest.mark.parametrize(
    "mode", ["garbage", "not_ber", "huge", "drip", "reset", "silent", "notice", "truncated", "deep"]
)
def test_hostile_ldap_server_is_unknown_and_bounded(tmp_path: Path, mode: str) -> None:
    began = time.monotonic()
    obs = _run(None, tmp_path, ldap_mode=mode, ldaps_mode=mode, read_timeout=0.5, host_deadline=3.0)
    assert time.monotonic() - began < 6.0
    assert obs.signing is LdapSigning.UNKNOWN
    assert obs.channel_binding is ChannelBinding.UNKNOWN
    assert obs.reason.startswith("ldap: ") and "; ldaps: " in obs.reason
    assert len(obs.reason) < 600


def test_host_deadline_bounds_everything(tmp_path: Path) -> None:
    began = time.monotonic()
    obs = _run(
        None, tmp_path, ldap_mode="drip", ldaps_mode="drip", read_timeout=30, host_deadline=1.0
    )
    assert time.monotonic() - began < 4.0
    assert obs.signing is LdapSigning.UNKNOWN
    assert "deadline" in obs.reason


# ------------------------------------------------------------------ record and schema


def test_ldap_field_absent_for_smb_only_and_round_trips() -> None:
    import jsonschema

    from smbsign.model import ScanRecord, ScanStatus, Smb1Observation
    from smbsign.report.decode import scan_record_from_dict
    from smbsign.scan.output import load_schema
    from smbsign.serialize import scan_record_to_dict

    smb = ScanRecord("192.0.2.7", 445, ScanStatus.OK, True, Smb1Observation(False), None)
    assert "ldap" not in scan_record_to_dict(smb)
    obs = LdapObservation(
        LdapSigning.NOT_REQUIRED, ChannelBinding.NEVER, "authenticated", "ldap: x; ldaps: y"
    )
    data = scan_record_to_dict(ScanRecord(**{**_fields(smb), "ldap": obs}))
    assert data["ldap"] == {
        "signing": "not_required",
        "channel_binding": "never",
        "method": "authenticated",
        "reason": "ldap: x; ldaps: y",
    }
    jsonschema.validate(data, load_schema())
    assert scan_record_from_dict(data).ldap == obs
    data["ldap"]["channel_binding"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, load_schema())


def _fields(rec: object) -> dict[str, object]:
    return {name: getattr(rec, name) for name in rec.__dataclass_fields__}  # type: ignore[attr-defined]


def test_nested_ber_length_beyond_index_size_is_a_protocol_error() -> None:
    """Found by fuzzing (ldap_bind_response): an inner 8-byte BER length made pyasn1 raise
    OverflowError instead of a parse error."""
    from smbsign.errors import ProtocolError
    from smbsign.protocol.ldap import parse_bind_response

    data = bytes.fromhex(
        "3063020102615e0a01310488e40004579a6f6d6d656e743a20416363657074536c00610062002e0065"
        "00780061006d0070006c006500040016006c00610062002e006500780061006d0070006c0065000700"
    )
    with pytest.raises(ProtocolError, match="malformed BER"):
        parse_bind_response(data)


def test_stronger_auth_at_negotiate_is_required(tmp_path: Path) -> None:
    """A server refusing the unsigned bind already at the NEGOTIATE step (no CHALLENGE)."""
    dc = WindowsLikeDc(server_integrity=2, stronger_at_negotiate=True)
    obs = _run(dc, tmp_path)
    assert obs.signing is LdapSigning.REQUIRED
    assert not [a for a in dc.seen if a.user == ""]  # no AUTHENTICATE was needed


def test_tls_requiring_sign_then_refusing_it_is_unknown(tmp_path: Path) -> None:
    """Samba 'yes' as measured: unsigned over TLS 8, signing asked 53: tokens untestable."""
    obs = _run(WindowsLikeDc(tls_signed_answer=53), tmp_path, creds=ALICE)
    assert obs.channel_binding is ChannelBinding.UNKNOWN
    assert "resultCode 53" in obs.reason and "strongerAuthRequired" in obs.reason


def test_tls_requiring_sign_then_accepting_it_tests_tokens_signed(tmp_path: Path) -> None:
    obs = _run(WindowsLikeDc(tls_signed_answer=0), tmp_path, creds=ALICE)
    assert obs.channel_binding is ChannelBinding.NEVER
    assert "tested with signing asked" in obs.reason

"""The scan's exit code with LDAP probed (#12 loose end, docs/scan.md "Exit codes").

An LDAP check that was asked for, reached an LDAP server and could not decide is an
undetermined host exactly as an SMB host whose signing could not be determined: exit 3 when
nothing is proven relayable, never 0. A port with nothing listening (closed, filtered) is no
LDAP server, as a dead SMB address is no SMB server: it does not change the exit code.
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("impacket")

from ldapwire_fakeserver import WindowsLikeDc, dc_handler, hostile_handler, serve

from smbsign.model import (
    ChannelBinding,
    LdapObservation,
    LdapSigning,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
)
from smbsign.scan.ldap_probe import LdapProbeOptions, probe_ldap
from smbsign.scan.output import EXIT_UNDETERMINED, Tally
from smbsign.scan.runner import error_record


def _dc(ldap: LdapObservation, *, smb_required: bool = True) -> ScanRecord:
    return ScanRecord(
        "10.0.0.9", 445, ScanStatus.OK, smb_required, Smb1Observation(False), None, ldap=ldap
    )


def _ldap_only(ldap: LdapObservation) -> ScanRecord:
    rec = error_record("10.0.0.9", 445, "not_probed: smb not in --protocols", None)
    fields = {name: getattr(rec, name) for name in rec.__dataclass_fields__}
    return ScanRecord(**{**fields, "ldap": ldap})


def _obs(signing: LdapSigning, binding: ChannelBinding, reason: str) -> LdapObservation:
    return LdapObservation(signing, binding, "unauthenticated", reason)


UNDECIDED = _obs(
    LdapSigning.UNKNOWN,
    ChannelBinding.ALWAYS,
    "ldap: an anonymous NTLM bind without signing refused: resultCode 49; give --user to "
    "decide; ldaps: no token: resultCode 49 data 80090346",
)


@pytest.mark.parametrize("make", [_dc, _ldap_only])
def test_ldap_unknown_alone_exits_3(make: object) -> None:
    tally = Tally()
    tally.add(make(UNDECIDED))  # type: ignore[operator]
    assert tally.exit_code() == EXIT_UNDETERMINED


def test_ldaps_unknown_alone_exits_3() -> None:
    tally = Tally()
    obs = _obs(
        LdapSigning.REQUIRED,
        ChannelBinding.UNKNOWN,
        "ldap: an anonymous NTLM bind without signing: strongerAuthRequired; "
        "ldaps: closed by the server after 3 bytes of a reply",
    )
    tally.add(_dc(obs))
    assert tally.exit_code() == EXIT_UNDETERMINED


def test_proven_relay_still_wins_over_an_ldap_unknown() -> None:
    tally = Tally()
    tally.add(_dc(UNDECIDED, smb_required=False))
    assert tally.exit_code() == 1


@pytest.mark.parametrize(
    "reason",
    [
        "ldap: port 389 closed; ldaps: port 636 closed",
        "ldap: port 389 filtered (no answer in 2 s); ldaps: port 636 filtered (no answer in 2 s)",
        "ldap: port 389 closed; ldaps: not probed",
        "ldap: not probed; ldaps: port 636 filtered (no answer in 2 s)",
    ],
)
def test_no_ldap_server_does_not_change_the_exit(reason: str) -> None:
    """A host without LDAP (a workstation in the range) is not an undetermined DC."""
    binding = ChannelBinding.NO_TLS if "636 closed" in reason else ChannelBinding.UNKNOWN
    tally = Tally()
    tally.add(_dc(_obs(LdapSigning.UNKNOWN, binding, reason)))
    assert tally.exit_code() == 0


def test_decided_ldap_exits_0() -> None:
    tally = Tally()
    obs = _obs(
        LdapSigning.REQUIRED,
        ChannelBinding.ALWAYS,
        "ldap: an anonymous NTLM bind without signing: strongerAuthRequired; "
        "ldaps: no token: resultCode 49 data 80090346",
    )
    tally.add(_dc(obs))
    assert tally.exit_code() == 0


@pytest.mark.parametrize("mode", ["garbage", "reset"])
def test_real_probe_of_a_hostile_server_exits_3(mode: str) -> None:
    """The whole path: probe_ldap against a server that answers nonsense, then the tally."""

    async def main() -> LdapObservation:
        async with serve(hostile_handler(mode)) as port:
            opts = LdapProbeOptions(
                ldap=True, ldaps=False, ldap_port=port, connect_timeout=2, read_timeout=2
            )
            return await probe_ldap("127.0.0.1", opts)

    obs = asyncio.run(main())
    assert obs.signing is LdapSigning.UNKNOWN
    tally = Tally()
    tally.add(_dc(obs))
    assert tally.exit_code() == EXIT_UNDETERMINED, obs.reason


def test_real_probe_of_a_dc_refusing_anonymous_ntlm_exits_3() -> None:
    """A Windows-like DC that refuses the anonymous bind, no --user: unknown, exit 3."""

    async def main() -> LdapObservation:
        dc = WindowsLikeDc(anonymous_ntlm=False)
        async with serve(dc_handler(dc, tls=False)) as port:
            opts = LdapProbeOptions(ldap=True, ldaps=False, ldap_port=port)
            return await probe_ldap("127.0.0.1", opts)

    obs = asyncio.run(main())
    assert obs.signing is LdapSigning.UNKNOWN and "give --user" in obs.reason
    tally = Tally()
    tally.add(_dc(obs))
    assert tally.exit_code() == EXIT_UNDETERMINED


def test_the_exit_3_line_names_the_undetermined_ldap_servers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--protocols ldap`` only: no SMB was probed, so the line must not say "no SMB server
    answered" and stop there; it says what could not be checked."""
    from smbsign.cli.scan_run import _report

    tally = Tally()
    tally.add(_ldap_only(UNDECIDED))
    _report(tally, tally.exit_code(), None)
    err = capsys.readouterr().err
    assert "0 SMB hosts and 1 LDAP server could not be checked (exit 3)" in err, err

"""The live scan's running summary: what the exit code, the summary line and the relay list
need, in O(relayable hosts) memory (:class:`Tally`).

A stored run's headline numbers are :func:`smbsign.run.summarize` (one server counted once
across its addresses); the words of both come from :mod:`smbsign.verdict`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from smbsign.model import ChannelBinding, LdapObservation, LdapSigning, ScanRecord, ScanStatus
from smbsign.output.relay import SCHEMES as _SCHEMES
from smbsign.scan.runner import is_dead
from smbsign.scan.targets import address_sort_key
from smbsign.textutil import plural
from smbsign.verdict import (
    RELAYABLE,
    SHORT_NOT_REQUIRED,
    SHORT_REQUIRED,
    SHORT_UNKNOWN,
    Verdict,
    verdict,
)

__all__ = ["EXIT_UNDETERMINED", "Tally"]

EXIT_UNDETERMINED = 3  # no host proven "not required", but some SMB host left unknown


@dataclass(slots=True)
class Tally:
    """What the exit code, the summary and the relay list need; O(relayable hosts) memory."""

    targets: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    required: int = 0
    not_required: int = 0
    unknown: int = 0  # answered (not dead) but signing not determined
    relay: set[str] = field(default_factory=set)
    # ("ldap" | "ldaps", address) relay targets and LDAP verdicts (scan --protocols, #12)
    ldap_relay: set[tuple[str, str]] = field(default_factory=set)
    ldap_hosts: int = 0
    ldap_unknown: int = 0
    # hosts whose LDAP server answered but a check that was asked for stayed unknown: an
    # undetermined host for the exit code, as an SMB unknown (docs/scan.md "Exit codes")
    ldap_undetermined: int = 0

    def add(self, rec: ScanRecord) -> None:
        self.statuses[rec.status.value] += 1
        if rec.ldap is not None:
            self._add_ldap(rec.target, rec.ldap)
        v = verdict(rec)  # the one classification (smbsign.verdict), also behind summarize()
        if v in RELAYABLE:
            self.not_required += 1
            self.relay.add(rec.target)
        elif v is Verdict.REQUIRED:
            self.required += 1
        elif rec.status in (ScanStatus.OK, ScanStatus.ERROR) and not _unreachable(rec):
            self.unknown += 1

    @property
    def records(self) -> int:
        return sum(self.statuses.values())

    def _add_ldap(self, address: str, obs: LdapObservation) -> None:
        self.ldap_hosts += 1
        if obs.relay_ldap:
            self.ldap_relay.add(("ldap", address))
        if obs.relay_ldaps:
            self.ldap_relay.add(("ldaps", address))
        asked_signing = not obs.reason.startswith("ldap: not probed")
        asked_binding = not obs.reason.endswith("ldaps: not probed")
        signing_unknown = asked_signing and obs.signing is LdapSigning.UNKNOWN
        binding_unknown = asked_binding and obs.channel_binding is ChannelBinding.UNKNOWN
        if signing_unknown or binding_unknown:
            self.ldap_unknown += 1
        ldap_why, _, ldaps_why = obs.reason.rpartition("; ldaps: ")
        if (signing_unknown and not _no_server(ldap_why.removeprefix("ldap: "))) or (
            binding_unknown and not _no_server(ldaps_why)
        ):
            self.ldap_undetermined += 1

    def exit_code(self) -> int:
        """1: some host proven not to require signing (SMB, or LDAP: a relay target); 3:
        none, but some SMB host unknown or some LDAP server undetermined; else 0."""
        if self.not_required or self.ldap_relay:
            return 1
        return EXIT_UNDETERMINED if self.unknown or self.ldap_undetermined else 0

    def relay_addresses(self) -> list[str]:
        return sorted(self.relay, key=address_sort_key)

    def relay_targets(self) -> list[tuple[str, str]]:
        """Every open relay path as (scheme, address): by address, then smb, ldap, ldaps."""
        targets = {("smb", a) for a in self.relay} | self.ldap_relay
        return sorted(targets, key=lambda t: (address_sort_key(t[1]), _SCHEMES.index(t[0])))

    def ldap_line(self) -> str:
        """One line for stderr when LDAP was probed."""
        relay = sorted(self.ldap_relay)
        ldap = sum(1 for s, _ in relay if s == "ldap")
        return (
            f"ldap: {plural(self.ldap_hosts, 'host')} probed: {ldap} signing {SHORT_NOT_REQUIRED}, "
            f"{len(relay) - ldap} LDAPS channel binding never, "
            f"{self.ldap_unknown} with an unknown verdict"
        )

    def summary(self, *, complete: bool) -> dict[str, Any]:
        return {
            "complete": complete,
            "targets": self.targets,
            "records": self.records,
            "statuses": {s.value: self.statuses.get(s.value, 0) for s in ScanStatus},
            "signing_required": self.required,
            "signing_not_required": self.not_required,
            "unknown": self.unknown,
        }

    def summary_line(self) -> str:
        st = self.statuses
        return (
            f"{plural(self.targets, 'target')}, {plural(self.records, 'record')}: "
            f"{self.not_required} signing {SHORT_NOT_REQUIRED}, {self.required} {SHORT_REQUIRED}, "
            f"{self.unknown} {SHORT_UNKNOWN}; {st['closed']} closed, {st['filtered']} filtered, "
            f"{st['not_smb']} not SMB, {plural(st['error'], 'error')}"
        )


#: What the LDAP probe says when nothing listens (smbsign.scan.ldap_probe._connect): no LDAP
#: server there, as a closed or filtered SMB port is no SMB server.
_NO_SERVER = re.compile(r"port \d+ (closed|filtered)\b")


def _no_server(why: str) -> bool:
    return _NO_SERVER.match(why) is not None


def _unreachable(rec: ScanRecord) -> bool:
    return is_dead(rec) or rec.reason.startswith(("resolve_failed", "not_probed"))

"""``scan --protocols smb,ldap,ldaps``: which checks run per host (issue #12; docs/scan.md).

``smb`` is the NEGOTIATE probe of :mod:`smbsign.scan.prober`; ``ldap`` (signing on 389) and
``ldaps`` (channel binding on 636) are :func:`smbsign.scan.ldap_probe.probe_ldap`, whose
answer becomes the record's ``ldap`` object. With ``smb`` in the list, LDAP is probed on the
hosts whose SMB port answered (a domain controller always serves SMB), so a sparse range costs
no more than before; without it, every address is probed for LDAP and its record says SMB was
not probed (reason ``not_probed``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from smbsign.errors import UsageError
from smbsign.model import ChannelBinding, LdapObservation, LdapSigning, ScanRecord
from smbsign.scan.ldap_probe import LdapProbeOptions
from smbsign.scan.runner import Probe, error_record, is_dead

__all__ = ["NOT_PROBED", "PROTOCOLS", "parse_protocols", "with_ldap"]

PROTOCOLS = ("smb", "ldap", "ldaps")
NOT_PROBED = "not_probed"  # reason token of a record whose SMB was not asked for
_REMEMBER = 4096

ProbeLdap = Callable[[str, LdapProbeOptions], Awaitable[LdapObservation]]


def parse_protocols(text: str) -> tuple[str, ...]:
    """``smb,ldap`` -> ("smb", "ldap"), in the canonical order; a usage error otherwise."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    bad = [w for w in words if w not in PROTOCOLS]
    if bad or not words:
        raise UsageError(
            f"bad --protocols {text[:60]!r}: give one or more of {', '.join(PROTOCOLS)}, "
            "separated by commas"
        )
    return tuple(p for p in PROTOCOLS if p in words)


def with_ldap(smb: Probe | None, opts: LdapProbeOptions, probe_ldap: ProbeLdap) -> Probe:
    """A probe that adds ``ldap`` to the SMB record (or to a ``not_probed`` one without SMB).

    An address is probed for LDAP once per scan (``--all-ports`` gives it several records);
    the answers are kept for the last :data:`_REMEMBER` addresses only.
    """
    seen: dict[str, LdapObservation] = {}

    async def probe(address: str, port: int, *, hostname: str | None = None) -> ScanRecord:
        if smb is not None:
            rec = await smb(address, port, hostname=hostname)
            if is_dead(rec) or rec.reason.startswith("resolve_failed"):
                return rec
        else:
            rec = error_record(address, port, f"{NOT_PROBED}: smb not in --protocols", hostname)
        known = seen.get(address)
        if known is not None:
            return dataclasses.replace(rec, ldap=known)
        try:
            obs = await probe_ldap(address, opts)
        except Exception as exc:  # noqa: BLE001 (a probe bug is this host's unknown, not a crash)
            why = f"internal_error: {type(exc).__name__}"
            obs = LdapObservation(
                LdapSigning.UNKNOWN, ChannelBinding.UNKNOWN, "unauthenticated", why
            )
        if len(seen) >= _REMEMBER:
            seen.clear()
        seen[address] = obs
        return dataclasses.replace(rec, ldap=obs)

    return probe

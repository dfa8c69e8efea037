"""Evidence sources: where an audit reads what it judges (docs/architecture.md, "Add an
evidence source").

Each source yields :class:`~smbsign.audit.evidence.HostEvidence`, each host at most once and
complete, so the :class:`~smbsign.audit.auditor.Auditor` can judge a host as soon as no later
source may name it. Sources do I/O but never print, never load the catalog (what to read comes
in :class:`Wanted`) and report failures as evidence errors, never exceptions; a usage problem
found while gathering raises :class:`~smbsign.errors.UsageError`.

- :class:`PathsSource`: files and directories (:func:`smbsign.collect.collect_paths`);
- :class:`LocalSource`: this machine, :func:`smbsign.collect.local.collect_local` (on Linux the
  Samba config as written and as the real ``testparm`` resolves it, on Windows the live
  registry), plus wire probes of the local server on ``127.0.0.1`` and ``::1``;
- :class:`RemoteSource`: each host's HKLM over MS-RRP (:mod:`smbsign.collect.winreg_remote`),
  one host after the other with bounded timeouts;
- :class:`WazuhApiSource`: the SCA results of the Windows agents of a Wazuh manager
  (:mod:`smbsign.collect.wazuh_api`, docs/wazuh.md);
- :class:`ProbeSource`: a NEGOTIATE probe of one address (port 445, then 139 when 445 answers
  nowhere), attached to the one host the other sources gathered;
- :class:`WireSource`: the records of an earlier ``smbsign scan`` (``audit --wire FILE``; with
  ``--protocols smb,ldap,ldaps`` they decide the LDAP controls too, docs/ldap.md).

:data:`SOURCES` is the wiring table, in the order an audit reads them.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from smbsign.audit.checklists import Checklist, split_checklists
from smbsign.audit.evidence import HostEvidence
from smbsign.catalog.schema import Control
from smbsign.engine.facts import family_of_kinds
from smbsign.engine.smb1 import CLIENT_DRIVER_START, SERVER_SMB1
from smbsign.errors import UsageError
from smbsign.model import CollectError, ScanRecord, ScanStatus

if TYPE_CHECKING:
    from smbsign.collect.winreg_remote import Credentials

LOOPBACKS = ("127.0.0.1", "::1")
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the catalog being judged needs read: registry (key, value) pairs for live reads
    (the local Windows registry, MS-RRP) and for offline hives."""

    registry: Pairs = ()
    hive: Pairs = ()


def registry_wanted(controls: Iterable[Control], *, desired: bool = False) -> Pairs:
    """(key, value) pairs a registry read needs for ``controls`` and the SMB1 state; with
    ``desired``, also every value their desired state sets."""
    wanted: list[tuple[str, str]] = []
    for c in controls:
        reg = c.check.registry
        if reg is not None:
            wanted.append((reg.key, reg.value))
            if reg.policy_key:
                wanted.append((reg.policy_key, reg.value))
            if reg.overridden_by is not None:
                wanted.append((reg.key, reg.overridden_by.value))
        if desired:
            wanted.extend((d.key, d.value) for d in c.desired.registry)
    for setting in (SERVER_SMB1, CLIENT_DRIVER_START):
        key, _, value = setting.rpartition("\\")
        wanted.append((key, value))
    return tuple(dict.fromkeys(wanted))


class EvidenceSource(Protocol):
    """One kind of evidence (see the module docstring)."""

    def names(self) -> frozenset[str] | None:
        """The hosts this source may yield, when known before gathering (None: any)."""
        ...

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        """Evidence per host; ``seen`` are the hosts earlier sources gathered."""
        ...


@dataclass(frozen=True, slots=True)
class PathsSource:
    """Files and directories; host naming as :func:`smbsign.collect.collect_paths` does."""

    paths: tuple[Path, ...]
    host: str | None = None
    host_per_dir: bool = False

    def names(self) -> frozenset[str] | None:
        return frozenset({self.host}) if self.host is not None else None

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        from smbsign.collect import collect_paths

        out: dict[str, HostEvidence] = {}  # a host's files may come from several arguments
        for name, result in collect_paths(
            self.paths, self.host, host_per_dir=self.host_per_dir, wanted=wanted.hive
        ):
            result, checklists = split_checklists(result)
            ev = out.setdefault(name, HostEvidence(name))
            ev.add(result)
            ev.checklists.extend(checklists)
        yield from out.values()


@dataclass(frozen=True, slots=True)
class LocalSource:
    """This machine, named ``host``; ``probe``: also ask the local server on the wire."""

    host: str
    samba_conf: Path | None = None
    probe: bool = True

    def names(self) -> frozenset[str] | None:
        return frozenset({self.host})

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        from smbsign.collect.local import collect_local, local_kind

        ev = HostEvidence(self.host, family=family_of_kinds([local_kind()]))
        ev.add(collect_local(self.host, conf_path=self.samba_conf, wanted=wanted.registry))
        if self.probe:
            ev.observations.extend(probe(LOOPBACKS, self.host))
        yield ev


@dataclass(frozen=True, slots=True)
class RemoteSource:
    """Windows hosts whose registry is read over MS-RRP as ``creds``."""

    hosts: tuple[str, ...]
    creds: Credentials = field(repr=False)

    def names(self) -> frozenset[str] | None:
        return frozenset(self.hosts)

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        from smbsign.collect import winreg_remote

        family = family_of_kinds([winreg_remote.KIND])
        for host in dict.fromkeys(self.hosts):
            ev = HostEvidence(host, family=family)
            connect = winreg_remote.impacket_connect(host, self.creds)
            ev.add(winreg_remote.collect_remote(host, wanted.registry, connect))
            yield ev


#: Collector kind of evidence read from the Wazuh API, and the error of an agent without it.
WAZUH_KIND = "wazuh_api"
WAZUH_NO_RESULTS = "Wazuh has no SCA results for this agent (not scanned yet, or no policy ran)"


@dataclass(frozen=True, slots=True)
class WazuhApiSource:
    """Where and as whom to read the Wazuh API; ``repr`` never shows the secret."""

    url: str
    user: str
    secret: str = field(repr=False)
    insecure: bool = False

    def names(self) -> frozenset[str] | None:
        return None

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        """Evidence per Windows agent, agents in the manager's order; each agent's SCA checks
        are checklists with results, judged exactly as a dashboard export."""
        from smbsign.collect.wazuh_api import fetch_agents_sca
        from smbsign.importers.wazuh_api import agent_evidence

        out: dict[str, HostEvidence] = {}
        for agent in fetch_agents_sca(
            self.url, self.user, self.secret, verify_tls=not self.insecure
        ):
            got = agent_evidence(agent)
            host = got.host if got.host not in out else f"agent-{agent.agent_id}"
            ev = out.setdefault(host, HostEvidence(host))
            error = got.error or ("" if got.policies else WAZUH_NO_RESULTS)
            if error:
                ev.facts.append(got.facts)
                ev.errors.append(CollectError(host, agent.url, WAZUH_KIND, error))
                continue
            ev.checklists.extend(Checklist(url, pol, got.facts) for url, pol in got.policies)
        yield from out.values()


@dataclass(frozen=True, slots=True)
class ProbeSource:
    """A NEGOTIATE probe of ``address`` for the one host the earlier sources gathered (named
    ``host``, else ``address``, when they gathered none)."""

    address: str
    host: str | None = None

    def names(self) -> frozenset[str] | None:
        return None

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        if len(seen) > 1:
            raise UsageError("--probe with evidence of several hosts: give --host to name one")
        name = seen[0] if seen else (self.host or self.address)
        yield HostEvidence(name, observations=probe([self.address], self.host))


@dataclass(frozen=True, slots=True)
class WireSource:
    """Records of ``smbsign scan`` (``--format json`` / ``jsonl``; with ``--protocols
    smb,ldap,ldaps`` they carry ``ldap``) as wire evidence (``audit --wire FILE``).

    A record belongs to the host the earlier sources named that matches its ``hostname`` or
    its address (case-insensitive); with one host gathered and one server scanned, to that
    host (as ``--probe``); otherwise it names its own host (hostname, else address).
    """

    records: tuple[ScanRecord, ...]

    @classmethod
    def read(cls, path: Path) -> WireSource:
        """The records of ``path``; a :class:`UsageError` (one line) for anything else."""
        from smbsign.remediate.findings import read_fix_input

        try:
            got = read_fix_input(path)
        except UsageError as exc:
            raise UsageError(f"--wire: {exc}") from None
        if got.records is None:
            raise UsageError(
                f"--wire: {str(path)!r} holds findings, not scan records (give the output of "
                "smbsign scan --format json or jsonl)"
            )
        return cls(got.records)

    def names(self) -> frozenset[str] | None:
        return None

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        by_name = {h.lower(): h for h in seen}
        one = seen[0] if len(seen) == 1 and len({r.target for r in self.records}) == 1 else None
        groups: dict[str, list[ScanRecord]] = {}
        for rec in self.records:
            name = by_name.get((rec.hostname or "").lower()) or by_name.get(rec.target.lower())
            groups.setdefault(name or one or rec.hostname or rec.target, []).append(rec)
        for name, recs in groups.items():
            yield HostEvidence(name, observations=recs)


#: Wiring table: every kind of evidence source, in the order an audit reads them (a host
#: named by several is judged on all of it). The domain view (``smbsign.ad``) joins here.
SOURCES: tuple[type[EvidenceSource], ...] = (
    PathsSource,
    LocalSource,
    RemoteSource,
    WazuhApiSource,
    ProbeSource,
    WireSource,
)


def ip_literal(text: str) -> str | None:
    """``text`` as a normalised IP address literal, or None (no DNS lookups here)."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


async def _probe_many(targets: Sequence[tuple[str, int]], hostname: str | None) -> list[ScanRecord]:
    from smbsign.scan.prober import ProbeOptions, probe_port

    opts = ProbeOptions()
    return list(
        await asyncio.gather(*(probe_port(a, p, opts, hostname=hostname) for a, p in targets))
    )


def probe(addresses: Sequence[str], hostname: str | None = None) -> list[ScanRecord]:
    """NEGOTIATE probes of ``addresses`` on 445, then 139 if 445 answered nowhere."""
    records = asyncio.run(_probe_many([(a, 445) for a in addresses], hostname))
    if not any(r.status is ScanStatus.OK for r in records):
        records += asyncio.run(_probe_many([(addresses[0], 139)], hostname))
    return records

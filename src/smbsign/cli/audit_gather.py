"""Evidence for ``smbsign audit``: files, the local machine and wire probes (I/O, no printing).

- files and directories go through :func:`smbsign.collect.collect_paths` (host naming there);
- ``--local`` uses :func:`smbsign.collect.local.collect_local`: on Linux the Samba config as
  written (layer ``local``) and as the real ``testparm`` resolves it (``effective``, DOMAIN.md
  4.3-4.4); on Windows the live registry through ``winreg``, asking for the values the
  catalog checks plus the SMB1 state (DOMAIN.md 1.3) and host facts (DOMAIN.md 3.5);
- ``--remote`` reads each host's HKLM over MS-RRP (:mod:`smbsign.collect.winreg_remote`),
  the same (key, value) pairs as ``--local`` on Windows, one host after the other;
- wire probes use the project's prober: the local smbd on ``127.0.0.1`` and ``::1`` port 445
  (139 only when 445 answers nowhere, DOMAIN.md 5.8), or the one ``--address`` given.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smbsign.catalog.schema import Control
from smbsign.cli.audit_checklists import Checklist, split_checklists
from smbsign.collect import collect_paths
from smbsign.collect.base import CollectResult
from smbsign.collect.local import collect_local
from smbsign.collect.winreg_remote import Credentials, collect_remote, impacket_connect
from smbsign.engine.smb1 import CLIENT_DRIVER_START, SERVER_SMB1
from smbsign.model import CollectError, HostFacts, ScanRecord, ScanStatus, SettingValue

LOOPBACKS = ("127.0.0.1", "::1")


@dataclass
class HostEvidence:
    """Everything gathered about one host, in input order."""

    host: str
    values: list[SettingValue] = field(default_factory=list)
    facts: list[HostFacts] = field(default_factory=list)
    errors: list[CollectError] = field(default_factory=list)
    observations: list[ScanRecord] = field(default_factory=list)
    checklists: list[Checklist] = field(default_factory=list)  # not evidence (audit_checklists)
    notes: list[str] = field(default_factory=list)  # what the walk skipped (symlinks out, ...)

    @property
    def only_notes(self) -> bool:
        """True when nothing but notes was gathered (e.g. the top of ``--host-per-dir``)."""
        return not (
            self.values or self.facts or self.errors or self.observations or self.checklists
        )

    @property
    def only_checklists(self) -> bool:
        """True when checklist files are all there is for this host (nothing to evaluate)."""
        return bool(self.checklists) and not (
            self.values or self.facts or self.errors or self.observations
        )

    def add(self, result: CollectResult) -> None:
        self.values.extend(result.values)
        if result.facts is not None:
            self.facts.append(result.facts)
        self.errors.extend(result.errors)
        self.notes.extend(result.notes)


def gather_paths(
    paths: Sequence[Path], host: str | None, *, host_per_dir: bool = False
) -> dict[str, HostEvidence]:
    """Evidence per host from files and directories, hosts in first-seen order."""
    out: dict[str, HostEvidence] = {}
    for name, result in collect_paths(paths, host, host_per_dir=host_per_dir):
        result, checklists = split_checklists(result)
        ev = out.setdefault(name, HostEvidence(name))
        ev.add(result)
        ev.checklists.extend(checklists)
    return out


def registry_wanted(controls: Iterable[Control]) -> list[tuple[str, str]]:
    """(key, value) pairs a live registry read needs for ``controls`` and SMB1 state."""
    wanted: list[tuple[str, str]] = []
    for c in controls:
        reg = c.check.registry
        if reg is None:
            continue
        wanted.append((reg.key, reg.value))
        if reg.policy_key:
            wanted.append((reg.policy_key, reg.value))
    for setting in (SERVER_SMB1, CLIENT_DRIVER_START):
        key, _, value = setting.rpartition("\\")
        wanted.append((key, value))
    return list(dict.fromkeys(wanted))


def gather_local(
    host: str, conf: Path | None, controls: Iterable[Control], *, with_probe: bool
) -> HostEvidence:
    """This machine: Samba config + testparm (Linux) or the live registry (Windows)."""
    ev = HostEvidence(host)
    ev.add(collect_local(host, conf_path=conf, wanted=registry_wanted(controls)))
    if with_probe:
        ev.observations.extend(probe(LOOPBACKS, host))
    return ev


def gather_remote(
    hosts: Sequence[str], creds: Credentials, controls: Iterable[Control]
) -> dict[str, HostEvidence]:
    """Each remote host's registry over MS-RRP, in the order given (bounded timeouts)."""
    wanted = registry_wanted(controls)
    out: dict[str, HostEvidence] = {}
    for host in hosts:
        ev = out.setdefault(host, HostEvidence(host))
        ev.add(collect_remote(host, wanted, impacket_connect(host, creds)))
    return out


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


def merge_hosts(*groups: Mapping[str, HostEvidence]) -> dict[str, HostEvidence]:
    """Join evidence of the same host from several sources (order kept)."""
    out: dict[str, HostEvidence] = {}
    for group in groups:
        for name, ev in group.items():
            into = out.setdefault(name, HostEvidence(name))
            into.values.extend(ev.values)
            into.facts.extend(ev.facts)
            into.errors.extend(ev.errors)
            into.observations.extend(ev.observations)
            into.checklists.extend(ev.checklists)
            into.notes.extend(ev.notes)
    return out

"""``ad audit --scan``: probe every computer with the project's own prober (issue #9 item 4).

Names are resolved through one DNS server, the domain controller's by default: domain members
register their ``A``/``AAAA`` records by dynamic update (RFC 2136) in the domain's zone, which
the DC serves, and asking the DC rather than the auditor's own resolver keeps every packet
between the auditor, that server and the addresses it returns. The query is dnspython's
(RFC 1035 over UDP, TCP when truncated), ``A`` and ``AAAA``, no search list, bounded by a
timeout.

Probing goes through :func:`smbsign.scan.runner.run_scan` with a bounded number of workers, a
chunk of computers at a time: the computers stream from the directory, each chunk is probed,
then judged and forgotten, so memory does not grow with the domain. A name that does not
resolve gets the runner's ``resolve_failed`` record, with DNS's answer as the reason.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from smbsign.ad.directory import Computer
from smbsign.model import ScanRecord
from smbsign.scan.prober import ProbeOptions, probe_port
from smbsign.scan.runner import RunOptions, run_scan
from smbsign.scan.target_spec import Target

RESOLVE_FAILED = "resolve_failed"
PORTS = (445, 139)  # as `smbsign scan`: 139 only when 445 is dead (docs/reference.md §5.8)


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """How ``--scan`` probes: the DNS server's address, timeouts and workers."""

    dns_server: str
    dns_timeout: float = 5.0
    connect_timeout: float = 2.0
    read_timeout: float = 3.0
    concurrency: int = 64
    chunk: int = 512  # computers probed, judged and forgotten at a time


def fqdn(name: str, domain_dns: str) -> str:
    """A single-label name (no ``dNSHostName``) is looked up in the domain's DNS zone."""
    name = name.strip().rstrip(".")
    return name if "." in name or not domain_dns else f"{name}.{domain_dns}"


def dns_server_address(text: str) -> str:
    """An IP literal as given; else the (first) address the local resolver gives the name."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    import socket

    try:
        infos = socket.getaddrinfo(text, 53, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise OSError(f"cannot resolve the DNS server {text!r}: {exc.strerror or exc}") from None
    return str(infos[0][4][0])


async def resolve_via(server: str, timeout: float, name: str) -> list[str]:
    """A and AAAA of ``name`` from ``server`` only; OSError with DNS's answer when none."""
    import dns.asyncresolver
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [server]
    resolver.lifetime = timeout
    resolver.timeout = timeout
    out: list[str] = []
    why: list[str] = []
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        try:
            answer = await resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            raise OSError(f"{name} does not exist in DNS (NXDOMAIN from {server})") from None
        except dns.resolver.NoNameservers as exc:
            why.append(f"DNS server {server} failed to answer ({exc.msg or 'SERVFAIL'})")
            continue
        except dns.exception.Timeout:
            why.append(f"no answer from DNS server {server} within {timeout:g} s")
            continue
        except dns.exception.DNSException as exc:
            why.append(f"DNS error from {server}: {type(exc).__name__}")
            continue
        for rr in answer.rrset or ():
            addr = str(rr.address)
            if addr not in out:
                out.append(addr)
    if not out:
        raise OSError("; ".join(dict.fromkeys(why)) or f"{name} has no A or AAAA record")
    return out


def _probe_chunk(names: Sequence[str], settings: ScanSettings) -> dict[str, list[ScanRecord]]:
    opts = ProbeOptions(
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout
    )
    probe = functools.partial(probe_port, opts=opts)
    resolve = functools.partial(resolve_via, settings.dns_server, settings.dns_timeout)
    found: dict[str, list[ScanRecord]] = {n: [] for n in names}

    def keep(rec: ScanRecord) -> None:
        found.setdefault((rec.hostname or rec.target).lower(), []).append(rec)

    targets = [Target(None, hostname=n) for n in names]
    run = RunOptions(ports=PORTS, concurrency=max(1, min(settings.concurrency, len(names))))
    asyncio.run(run_scan(targets, probe, keep, run, resolve=resolve))
    return found


def probed(
    computers: Iterable[Computer],
    settings: ScanSettings,
    domain_dns: str,
    *,
    probe_chunk: Callable[
        [Sequence[str], ScanSettings], dict[str, list[ScanRecord]]
    ] = _probe_chunk,
) -> tuple[Iterator[Computer], Callable[[Computer], Sequence[ScanRecord]]]:
    """The computers again, each chunk probed before it is handed on, and the lookup of a
    computer's records (valid while its chunk is being judged)."""
    current: dict[str, list[ScanRecord]] = {}

    def lookup(c: Computer) -> Sequence[ScanRecord]:
        return current.get(fqdn(c.dns_name, domain_dns).lower(), ())

    def chunks() -> Iterator[Computer]:
        batch: list[Computer] = []
        for c in computers:
            batch.append(c)
            if len(batch) >= settings.chunk:
                yield from flush(batch)
                batch = []
        yield from flush(batch)

    def flush(batch: list[Computer]) -> Iterator[Computer]:
        if not batch:
            return
        names = list(dict.fromkeys(fqdn(c.dns_name, domain_dns).lower() for c in batch))
        current.clear()
        current.update(probe_chunk(names, settings))
        yield from batch

    return chunks(), lookup

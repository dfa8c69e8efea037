"""Records behind a SYN sweep: which targets the connect path probes, and the rest's records."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Protocol

from smbsign.model import ScanRecord, ScanStatus, Smb1Observation
from smbsign.scan.runner import transport_for
from smbsign.scan.sweep_result import (
    _BITS,
    _ICMP,
    _RST,
    _SA,
    MAX_REFUSED,
    SweepResult,
    _family,
    _ports_of,
)
from smbsign.scan.targets import Target

__all__ = ["classify"]


class SweepView(Protocol):
    """What classify reads of a sweep: in-process (:class:`~smbsign.scan.sweep.Sweep`) or
    run by a child (:class:`~smbsign.scan.sweep_fork.ForkedSweep`)."""

    result: SweepResult
    ready: int

    async def settled(self, index: int) -> None: ...


_YIELD_EVERY = 1024  # classify lets the loop run this often while it writes records
_NO_SMB1 = Smb1Observation(offered=None)


def _dead_record(
    address: str, hostname: str | None, port: int, bits: int, result: SweepResult
) -> ScanRecord:
    if bits & _RST:
        status, reason = ScanStatus.CLOSED, "closed: RST to SYN (sweep)"
    else:
        status, reason = ScanStatus.FILTERED, result.silent_reason
    return ScanRecord(
        target=address,
        port=port,
        status=status,
        signing_required=None,
        smb1=_NO_SMB1,
        smb2=None,
        reason=reason,
        hostname=hostname,
        transport=transport_for(port),
    )


def _refused(result: SweepResult, address: str) -> bool:
    """Did the kernel refuse a SYN to ``address``? Remembered up to :data:`MAX_REFUSED`
    addresses; past that, asked again (a UDP connect sends nothing)."""
    if address in result.refused:
        return True
    if len(result.refused) < MAX_REFUSED:
        return False
    with socket.socket(_family(address), socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((address, 9))
        except OSError:
            return True
    return False


async def classify(
    targets: Iterable[Target],
    sweep: SweepView,
    *,
    all_ports: bool,
    emit: Callable[[ScanRecord], None],
    on_target: Callable[[], None] | None = None,
) -> AsyncIterator[Target]:
    """Behind the sweep: the targets the connect path must probe; ``emit`` gets the rest.

    ``targets`` is the sweep's target list once more, in the same order; each target is
    handled once :meth:`Sweep.settled` says its answers are in.

    Yielded: names, scoped addresses and addresses not swept (their family could not be
    opened), unchanged; addresses with a SYN-ACK, with ``open_ports`` narrowed to the ports
    that answered (the runner tries only those, in the order given); addresses with an ICMP
    unreachable or a send the kernel refused, unchanged (the connect path reports the exact
    error as it always did). Emitted: one record per silent or RST-answering address, for the
    first port as the runner does (with ``all_ports``, one per port): ``closed`` on a RST,
    else ``filtered`` with a reason naming the sweep; ``on_target`` is called once for each
    target settled here.
    """
    result = sweep.result
    answers = result.answers
    index = {p: i * _BITS for i, p in enumerate(result.ports)}
    first = result.ports[0]
    reason, transport, filtered = result.silent_reason, transport_for(first), ScanStatus.FILTERED
    for count, target in enumerate(targets):
        if count >= sweep.ready:
            await sweep.settled(count)  # may return at once: its mark is past due
        if not count % _YIELD_EVERY:
            # The probes of the responders run meanwhile, also while classify catches up
            # with marks that are all past due (else every probe in flight times out).
            await asyncio.sleep(0)
        fast = not all_ports and not result.unswept and len(result.refused) < MAX_REFUSED
        address = target.address
        if address is None or "%" in address or _family(address) in result.unswept:
            yield target
            continue
        bits = answers.get(address, 0)
        if fast and not bits and not target.open_ports and address not in result.refused:
            emit(
                ScanRecord(
                    address,
                    first,
                    filtered,
                    None,
                    _NO_SMB1,
                    None,
                    reason,
                    target.hostname,
                    transport,
                )
            )
            if on_target is not None:
                on_target()
            continue
        ports = _ports_of(target, result.ports)
        if not bits and result.unroutable and _refused(result, address):
            yield target  # the connect scan reports what it always did (e.g. EACCES)
            continue
        per_port = [(p, bits >> index[p] & 7) for p in ports]
        if any(b & _ICMP for _, b in per_port):
            yield target
            continue
        answered = tuple(p for p, b in per_port if b & _SA)
        if all_ports:
            for port, b in per_port:
                if not b & _SA:
                    emit(_dead_record(address, target.hostname, port, b, result))
            if answered:
                yield Target(address, target.hostname, answered)
                continue
        elif answered:
            yield Target(address, target.hostname, answered)
            continue
        else:
            port, b = per_port[0]
            emit(_dead_record(address, target.hostname, port, b, result))
        if on_target is not None:
            on_target()

"""`smbsign scan`'s option checks: ports, the open-file limit and concurrency, the SYN sweep."""

from __future__ import annotations

import contextlib
import resource
import sys
from enum import StrEnum

from smbsign.errors import UsageError
from smbsign.scan.sweep import SWEEP_THRESHOLD
from smbsign.scan.sweep_result import SweepOptions
from smbsign.scan.sweep_sockets import raw_sockets_allowed
from smbsign.textutil import is_decimal

__all__ = [
    "DEFAULT_SWEEP_RATE",
    "MAX_DEFAULT_CONCURRENCY",
    "SweepMode",
    "choose_sweep",
    "default_concurrency",
    "parse_ports",
    "raise_fd_limit",
]

FD_HEADROOM = 64  # files, pipes and the resolver next to the sockets
SOCKETS_PER_PROBE = 2
# --concurrency when not given: what the open-file limit allows, at most this many. A dead
# address costs a connect (~200 us of CPU) per connect timeout, so 1,024 in flight start ~512
# connects a second (~0.1 core); 4,096 need ~0.4 core, and on a loaded 2-core lab machine
# the loop fell behind: most live hosts of a /20 came out "filtered", their SYN-ACK waiting in
# the loop past the timeout (docs/scan.md "Speed and limits"). Large sets get the SYN sweep.
MAX_DEFAULT_CONCURRENCY = 1024
DEFAULT_SWEEP_RATE = 20_000.0  # SYNs a second when --rate is not given (docs/scan.md "Sweep")


class SweepMode(StrEnum):
    AUTO = "auto"
    SYN = "syn"
    CONNECT = "connect"


def _warn(message: str) -> None:
    sys.stderr.write(f"smbsign: warning: {message}\n")


def parse_ports(text: str) -> tuple[int, ...]:
    ports: list[int] = []
    for word in text.split(","):
        if not is_decimal(word.strip()) or not 0 < int(word) < 65536:
            raise UsageError(f"bad --ports {text!r}: give ports 1-65535 separated by commas")
        if int(word) not in ports:
            ports.append(int(word))
    return tuple(ports)


def raise_fd_limit(concurrency: int) -> int:
    """Raise RLIMIT_NOFILE for ``concurrency`` probes; clamp concurrency to the hard limit.

    A probe holds up to two sockets at once (the SMB2 and the SMB1 check run side by side).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = SOCKETS_PER_PROBE * concurrency + FD_HEADROOM
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < need:
            clamped = max(1, (soft - FD_HEADROOM) // SOCKETS_PER_PROBE)
            _warn(f"open-file limit {soft} allows --concurrency {clamped}, not {concurrency}")
            return clamped
    return concurrency


def default_concurrency() -> int:
    """--concurrency when not given: raise the soft open-file limit to the hard one, then as
    many probes as fit in it (two sockets each, :data:`FD_HEADROOM` left over), at most
    :data:`MAX_DEFAULT_CONCURRENCY`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_DEFAULT_CONCURRENCY
    return max(1, min(MAX_DEFAULT_CONCURRENCY, (soft - FD_HEADROOM) // SOCKETS_PER_PROBE))


def choose_sweep(
    mode: SweepMode,
    total: int | None,
    *,
    rate: float | None,
    connect_timeout: float,
    ports: tuple[int, ...],
) -> tuple[SweepOptions | None, str | None]:
    """The SYN sweep to run first, or None; plus a one-line note when auto falls back.

    ``auto`` sweeps a known target set of more than :data:`SWEEP_THRESHOLD` addresses when raw
    sockets may be opened; ``syn`` insists (a usage error when it cannot); ``connect`` never
    sweeps. The sweep waits ``connect_timeout / 2`` after each of its two SYNs, as the
    kernel's connect does with its own retransmission after 1 s of a 2 s connect timeout.
    """
    if mode is SweepMode.CONNECT:
        return None, None
    if mode is SweepMode.AUTO and total is not None and total <= SWEEP_THRESHOLD:
        return None, None  # small sets: the connect scan is as fast, no note
    why: str | None
    if total is None:
        why = "targets come from stdin (-iL -), and the sweep reads the target list twice"
    else:
        why = raw_sockets_allowed()
    if why is not None:
        if mode is SweepMode.SYN:
            raise UsageError(f"--sweep syn: {why}")
        return None, f"--sweep auto: connect scan, no SYN sweep: {why}"
    return SweepOptions(ports, rate or DEFAULT_SWEEP_RATE, connect_timeout / 2), None

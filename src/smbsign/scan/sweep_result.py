"""What a SYN sweep learned: its options, the answer bits per address, and its error."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from smbsign.errors import SmbsignError
from smbsign.scan.targets import Target

__all__ = ["MAX_REFUSED", "SweepError", "SweepOptions", "SweepResult"]

MAX_REFUSED = 1 << 16  # refused addresses remembered; beyond, classify asks the kernel again

# Per address and port index i, three bits: SYN-ACK, RST, ICMP unreachable.
_SA, _RST, _ICMP = 1, 2, 4
_BITS = 3


class SweepError(SmbsignError):
    """The sweep could not go on (a send failed for a reason other than a missing route)."""


@dataclass(frozen=True, slots=True)
class SweepOptions:
    ports: tuple[int, ...]
    rate: float  # packets a second, retransmissions included
    timeout: float  # seconds to wait for answers after a pass's last SYN
    retries: int = 1  # retransmissions to addresses that stayed silent
    fork: bool = True  # smbsign scan runs it in a child process (scan/sweep_fork.py)


@dataclass(slots=True)
class SweepResult:
    """What answered: per address text, the bits of each port index (silent: absent)."""

    ports: tuple[int, ...]
    timeout: float
    answers: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # SYNs sent, retransmissions included
    unroutable: int = 0  # sends refused by the kernel (no route, a broadcast address, ...)
    refused: set[str] = field(default_factory=set)  # those addresses, up to MAX_REFUSED
    tries: int = 1
    unswept: set[int] = field(default_factory=set)  # families whose raw sockets failed to open

    @property
    def silent_reason(self) -> str:
        sent = "twice" if self.tries == 2 else f"{self.tries} times"
        return f"filtered: no SYN-ACK within {self.timeout:g} s (sweep, SYN sent {sent})"

    def mark(self, address: str, port: int, bit: int) -> None:
        try:
            shift = self.ports.index(port) * _BITS
        except ValueError:
            return
        self.answers[address] = self.answers.get(address, 0) | (bit << shift)

    def refuse(self, address: str) -> None:
        """The kernel refused a SYN to ``address``: counted, remembered up to MAX_REFUSED."""
        self.unroutable += 1
        if len(self.refused) < MAX_REFUSED:
            self.refused.add(address)

    def syn_ack_ports(self, address: str) -> tuple[int, ...]:
        bits = self.answers.get(address, 0)
        return tuple(p for i, p in enumerate(self.ports) if bits >> (i * _BITS) & _SA)

    @property
    def responders(self) -> int:
        """Addresses with a SYN-ACK on at least one port."""
        mask = sum(_SA << (i * _BITS) for i in range(len(self.ports)))
        return sum(1 for bits in self.answers.values() if bits & mask)


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _canonical6(text: str) -> str:
    return str(ipaddress.IPv6Address(text.split("%", 1)[0]))


def _ports_of(target: Target, ports: tuple[int, ...]) -> tuple[int, ...]:
    """The ports the runner would try (an nmap XML input may have named the open ones)."""
    if target.open_ports:
        return tuple(p for p in ports if p in target.open_ports) or ports
    return ports

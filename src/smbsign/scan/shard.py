"""Splitting a target set into disjoint shards (``scan --shard I/N``; docs/fleet.md).

An address lands in shard ``1 + H(address) mod N``, where ``H`` is the first 8 bytes of a
keyed BLAKE2b (RFC 7693) of the address's canonical text: the same address is in the same
shard whatever the target spec, the file order or the machine, so N jump hosts handed the
same target set scan disjoint parts that together cover it, and nothing is expanded in
memory (each target is tested as it streams past). The key is fixed and public: it only
keeps the split from following the last octet (``x mod N`` would give one shard all the
gateways ``.1``).

The key of a target is its address (``ipaddress`` canonical text, ``%scope`` kept), or its
host name, lower case without the final dot, when it is resolved at probe time. A host
given by name in one list and by address in another is therefore two targets, as it is in
an unsharded scan.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from smbsign.errors import UsageError
from smbsign.scan.target_spec import Target

__all__ = ["MAX_SHARDS", "SHARD_KEY", "Shard", "parse_shard", "shard_of", "target_key"]

SHARD_KEY = b"smbsign-shard-v1"  # changing it re-deals every address: a new version only
MAX_SHARDS = 4096
_SPEC = re.compile(r"^\s*(\d{1,5})\s*/\s*(\d{1,5})\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, target: Target) -> bool:
        return self.count == 1 or shard_of(target_key(target), self.count) == self.index

    def select(self, targets: Iterable[Target]) -> Iterator[Target]:
        """The targets of this shard, in the order given (lazy)."""
        if self.count == 1:
            yield from targets
            return
        count, index, key = self.count, self.index, SHARD_KEY
        blake = hashlib.blake2b
        for target in targets:
            text = target.address
            if text is None:
                text = (target.hostname or "").rstrip(".").lower()
            digest = blake(text.encode("utf-8", "surrogatepass"), digest_size=8, key=key)
            if 1 + int.from_bytes(digest.digest(), "big") % count == index:
                yield target


def parse_shard(text: str) -> Shard:
    """``I/N`` with 1 <= I <= N <= :data:`MAX_SHARDS` (UsageError otherwise, one line)."""
    m = _SPEC.match(text)
    if m is None:
        raise UsageError(f"bad shard {text!r}: use I/N, e.g. 2/8 (shard 2 of 8)")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"bad shard {text!r}: N must be 1 to {MAX_SHARDS:,}")
    if not 1 <= index <= count:
        raise UsageError(f"bad shard {text!r}: I must be 1 to {count}")
    return Shard(index, count)


def target_key(target: Target) -> str:
    """The text an address is dealt by: the address, else the lower-case host name."""
    if target.address is not None:
        return target.address
    return (target.hostname or "").rstrip(".").lower()


def shard_of(key: str, count: int) -> int:
    """The 1-based shard of ``key`` among ``count`` (keyed BLAKE2b, RFC 7693)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, key=SHARD_KEY)
    return 1 + int.from_bytes(digest.digest(), "big") % count

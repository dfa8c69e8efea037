"""``scan --shard I/N``: a deterministic, disjoint, covering split of any target set that
never expands the set in memory (smbsign.scan.shard, through TargetSource)."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbsign.errors import UsageError
from smbsign.scan.shard import MAX_SHARDS, Shard, parse_shard, shard_of
from smbsign.scan.targets import TargetSource

v4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
v6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
names = st.from_regex(r"[a-z]([a-z0-9-]{0,18}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True)


def _keys(source: TargetSource) -> list[str]:
    return [t.address or t.hostname or "" for t in source]


@settings(max_examples=60, deadline=None)
@given(
    addrs=st.lists(st.one_of(v4, v6), min_size=0, max_size=60, unique=True),
    hosts=st.lists(names, max_size=10, unique=True),
    count=st.integers(1, 9),
    seed=st.randoms(use_true_random=False),
)
def test_shards_are_disjoint_cover_and_ignore_order(
    addrs: list[str], hosts: list[str], count: int, seed: object
) -> None:
    specs = addrs + hosts
    whole = set(_keys(TargetSource(specs)))
    shuffled = list(specs)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    parts = [set(_keys(TargetSource(specs, shard=Shard(i, count)))) for i in range(1, count + 1)]
    again = [set(_keys(TargetSource(shuffled, shard=Shard(i, count)))) for i in range(1, count + 1)]
    assert parts == again  # the split follows the address, not its position in the input
    assert set().union(*parts) == whole  # cover
    assert sum(len(p) for p in parts) == len(whole)  # disjoint


@settings(max_examples=15, deadline=None)
@given(start=st.integers(0, 2**32 - 2**10), size=st.integers(1, 512), count=st.integers(2, 7))
def test_a_range_and_its_addresses_one_by_one_split_alike(
    start: int, size: int, count: int
) -> None:
    first = ipaddress.IPv4Address(start)
    last = ipaddress.IPv4Address(start + size - 1)
    one_by_one = _keys(TargetSource([f"{first}-{last}"]))  # special-purpose holes left out
    for i in range(1, count + 1):
        ranged = set(_keys(TargetSource([f"{first}-{last}"], shard=Shard(i, count))))
        listed = set(_keys(TargetSource(one_by_one, shard=Shard(i, count))))
        assert ranged == listed


def test_same_shard_from_a_file_in_reverse_order(tmp_path: Path) -> None:
    addrs = [f"10.9.{i // 256}.{i % 256}" for i in range(2000)]
    (tmp_path / "a.txt").write_text("\n".join(addrs) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(reversed(addrs)) + "\n")
    for i in (1, 2, 3):
        a = _keys(TargetSource(files=[str(tmp_path / "a.txt")], shard=Shard(i, 3)))
        b = _keys(TargetSource(files=[str(tmp_path / "b.txt")], shard=Shard(i, 3)))
        assert sorted(a) == sorted(b) and a
        assert a == sorted(a, key=lambda s: addrs.index(s))  # the order given is kept


def test_the_split_is_balanced_and_not_the_last_octet() -> None:
    keys = [str(ipaddress.IPv4Address(0x0A000000 + i)) for i in range(1 << 16)]
    sizes = [sum(shard_of(k, 8) == i for k in keys) for i in range(1, 9)]
    assert all(abs(n - 8192) < 8192 * 0.05 for n in sizes), sizes
    gateways = {shard_of(f"10.0.{i}.1", 8) for i in range(256)}
    assert gateways == set(range(1, 9))


def test_the_split_is_stable_across_versions() -> None:
    # Pinned values: a change of key or hash would re-deal every fleet's targets.
    pinned = {k: shard_of(k, 16) for k in ("10.0.0.1", "2001:db8::1", "fileserver.corp")}
    assert pinned == {"10.0.0.1": 6, "2001:db8::1": 11, "fileserver.corp": 12}
    assert shard_of("10.0.0.1", 1) == 1


def test_names_split_case_insensitively() -> None:
    for count in (2, 3, 7):
        hits = {
            spelling: [
                i
                for i in range(1, count + 1)
                if list(TargetSource([spelling], shard=Shard(i, count)))
            ]
            for spelling in ("FileServer.Corp.", "fileserver.corp")
        }
        assert len(hits["fileserver.corp"]) == 1
        assert hits["FileServer.Corp."] == hits["fileserver.corp"]


def test_async_iteration_takes_the_same_shard() -> None:
    async def collect(source: TargetSource) -> list[str]:
        return [t.address or "" async for t in source]

    spec = ["192.0.2.0/24", "198.51.100.7", "2001:db8::/120"]
    for i in (1, 2, 3, 4):
        sync = _keys(TargetSource(spec, shard=Shard(i, 4)))
        assert asyncio.run(collect(TargetSource(spec, shard=Shard(i, 4)))) == sync


def test_a_slash_eight_shard_streams_in_constant_memory() -> None:
    source = TargetSource(["10.0.0.0/8"], shard=Shard(3, 4))
    total = source.prepare()
    assert total is not None and 4_000_000 < total < 4_300_000  # the /8 over 4, a hint
    tracemalloc.start()
    try:
        got = sum(1 for _ in itertools.islice(source, 5_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == 5_000
    assert peak < 2_000_000  # the /8 is never expanded


@pytest.mark.parametrize(
    "text", ["", "1", "0/4", "5/4", "1/0", "a/b", "1/4/2", f"1/{MAX_SHARDS + 1}", "-1/4"]
)
def test_bad_shard_specs_are_one_line_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_shard(text)
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad shard")


def test_good_shard_specs() -> None:
    assert parse_shard("2/8") == Shard(2, 8)
    assert parse_shard(" 1 / 1 ") == Shard(1, 1)
    assert str(Shard(3, 12)) == "3/12"

"""Parsers never crash on garbage: arbitrary bytes and mutated valid files give values or
typed errors (``CollectError``), never an exception (issue #3 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from collect_helpers import FIX
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smbsign.collect import COLLECTORS, smbconf
from smbsign.collect.base import CollectResult
from smbsign.collect.walk import disk_loader
from smbsign.model import CollectError, SettingValue

SEEDS = sorted(
    p for p in FIX.rglob("*") if p.is_file() and p.suffix not in (".py", ".md", ".xml")
    and not p.name.startswith(".")
)  # fmt: skip
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(result: CollectResult) -> None:
    assert isinstance(result, CollectResult)
    assert all(isinstance(v, SettingValue) for v in result.values)
    assert all(isinstance(e, CollectError) and e.message for e in result.errors)


@pytest.mark.parametrize("module", COLLECTORS, ids=lambda m: m.KIND)
@given(data=st.binary(max_size=600))
@FUZZ
def test_arbitrary_bytes(module, data):
    module.sniff(data, "x")
    check(module.collect(data, "x", "h"))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Path, bytes]:
    seed = draw(st.sampled_from(SEEDS))
    data = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 32))]
    return seed, bytes(data)


@pytest.mark.parametrize("module", COLLECTORS, ids=lambda m: m.KIND)
@given(case=mutated())
@FUZZ
def test_mutated_valid_files(module, case):
    seed, data = case
    module.sniff(data, seed.name)
    check(module.collect(data, str(seed), "h"))


@given(text=st.text(max_size=300))
@FUZZ
def test_smbconf_text_with_includes(text):
    data = ("[global]\ninclude = " + str(FIX / "smbconf" / "cycle.smb.conf") + "\n" + text).encode()
    check(smbconf.collect(data, str(FIX / "smbconf" / "fuzz.conf"), "h", loader=disk_loader))


def test_seed_corpus_covers_every_collector():
    from smbsign.collect import sniff_kind

    kinds = {m.KIND for p in SEEDS if (m := sniff_kind(p.read_bytes(), p.name)) is not None}
    assert kinds == {m.KIND for m in COLLECTORS}

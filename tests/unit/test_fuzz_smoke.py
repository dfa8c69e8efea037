"""A short run of every fuzz harness (fuzz/run.py, docs/fuzzing.md) without atheris.

Each target gets its seeds and random mutations of them in a plain loop; any exception other
than the target's typed parse error, or an input slower than the time limit, fails the test.
The long coverage-guided campaign (1,000,000 inputs per target) is not run in CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fuzz.run import OUT, main, mutate, plain_fuzz, signature  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402

RUNS = 300


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_smoke(name: str) -> None:
    target = TARGETS[name]
    stats = plain_fuzz(target, RUNS, seed=11)
    assert stats.execs == RUNS
    assert stats.seeds > 0, f"{name}: no seed found in the repository"
    assert not stats.signatures, f"{name}: {stats.signatures}"
    assert stats.hangs == 0


def test_every_parser_of_the_issue_has_a_target() -> None:
    assert set(TARGETS) >= {
        "netbios", "smb2", "smb1", "reg", "gpttmpl", "registrypol", "smbconf", "pwsh_json",
        "hive", "nmap_xml", "nmap_grepable", "masscan_list", "zmap_list", "wazuh_policy",
        "wazuh_export", "hardeningkitty", "tenable_audit", "edca", "snapshot_manifest",
    }  # fmt: skip


def test_every_parser_of_the_domain_view_has_a_target() -> None:
    """What a directory server or SYSVOL returns (fuzz/targets_ad.py, docs/fuzzing.md)."""
    assert set(TARGETS) >= {
        "ad_ber", "ad_search", "ad_gplink", "ad_security", "ad_sysvol", "ad_directory",
    }  # fmt: skip


def test_a_crash_is_reported_with_its_signature() -> None:
    """The runner itself: an unexpected exception is counted, the typed error is not."""

    def harness(data: bytes) -> None:
        if data.startswith(b"B"):
            raise KeyError("boom")
        if data.startswith(b"T"):
            raise ValueError("typed")

    target = TARGETS["netbios"].__class__(
        "toy", harness, (ValueError,), lambda: [b"A", b"B", b"T"], "test", max_len=8
    )
    stats = plain_fuzz(target, 3)
    assert stats.crashes == 1
    [sig] = stats.signatures
    assert re.fullmatch(r"KeyError at test_fuzz_smoke\.py:\d+", sig)
    assert signature(KeyError()) == "KeyError at ?"


def test_mutate_respects_max_len() -> None:
    import random

    rng = random.Random(1)
    assert all(len(mutate(b"x" * 100, rng, [b"y" * 500], 50)) <= 50 for _ in range(200))


def test_out_keeps_a_run_away_from_the_default_directory(tmp_path: Path) -> None:
    """``--out DIR``: a second run writes its summary and crashes under DIR only (a campaign
    may be writing fuzz/out at the same time)."""
    import json

    summary = OUT / "summary.json"
    before = summary.stat().st_mtime_ns if summary.exists() else None
    out = tmp_path / "out-ad"
    assert main(["netbios", "--runs", "20", "--engine", "plain", "--out", str(out)]) == 0
    doc = json.loads((out / "summary.json").read_text("utf-8"))
    assert [t["target"] for t in doc["targets"]] == ["netbios"] and doc["targets"][0]["execs"] == 20
    assert (out / "crashes" / "netbios" / "signatures.json").is_file()
    assert (summary.stat().st_mtime_ns if summary.exists() else None) == before
    assert not list(out.glob(".summary.json.*"))


def test_parallel_workers_split_the_runs_and_add_up() -> None:
    """``--workers N``: the runs are shared out whole, and the figures add back up."""
    from fuzz.run import Stats, merge, shares

    assert shares(1_000_000, 2) == [500_000, 500_000]
    assert shares(661_611, 2) == [330_806, 330_805]
    assert shares(3, 5) == [1, 1, 1]  # never a worker with nothing to do
    assert sum(shares(10_007, 3)) == 10_007
    a = Stats("t", "atheris", 6, execs=4, seconds=9.0, hangs=1, signatures={"E at x:1": 2})
    b = Stats("t", "atheris", 6, execs=2, seconds=5.0, restarts=1, signatures={"E at x:1": 1})
    total = merge([a, b], "t", 6)
    assert (total.execs, total.seconds, total.hangs, total.restarts) == (6, 9.0, 1, 1)
    assert total.signatures == {"E at x:1": 3}


def test_workers_need_the_coverage_guided_engine(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["netbios", "--engine", "plain", "--workers", "2", "--runs", "1"])
    assert exit_.value.code == 2
    assert "--workers" in capsys.readouterr().err

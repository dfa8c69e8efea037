"""Run the fuzz targets of :mod:`fuzz.targets` (issue #11 item 26; docs/fuzzing.md).

Usage::

    .venv/bin/python fuzz/run.py TARGET [TARGET...] --runs N
    .venv/bin/python fuzz/run.py --all --runs 1000000
    .venv/bin/python fuzz/run.py --list
    .venv/bin/python fuzz/run.py ad_ber --runs 1000000 --out fuzz/out-ad

With atheris installed (``pip install -e '.[fuzz]'``) each target runs in its own process
under libFuzzer, coverage-guided, seeded from the repository's fixtures; without it (or with
``--engine plain``) the runner feeds the seeds and random mutations of them in a plain loop
(what the CI smoke test does). Per target it keeps a corpus (``fuzz/out/corpus/TARGET``) and
the crashing inputs (``fuzz/out/crashes/TARGET``), prints one summary line and, at the end, a
JSON document with every count (also written to ``fuzz/out/summary.json``). ``--out DIR``
keeps all of that under ``DIR`` instead of ``fuzz/out``, so that a second run does not touch
the files of a campaign in progress.

A crash is any exception other than the target's typed parse error (saved, counted by
signature, and fuzzing goes on), an input that runs longer than ``--timeout`` seconds, or a
process above ``--rss-limit-mb`` (libFuzzer stops there; the runner restarts the target with
the runs left, up to ``--max-restarts`` times).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "fuzz" / "out"
_INTERESTING = (
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\xff\xff",
    b"\x00\x00\x01\x00",
    b"\xff\xff\xff\x7f",
    b"\xff\xff\xff\xff",
    b"\xfe\xff",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\n",
    b"\\\n",
    b'"',
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"=",
    b":",
    b"%",
    b"1e999",
    b"-1",
    b"99999999999999999999",
)


@dataclass
class Stats:
    """What one target's run measured."""

    target: str
    engine: str
    runs_requested: int
    execs: int = 0
    seconds: float = 0.0
    corpus: int = 0
    seeds: int = 0
    crashes: int = 0  # crashing inputs
    signatures: dict[str, int] = field(default_factory=dict)  # distinct crash -> inputs
    hangs: int = 0
    ooms: int = 0
    restarts: int = 0

    @property
    def exec_per_sec(self) -> float:
        return self.execs / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.target}: {self.execs} execs in {self.seconds:.0f} s "
            f"({self.exec_per_sec:.0f}/s, {self.engine}), corpus {self.corpus}, "
            f"crashes {self.crashes} ({len(self.signatures)} distinct), hangs {self.hangs}, "
            f"ooms {self.ooms}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exec_per_sec": round(self.exec_per_sec, 1)}


# ------------------------------------------------------------------- crash bookkeeping


def signature(exc: BaseException) -> str:
    """``Type at file:line`` of the innermost smbsign frame (else the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/smbsign/" in f.filename.replace("\\", "/")]
    chosen = ours or list(frames)
    where = f"{Path(chosen[-1].filename).name}:{chosen[-1].lineno}" if chosen else "?"
    return f"{type(exc).__name__} at {where}"


class CrashLog:
    """Saves the first input of every distinct crash and counts the rest."""

    def __init__(self, directory: Path, shard: int | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.counts: dict[str, int] = {}
        # parallel workers each keep their own counts: one shared file would lose a worker's
        name = "signatures.json" if shard is None else f"signatures.w{shard}.json"
        self._file = self.dir / name
        self._flushed = time.monotonic()
        if self._file.is_file():
            self.counts = json.loads(self._file.read_text("utf-8"))

    def record(self, exc: BaseException, data: bytes) -> None:
        sig = signature(exc)
        n = self.counts.get(sig, 0) + 1
        self.counts[sig] = n
        if n == 1:
            stem = "crash-" + hashlib.sha1(sig.encode(), usedforsecurity=False).hexdigest()[:12]
            (self.dir / f"{stem}.bin").write_bytes(data)
            text = "".join(traceback.format_exception(exc))
            (self.dir / f"{stem}.txt").write_text(f"{sig}\n\n{text}", "utf-8")
        now = time.monotonic()
        if n & (n - 1) == 0 or now - self._flushed > 1.0:  # current, without a write per input
            self.flush()

    def flush(self) -> None:
        self._flushed = time.monotonic()
        self._file.write_text(json.dumps(self.counts, indent=1, sort_keys=True), "utf-8")


class Hang(Exception):
    """An input ran longer than the time limit (plain engine)."""


def run_input(target: Any, data: bytes) -> None:
    """Run one input; only the target's typed errors are swallowed."""
    with contextlib.suppress(*target.allowed):
        target.harness(data)


# ----------------------------------------------------------------------- plain engine


def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes], max_len: int) -> bytes:
    """A few random byte-level edits of ``data`` (flip, cut, insert, duplicate, splice)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randint(0, len(buf))
        op = rng.randrange(7)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 2:
            del buf[pos : pos + rng.randint(1, 32)]
        elif op == 3:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 4:
            buf[pos:pos] = rng.choice(_INTERESTING)
        elif op == 5:
            start = rng.randint(0, len(buf))
            buf[pos:pos] = buf[start : start + rng.randint(1, 64)]
        elif seeds:
            other = rng.choice(seeds)
            start = rng.randint(0, len(other))
            buf[pos:] = other[start:]
    return bytes(buf[:max_len])


def _inputs(target: Any, seeds: list[bytes], runs: int, rng: random.Random) -> Iterator[bytes]:
    pool = seeds or [b""]
    for i in range(runs):
        if i < len(seeds):
            yield seeds[i][: target.max_len]
        elif i % 16 == 0:
            yield rng.randbytes(rng.randint(0, 64))
        else:
            yield mutate(rng.choice(pool), rng, pool, target.max_len)


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang("input ran longer than the time limit")


def plain_fuzz(
    target: Any, runs: int, *, seed: int = 0, crashes: Path | None = None, timeout: float = 1.0
) -> Stats:
    """Seeds, then random mutations of them: no coverage feedback, no dependencies."""
    seeds = target.seeds()
    stats = Stats(target.name, "plain", runs, seeds=len(seeds), corpus=len(seeds))
    log = CrashLog(crashes) if crashes is not None else None
    rng = random.Random(f"{target.name}:{seed}")  # noqa: S311 - reproducible, not a secret
    use_alarm = hasattr(signal, "setitimer") and _main_thread()
    old = signal.signal(signal.SIGALRM, _alarm) if use_alarm else None
    start = time.perf_counter()
    try:
        for data in _inputs(target, seeds, runs, rng):
            stats.execs += 1
            t0 = time.perf_counter()
            try:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    run_input(target, data)
                finally:
                    if use_alarm:
                        signal.setitimer(signal.ITIMER_REAL, 0)
            except Hang as exc:
                stats.hangs += 1
                _note(stats, log, exc, data)
            except Exception as exc:  # noqa: BLE001 - any other exception is the finding
                _note(stats, log, exc, data)
            else:
                took = time.perf_counter() - t0
                if took > timeout:  # spent in C code the alarm could not interrupt
                    stats.hangs += 1
                    _note(stats, log, Hang(f"input took {took:.1f} s"), data)
    finally:
        if use_alarm:
            signal.signal(signal.SIGALRM, old)
        if log is not None:
            log.flush()
    stats.seconds = time.perf_counter() - start
    return stats


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _note(stats: Stats, log: CrashLog | None, exc: BaseException, data: bytes) -> None:
    stats.crashes += 1
    sig = signature(exc)
    stats.signatures[sig] = stats.signatures.get(sig, 0) + 1
    if log is not None:
        log.record(exc, data)


# --------------------------------------------------------------------- atheris engine


def _worker(
    name: str, argv: list[str], out: Path = OUT, shard: int | None = None
) -> None:  # pragma: no cover
    """Child process: instrument smbsign, then hand control to libFuzzer (never returns)."""
    import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]

    with atheris.instrument_imports(include=["smbsign"]):
        from fuzz.targets import TARGETS

        target = TARGETS[name]
        target.seeds()  # import everything the harness needs while instrumenting
        with contextlib.suppress(Exception):
            run_input(target, b"")
    log = CrashLog(out / "crashes" / name, shard)

    def one(data: bytes) -> None:
        try:
            run_input(target, data)
        except Exception as exc:  # noqa: BLE001 - recorded; fuzzing goes on
            log.record(exc, data)

    atheris.Setup([sys.argv[0], *argv], one)
    atheris.Fuzz()


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_PROGRESS = re.compile(r"^#(\d+)\s", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


def shares(runs: int, workers: int) -> list[int]:
    """``runs`` split as evenly as possible over ``workers`` (the first take the remainder)."""
    workers = max(1, min(workers, runs)) if runs > 0 else 1
    return [runs // workers + (1 if k < runs % workers else 0) for k in range(workers)]


def merge(parts: Sequence[Stats], name: str, runs: int) -> Stats:
    """One target's figures from its parallel workers' (they ran side by side: the time is
    the longest worker's)."""
    total = Stats(name, parts[0].engine if parts else "atheris", runs)
    for part in parts:
        total.execs += part.execs
        total.seconds = max(total.seconds, part.seconds)
        total.hangs += part.hangs
        total.ooms += part.ooms
        total.restarts += part.restarts
        total.crashes += part.crashes
        for sig, n in part.signatures.items():
            total.signatures[sig] = total.signatures.get(sig, 0) + n
    return total


def atheris_fuzz(
    target: Any,
    runs: int,
    *,
    timeout: float,
    rss_limit_mb: int,
    max_time: int | None,
    max_restarts: int,
    out: Path = OUT,
    workers: int = 1,
) -> Stats:
    """``runs`` inputs of libFuzzer over ``target``, in ``workers`` processes that share one
    corpus directory (each reloads the others' finds: libFuzzer ``-reload``)."""
    corpus = out / "corpus" / target.name
    crashes = out / "crashes" / target.name
    logs = out / "logs"
    for d in (corpus, crashes, logs):
        d.mkdir(parents=True, exist_ok=True)
    seeds = target.seeds()
    for data in seeds:  # libFuzzer names units by SHA-1: the same name for the same bytes
        path = corpus / hashlib.sha1(data, usedforsecurity=False).hexdigest()
        if not path.exists():
            path.write_bytes(data[: target.max_len])
    split = shares(runs, workers)
    one = functools.partial(
        _atheris_worker,
        target,
        out=out,
        timeout=timeout,
        rss_limit_mb=rss_limit_mb,
        max_time=max_time,
        max_restarts=max_restarts,
    )
    if len(split) == 1:
        stats = one(runs, shard=None)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(split)) as pool:  # each thread waits on its subprocess
            futures = [pool.submit(one, n, shard=k) for k, n in enumerate(split)]
            stats = merge([f.result() for f in futures], target.name, runs)
    stats.seeds = len(seeds)
    stats.corpus = sum(1 for p in corpus.iterdir() if p.is_file())
    for sig_file in sorted(crashes.glob("signatures*.json")):
        for sig, n in json.loads(sig_file.read_text("utf-8")).items():
            stats.signatures[sig] = stats.signatures.get(sig, 0) + n
            stats.crashes += n
    return stats


def _atheris_worker(
    target: Any,
    runs: int,
    *,
    out: Path,
    shard: int | None,
    timeout: float,
    rss_limit_mb: int,
    max_time: int | None,
    max_restarts: int,
) -> Stats:
    """One libFuzzer process (restarted after a failure) until it has run ``runs`` inputs."""
    stats = Stats(target.name, "atheris", runs)
    corpus = out / "corpus" / target.name
    crashes = out / "crashes" / target.name
    logs = out / "logs"
    start = time.monotonic()
    left = runs
    attempt = 0
    while left > 0:
        argv = [
            f"-runs={left}",
            f"-timeout={max(1, round(timeout))}",
            f"-rss_limit_mb={rss_limit_mb}",
            f"-max_len={target.max_len}",
            f"-artifact_prefix={crashes}/",
            "-print_final_stats=1",
            "-print_pcs=0",
            "-reload=0" if shard is None else "-reload=10",
            str(corpus),
        ]
        if max_time is not None:
            remaining = int(max_time - (time.monotonic() - start))
            if remaining <= 0:
                break
            argv.insert(0, f"-max_total_time={remaining}")
        where = [] if out == OUT else ["--out", str(out)]
        if shard is not None:
            where += ["--shard", str(shard)]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", target.name, *where]
        cmd += argv
        tag = target.name if shard is None else f"{target.name}.w{shard}"
        log_path = logs / f"{tag}.{attempt}.log"
        with log_path.open("wb") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
        text = log_path.read_text("utf-8", "replace")
        stats_found = {k: int(v) for k, v in _STAT.findall(text)}
        done = stats_found.get("number_of_executed_units")
        if done is None:  # killed before the final stats: the last progress line
            progress = [int(n) for n in _PROGRESS.findall(text)]
            done = progress[-1] if progress else 0
        stats.execs += done
        left -= done
        if proc.returncode == 0:
            break
        if "libFuzzer: timeout" in text:
            stats.hangs += 1
        elif "out-of-memory" in text:
            stats.ooms += 1
        else:
            stats.crashes += 1
            stats.signatures[f"exit {proc.returncode} (see {log_path.name})"] = 1
        attempt += 1
        stats.restarts = attempt
        if attempt > max_restarts or done == 0:
            break
    stats.seconds = time.monotonic() - start
    return stats


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--worker"]:  # pragma: no cover - child process
        rest = args[2:]
        out, shard = OUT, None
        if rest[:1] == ["--out"]:
            out, rest = Path(rest[1]), rest[2:]
        if rest[:1] == ["--shard"]:
            shard, rest = int(rest[1]), rest[2:]
        _worker(args[1], rest, out, shard)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="target names (see --list)")
    parser.add_argument("--all", action="store_true", help="every target, one after another")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--runs", type=int, default=10_000, help="inputs per target")
    parser.add_argument("--engine", choices=("auto", "atheris", "plain"), default="auto")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per input")
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    parser.add_argument("--max-time", type=int, help="seconds per target (atheris)")
    parser.add_argument("--max-restarts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="random seed (plain engine)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="libFuzzer processes per target sharing its corpus (atheris; the runs are split)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="directory for the corpus, crashes, logs and summary.json (default fuzz/out)",
    )
    opts = parser.parse_args(args)

    from fuzz.targets import TARGETS

    if opts.list:
        for t in TARGETS.values():
            print(f"{t.name:18} allowed: {', '.join(e.__name__ for e in t.allowed) or 'none'}")
        return 0
    names = list(TARGETS) if opts.all else opts.targets
    unknown = [n for n in names if n not in TARGETS]
    if not names or unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}" if unknown else "no target")
    engine = opts.engine
    if engine == "auto":
        engine = "atheris" if _have_atheris() else "plain"
    if opts.workers < 1 or (opts.workers > 1 and engine != "atheris"):
        parser.error("--workers takes a count of 1 or more, and more than 1 needs atheris")
    results = []
    for name in names:
        target = TARGETS[name]
        if engine == "atheris":
            stats = atheris_fuzz(
                target,
                opts.runs,
                timeout=opts.timeout,
                rss_limit_mb=opts.rss_limit_mb,
                max_time=opts.max_time,
                max_restarts=opts.max_restarts,
                out=opts.out.resolve(),
                workers=opts.workers,
            )
        else:
            stats = plain_fuzz(
                target,
                opts.runs,
                seed=opts.seed,
                crashes=opts.out / "crashes" / name,
                timeout=opts.timeout,
            )
        results.append(stats)
        print(stats.line(), flush=True)
    summary = {
        "command": " ".join([Path(sys.executable).name, "fuzz/run.py", *args]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, {_machine()}",
        "python": sys.version.split()[0],
        "targets": [s.to_dict() for s in results],
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    tmp = opts.out / f".summary.json.{os.getpid()}"
    tmp.write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    tmp.replace(opts.out / "summary.json")  # a reader never sees half a summary
    print(json.dumps(summary, indent=2))
    return 1 if any(s.crashes or s.hangs or s.ooms for s in results) else 0


def _machine() -> str:
    import platform

    return f"{platform.machine()} {platform.system()} {platform.release()}"


if __name__ == "__main__":
    sys.exit(main())

"""Start-up time of `smbsign --help`, `--version` and `controls`, vs the previous release.

Run from the repository: ``.venv/bin/python bench/startup_bench.py`` (``--help``). Never in CI.

Each command runs as a whole process (interpreter start, imports, work, exit), ``--runs``
times (default 20), and the bench reports the median, minimum and maximum wall time and the
median CPU time (user + system of the child, from ``getrusage``). The previous release is
measured in the same run, interleaved with the current tree: its ``src/`` is exported with
``git archive`` (default: the parent of the first commit that touched ``src/smbsign/cli/lazy.py``,
the one that made subcommands load lazily) into a temporary directory and run with
``PYTHONPATH`` pointing there, in the same venv; the current tree runs with ``PYTHONPATH=src``.
``--baseline HEAD`` compares the work tree with the last commit (before/after a change, in
the same sitting).
The previous release had no ``--version`` option, so its row for ``--version`` runs
``smbsign version`` (the only way it had).

Then each command runs once more under ``python -X importtime`` per tree, and the bench lists
the top-level imports with the largest cumulative time (these are wall times of one run, so
noisy on a loaded machine; the ranking is what to read).

Wall time depends on what else the machine runs: the report states the load average before
and after and the number of CPUs. CPU time is far less sensitive to load and is the better
estimate of the wall time on an idle machine. Results: stdout (Markdown), and with ``--out
DIR`` also ``startup.md`` and ``startup.json`` there. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAZY = "src/smbsign/cli/lazy.py"
# The console script (``smbsign = smbsign.cli:main``), as a -c program.
ENTRY = "import sys; sys.argv[0] = 'smbsign'; from smbsign.cli import main; sys.exit(main())"
COMMANDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (label, argv in the current tree, argv in the previous release)
    ("smbsign --help", ("--help",), ("--help",)),
    ("smbsign --version", ("--version",), ("version",)),
    ("smbsign controls", ("controls",), ("controls",)),
)


@dataclass(frozen=True, slots=True)
class Row:
    """The figures of one command in one tree."""

    tree: str
    command: str
    argv: tuple[str, ...]
    runs: int
    wall_median: float
    wall_min: float
    wall_max: float
    cpu_median: float
    exit_codes: tuple[int, ...]
    imports: tuple[tuple[str, float], ...]  # top-level module, cumulative ms (one run)
    import_total_ms: float


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def baseline_rev() -> str:
    """The parent of the first commit that touched ``cli/lazy.py`` (before the lazy CLI)."""
    first = _git("log", "--format=%H", "--reverse", "--", LAZY).splitlines()[0]
    return _git("rev-parse", f"{first}^")


def export_src(rev: str, into: Path) -> Path:
    """``git archive REV src`` unpacked under ``into``; returns its ``src`` directory."""
    tar = into / "src.tar"
    with tar.open("wb") as fh:
        subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", rev, "src"], check=True, stdout=fh
        )
    with tarfile.open(tar) as tf:
        tf.extractall(into, filter="data")
    tar.unlink()
    return into / "src"


def _env(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(src)
    env["COLUMNS"] = "100"
    env.pop("SMBSIGN_DEBUG", None)
    return env


def run_once(src: Path, argv: tuple[str, ...]) -> tuple[float, float, int]:
    """(wall s, child CPU s, exit code) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY, *argv],
        env=_env(src),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def import_profile(
    src: Path, argv: tuple[str, ...], top: int
) -> tuple[list[tuple[str, float]], float]:
    """Top-level imports by cumulative time (ms) from one ``-X importtime`` run, and the total."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", ENTRY, *argv],
        env=_env(src),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    rows: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.removeprefix("import time:").split("|")
        if name[1:].startswith(" "):  # nested: counted in its top-level parent
            continue
        rows.append((name.strip(), int(cumulative) / 1000))
    total = sum(ms for _, ms in rows)
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:top], total


def _where(src: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import smbsign; print(smbsign.__file__)"],
        env=_env(src),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def measure(trees: dict[str, Path], runs: int, top: int) -> list[Row]:
    """Every command in every tree, ``runs`` times, interleaved; then one importtime run each."""
    samples: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    plan = [
        (tree, label, argv if tree == "current" else old)
        for label, argv, old in COMMANDS
        for tree in trees
    ]
    for tree, _label, argv in plan:  # warm-up: page cache, .pyc files
        run_once(trees[tree], argv)
    for _ in range(runs):
        for tree, label, argv in plan:
            samples.setdefault((tree, label), []).append(run_once(trees[tree], argv))
    out = []
    for tree, label, argv in plan:
        got = samples[(tree, label)]
        walls = [w for w, _, _ in got]
        imports, total = import_profile(trees[tree], argv, top)
        out.append(
            Row(
                tree=tree,
                command=label,
                argv=argv,
                runs=len(got),
                wall_median=statistics.median(walls),
                wall_min=min(walls),
                wall_max=max(walls),
                cpu_median=statistics.median(c for _, c, _ in got),
                exit_codes=tuple(sorted({rc for _, _, rc in got})),
                imports=tuple(imports),
                import_total_ms=total,
            )
        )
    return out


def _ms(s: float) -> str:
    return f"{s * 1000:.0f}"


def render(rows: list[Row], meta: dict[str, object]) -> str:
    """The Markdown report."""
    lines = [
        f"# smbsign start-up ({meta['when']})",
        "",
        f"{meta['platform']}, Python {meta['python']}, {meta['cpus']} CPUs; load average "
        f"{meta['load_before']} before, {meta['load_after']} after. Whole process, "
        f"{meta['runs']} runs each (interleaved), times in ms. Previous: "
        f"`{meta['baseline']}` ({meta['baseline_note']}); current: `{meta['current']}`.",
        "",
        "| command | tree | argv | wall median | min | max | CPU median | exit |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.command} | {r.tree} | `{' '.join(r.argv)}` | {_ms(r.wall_median)} | "
            f"{_ms(r.wall_min)} | {_ms(r.wall_max)} | {_ms(r.cpu_median)} | "
            f"{','.join(map(str, r.exit_codes))} |"
        )
    by = {(r.tree, r.command): r for r in rows}
    if any(r.tree == "previous" for r in rows):
        lines += [
            "",
            "| command | previous / current (wall median) | (CPU median) |",
            "|---|---:|---:|",
        ]
        for label, _, _ in COMMANDS:
            old, new = by[("previous", label)], by[("current", label)]
            lines.append(
                f"| {label} | {old.wall_median / new.wall_median:.2f}x | "
                f"{old.cpu_median / new.cpu_median:.2f}x |"
            )
    lines += ["", "## Top-level imports by cumulative time (`-X importtime`, one run, ms)", ""]
    for r in rows:
        tops = ", ".join(f"{name} {ms:.0f}" for name, ms in r.imports)
        lines.append(f"- {r.command} ({r.tree}), {r.import_total_ms:.0f} in all: {tops}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command and tree")
    parser.add_argument("--baseline", help="git revision of the previous release (default: auto)")
    parser.add_argument("--no-baseline", action="store_true", help="measure the current tree only")
    parser.add_argument("--top", type=int, default=8, help="imports listed per command")
    parser.add_argument("--out", type=Path, help="also write startup.md and startup.json here")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    load_before = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="smbsign-startup-") as tmp:
        trees = {"current": REPO / "src"}
        base = "-"
        if not args.no_baseline:
            base = args.baseline or baseline_rev()
            trees["previous"] = export_src(base, Path(tmp))
        for tree, src in trees.items():
            where = _where(src)
            if not where.startswith(str(src)):
                sys.exit(f"{tree}: smbsign imports from {where}, not from {src}")
        rows = measure(trees, args.runs, args.top)
    meta: dict[str, object] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "platform": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()),
        "runs": args.runs,
        "baseline": base[:12],
        "baseline_note": "--baseline" if args.baseline else "before the lazy CLI",
        "current": _git("rev-parse", "--short=12", "HEAD") + " + work tree",
    }
    text = render(rows, meta)
    sys.stdout.write(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "startup.md").write_text(text, encoding="utf-8")
        doc = {"meta": meta, "rows": [asdict(r) for r in rows]}
        (args.out / "startup.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

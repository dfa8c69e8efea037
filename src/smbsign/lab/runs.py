"""Lab runs on this machine: their names, whether a lab can be built, and the leftovers of
dead runs (docs/lab.md).

A run's namespaces and work directories are named ``sslab-<pid>-<ticks>-<n>-...``: the
owner's pid and process start time (proc(5) ``stat`` field 22) tell a dead run's leftovers
from a live run's, so :func:`cleanup_stale` removes only those, and parallel runs never
collide.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from smbsign.errors import LabError
from smbsign.lab import netns

__all__ = [
    "PREFIX",
    "cleanup_stale",
    "lab_unavailable_reason",
    "run_name",
    "smbsign_argv",
    "start_ticks",
]

PREFIX = "sslab-"
_NAME_RE = re.compile(r"^sslab-(\d+)-(\d+)-\d+-")
_counter = itertools.count()


def run_name() -> str:
    """A new run's name: ``sslab-<pid>-<start ticks>-<n>`` (unique in this process)."""
    pid = os.getpid()
    return f"{PREFIX}{pid}-{start_ticks(pid)}-{next(_counter)}"


def start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks since boot (proc(5) stat field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def lab_unavailable_reason() -> str | None:
    """Why no lab can be built here (one line), or None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces); run with sudo"
    for tool in ("ip", "smbd", "nft", "sysctl"):
        if shutil.which(tool) is None:
            return f"{tool} not found (run scripts/bootstrap)"
    probe = f"{run_name()}-probe"
    try:
        netns.add_namespace(probe)
    except LabError as exc:
        return f"cannot create network namespaces: {exc}"
    finally:
        with contextlib.suppress(LabError):
            netns.delete_namespace(probe)
    return None


def cleanup_stale() -> list[str]:
    """Delete namespaces and work directories left by lab runs whose process is gone."""
    removed: list[str] = []
    for name in netns.list_namespaces():
        match = _NAME_RE.match(name)
        if match and start_ticks(int(match.group(1))) != int(match.group(2)):
            netns.delete_namespace(name)
            removed.append(name)
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        match = _NAME_RE.match(path.name + "-")
        if match and path.is_dir() and start_ticks(int(match.group(1))) != int(match.group(2)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


def smbsign_argv() -> list[str]:
    """How to start this smbsign from inside a namespace (the venv's console script)."""
    script = Path(sys.executable).parent / "smbsign"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from smbsign.cli import main; main()"]


class StartedOnEnter:
    """``with`` over ``start()`` / ``close()`` for the labs (:class:`Lab`, the AD DC lab):
    ``close()`` always runs on exit, and a :class:`LabError` from it is raised only when the
    block itself did not fail (the first failure is the one to see)."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except LabError:
            if exc is None:
                raise

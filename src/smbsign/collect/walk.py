"""Reading, recognising and walking evidence files (issue #3 item 3; docs/collectors.md).

Recognition is by content: each collector's ``sniff`` is tried in the order of
:data:`COLLECTORS` (strongest signature first); the file name is only a tie-breaker inside
some sniffers. Host naming: an explicit ``host`` wins; otherwise a directory argument's own
name names every file under it, and a single file's stem names its host; a host named inside
the evidence (``PSComputerName``/``CSName`` in PowerShell JSON) overrides a derived name and
splits a multi-host file into one result per host.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from smbsign.collect import (
    gpttmpl,
    hive,
    pwsh_json,
    regfile,
    registrypol,
    secedit,
    smbconf,
    winreg_local,
)
from smbsign.collect.base import CollectResult, failed

#: Wiring table, in sniff priority order.
COLLECTORS: tuple[ModuleType, ...] = (
    hive,
    registrypol,
    regfile,
    gpttmpl,
    secedit,
    winreg_local,
    pwsh_json,
    smbconf,
)
MAX_DEPTH = 16
MAX_FILE_BYTES = 16 * 2**20


def sniff_kind(data: bytes, name: str) -> ModuleType | None:
    """The first collector whose ``sniff`` accepts ``data``."""
    for module in COLLECTORS:
        if module.sniff(data, name):
            return module
    return None


def disk_loader(target: str, including: str) -> tuple[str, bytes]:
    """Read an smb.conf ``include`` from disk (relative to the including file)."""
    path = Path(target)
    if not path.is_absolute():
        path = Path(including).parent / path
    resolved = path.resolve()
    st = resolved.stat()
    if not stat.S_ISREG(st.st_mode):  # /dev/zero would never end, a FIFO never answer
        raise OSError(errno.EINVAL, "not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise OSError(errno.EFBIG, "file too large")
    with resolved.open("rb") as handle:  # bounded even if the file grows meanwhile
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(errno.EFBIG, "file too large")
    return str(resolved), data


def _read(path: Path, host: str, max_bytes: int) -> bytes | CollectResult:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read forever
            return failed(host, str(path), "io", "not a regular file (FIFO, device or socket)")
        size = st.st_size
        if size > max_bytes:  # registry hives may be larger (hive.MAX_HIVE_BYTES)
            with path.open("rb") as handle:
                if hive.sniff(handle.read(4), path.name):
                    max_bytes = max(max_bytes, hive.MAX_HIVE_BYTES)
        if size > max_bytes:
            return failed(
                host, str(path), "io", f"file is {size} bytes, over the {max_bytes} limit"
            )
        with path.open("rb") as handle:  # read(n) allocates n bytes up front: ask for no more
            return handle.read(min(size, max_bytes) + 1)[:max_bytes]
    except OSError as exc:
        return failed(host, str(path), "io", f"cannot read: {exc.strerror or exc}")


def _dispatch(data: bytes, path: Path, host: str) -> list[tuple[str, CollectResult]]:
    module = sniff_kind(data, path.name)
    if module is None:
        return [(host, failed(host, str(path), "unknown", "unrecognised evidence file type"))]
    if module is pwsh_json:
        return pwsh_json.collect_hosts(data, str(path), host)
    if module is smbconf:
        return [(host, smbconf.collect(data, str(path), host, loader=disk_loader))]
    result: CollectResult = module.collect(data, str(path), host)
    return [(host, result)]


def collect_file(path: Path, host: str, *, max_bytes: int = MAX_FILE_BYTES) -> CollectResult:
    """Read, recognise and collect one file; never raises."""
    data = _read(path, host, max_bytes)
    if isinstance(data, CollectResult):
        return data
    parts = _dispatch(data, path, host)
    if len(parts) == 1:
        return parts[0][1]
    facts = [r.facts for _, r in parts if r.facts is not None]
    return CollectResult(
        values=tuple(v for _, r in parts for v in r.values),
        facts=facts[0] if len(facts) == 1 else None,
        errors=tuple(e for _, r in parts for e in r.errors),
    )


def _rehost(result: CollectResult, host: str) -> CollectResult:
    return CollectResult(
        values=tuple(replace(v, host=host) for v in result.values),
        facts=replace(result.facts, host=host) if result.facts else None,
        errors=tuple(replace(e, host=host) for e in result.errors),
    )


def _walk(root: Path, depth: int, seen: set[tuple[int, int]]) -> Iterator[Path]:
    """Files under ``root`` in sorted order; bounded depth, no symlink loops, no dotfiles."""
    try:
        st = root.stat()
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    if (st.st_dev, st.st_ino) in seen:
        return
    seen.add((st.st_dev, st.st_ino))
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if depth < MAX_DEPTH:
                yield from _walk(Path(entry.path), depth + 1, seen)
        else:  # special files and broken links too: :func:`_read` reports them
            yield Path(entry.path)


def _file_results(
    path: Path, derived: str, explicit: str | None
) -> list[tuple[str, CollectResult]]:
    data = _read(path, derived, MAX_FILE_BYTES)
    if isinstance(data, CollectResult):
        return [(explicit or derived, data)]
    parts = _dispatch(data, path, derived)
    if explicit is not None and len({h for h, _ in parts}) == 1:
        return [(explicit, _rehost(r, explicit)) for _, r in parts]
    return parts


def collect_paths(paths: Iterable[Path], host: str | None) -> Iterator[tuple[str, CollectResult]]:
    """``(host, result)`` for every evidence file named or found under a named directory."""
    seen: set[tuple[int, int]] = set()
    for arg in paths:
        if arg.is_dir():
            derived = host or arg.resolve().name or "localhost"
            found = False
            for path in _walk(arg, 0, seen):
                found = True
                yield from _file_results(path, derived, host)
            if not found:  # an audit of nothing must not look like a clean audit
                yield (
                    host or derived,
                    failed(
                        host or derived,
                        str(arg),
                        "io",
                        "no evidence file in this directory (names starting with '.' are skipped)",
                    ),
                )
        else:
            yield from _file_results(arg, host or arg.stem or arg.name, host)

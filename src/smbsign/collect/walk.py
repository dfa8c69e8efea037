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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
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
    testparm,
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
#: Skipped entries listed one by one in a walk's notes; the rest are counted.
MAX_SKIP_NOTES = 10
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


def rooted_loader(root: Path) -> smbconf.Loader:
    """:func:`disk_loader` that never leaves ``root`` (resolved): an include of offline
    evidence names a file of the audited host, not of this machine (#11 item 4)."""
    top = root.resolve()

    def load(target: str, including: str) -> tuple[str, bytes]:
        path = Path(target)
        if not path.is_absolute():
            path = Path(including).parent / path
        resolved = path.resolve()
        if resolved != top and top not in resolved.parents:
            raise OSError(errno.EPERM, f"leads outside the evidence directory {top}")
        return disk_loader(str(resolved), including)

    return load


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


#: (key, value) registry pairs an offline hive is read for (:func:`hive.collect`).
Wanted = Sequence[tuple[str, str]]


def _dispatch(
    data: bytes,
    path: Path,
    host: str,
    *,
    lint: bool = True,
    root: Path | None = None,
    wanted: Wanted = (),
) -> list[tuple[str, CollectResult]]:
    module = sniff_kind(data, path.name)
    if module is None:
        return [(host, failed(host, str(path), "unknown", "unrecognised evidence file type"))]
    if module is pwsh_json:
        return pwsh_json.collect_hosts(data, str(path), host)
    if module is smbconf:
        loader = disk_loader if root is None else rooted_loader(root)
        conf = smbconf.collect(data, str(path), host, loader=loader)
        if lint:  # offline evidence: what the real testparm says of it becomes notes
            conf = replace(conf, notes=conf.notes + testparm.offline_notes(data))
        return [(host, conf)]
    if module is hive:
        return [(host, hive.collect(data, str(path), host, wanted=wanted))]
    result: CollectResult = module.collect(data, str(path), host)
    return [(host, result)]


def collect_file(
    path: Path,
    host: str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    lint: bool = True,
    wanted: Wanted = (),
) -> CollectResult:
    """Read, recognise and collect one file; never raises. ``lint``: cross-check an
    smb.conf with the real testparm (:func:`smbsign.collect.testparm.offline_notes`);
    ``wanted``: the registry values a hive is read for."""
    data = _read(path, host, max_bytes)
    if isinstance(data, CollectResult):
        return data
    parts = _dispatch(data, path, host, lint=lint, wanted=wanted)
    if len(parts) == 1:
        return parts[0][1]
    facts = [r.facts for _, r in parts if r.facts is not None]
    return CollectResult(
        values=tuple(v for _, r in parts for v in r.values),
        facts=facts[0] if len(facts) == 1 else None,
        errors=tuple(e for _, r in parts for e in r.errors),
        notes=tuple(n for _, r in parts for n in r.notes),
    )


def _rehost(result: CollectResult, host: str) -> CollectResult:
    return CollectResult(
        values=tuple(replace(v, host=host) for v in result.values),
        facts=replace(result.facts, host=host) if result.facts else None,
        errors=tuple(replace(e, host=host) for e in result.errors),
        notes=result.notes,
    )


@dataclass
class _Walk:
    """State of one walk: the resolved root it must not leave, what was seen and skipped."""

    root: Path
    seen: set[tuple[int, int]] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    def skip(self, path: str, why: str) -> None:
        self.skipped.append(f"{path}: {why}")

    def inside(self, target: Path) -> bool:
        return target == self.root or self.root in target.parents

    def notes(self) -> tuple[str, ...]:
        """At most :data:`MAX_SKIP_NOTES` skipped entries, then how many more."""
        shown = [f"skipped {s}" for s in self.skipped[:MAX_SKIP_NOTES]]
        more = len(self.skipped) - MAX_SKIP_NOTES
        if more > 0:
            shown.append(f"and {more} more entries skipped under {self.root}")
        return tuple(shown)


def _link_target(entry: os.DirEntry[str], walk: _Walk) -> Path | None:
    """The file a symlink names when it is a file inside the root, else None (noted)."""
    try:
        target = Path(os.path.realpath(entry.path, strict=False))
    except (OSError, RuntimeError, ValueError):
        walk.skip(entry.path, "symlink that cannot be resolved")
        return None
    if not walk.inside(target):
        walk.skip(entry.path, f"symlink to {target}, outside {walk.root}: not followed")
        return None
    if target.is_dir():
        walk.skip(entry.path, "symlink to a directory (not followed; walked where it is)")
        return None
    return Path(entry.path)  # a broken link inside the root is reported by :func:`_read`


def _entries(entries: Iterable[os.DirEntry[str]]) -> Iterator[tuple[os.DirEntry[str], bool, bool]]:
    """``(entry, is_symlink, is_real_directory)`` of entries not starting with ``.``."""
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            is_link = entry.is_symlink()
            yield entry, is_link, not is_link and entry.is_dir(follow_symlinks=False)
        except OSError:
            continue


def _walk(directory: Path, depth: int, walk: _Walk) -> Iterator[Path]:
    """Files under ``directory`` in sorted order, never outside ``walk.root``.

    Directory symlinks are never followed (a target inside the root is walked where it lies;
    one outside is not evidence of this host); a file symlink is read only when it resolves
    inside the root, and every file once (by device and inode). Depth is bounded; names
    starting with ``.`` are skipped.
    """
    try:
        st = directory.stat()
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    if (st.st_dev, st.st_ino) in walk.seen:
        return
    walk.seen.add((st.st_dev, st.st_ino))
    for entry, is_link, is_dir in _entries(entries):
        if is_dir:
            if depth < MAX_DEPTH:
                yield from _walk(Path(entry.path), depth + 1, walk)
            else:
                walk.skip(entry.path, f"deeper than {MAX_DEPTH} levels")
            continue
        path = _link_target(entry, walk) if is_link else Path(entry.path)
        if path is None:
            continue
        try:
            fst = path.stat()
        except OSError:  # broken link, vanished file: :func:`_read` reports it
            yield path
            continue
        if stat.S_ISREG(fst.st_mode):
            if (fst.st_dev, fst.st_ino) in walk.seen:
                continue  # the same file under a second name (a link inside the root)
            walk.seen.add((fst.st_dev, fst.st_ino))
        yield path  # special files too: :func:`_read` reports them


def _file_results(
    path: Path, derived: str, explicit: str | None, root: Path | None, wanted: Wanted
) -> list[tuple[str, CollectResult]]:
    """Results of one file; ``root`` bounds what an smb.conf include may read (default: the
    file's own directory)."""
    data = _read(path, derived, MAX_FILE_BYTES)
    if isinstance(data, CollectResult):
        return [(explicit or derived, data)]
    parts = _dispatch(data, path, derived, root=root or path.absolute().parent, wanted=wanted)
    if explicit is not None and len({h for h, _ in parts}) == 1:
        return [(explicit, _rehost(r, explicit)) for _, r in parts]
    return parts


def _collect_dir(
    arg: Path, root: Path, derived: str, host: str | None, wanted: Wanted
) -> Iterator[tuple[str, CollectResult]]:
    """Every file under ``arg`` (resolved ``root``) as evidence of ``host`` or ``derived``."""
    walk = _Walk(root)
    found = False
    for path in _walk(arg, 0, walk):  # paths as given; links checked against ``root``
        found = True
        yield from _file_results(path, derived, host, root, wanted)
    name = host or derived
    if not found:  # an audit of nothing must not look like a clean audit
        why = "no evidence file in this directory (names starting with '.' are skipped"
        why += f"; {len(walk.skipped)} entries skipped: {walk.skipped[0]})" if walk.skipped else ")"
        yield (name, failed(name, str(arg), "io", why))
    elif walk.skipped:
        yield (name, CollectResult(notes=walk.notes()))


def _host_dirs(arg: Path, host: str | None, wanted: Wanted) -> Iterator[tuple[str, CollectResult]]:
    """``--host-per-dir``: each immediate subfolder of ``arg`` is one host named after it;
    files directly in ``arg`` are single-file evidence (named by their stem)."""
    root = arg.resolve()
    walk = _Walk(root)
    hosts = 0
    try:
        entries = sorted(os.scandir(arg), key=lambda e: e.name)
    except OSError as exc:
        name = host or root.name or "localhost"
        yield (name, failed(name, str(arg), "io", f"cannot list: {exc.strerror or exc}"))
        return
    for entry, is_link, is_dir in _entries(entries):
        if is_dir:
            hosts += 1
            yield from _collect_dir(Path(entry.path), root / entry.name, entry.name, None, wanted)
            continue
        path = _link_target(entry, walk) if is_link else Path(entry.path)
        if path is not None:
            hosts += 1
            yield from _file_results(path, path.stem or path.name, None, None, wanted)
    name = root.name or "localhost"
    if hosts == 0:
        yield (name, failed(name, str(arg), "io", "no host folder or evidence file in it"))
    elif walk.skipped:
        yield (name, CollectResult(notes=walk.notes()))


def collect_paths(
    paths: Iterable[Path], host: str | None, *, host_per_dir: bool = False, wanted: Wanted = ()
) -> Iterator[tuple[str, CollectResult]]:
    """``(host, result)`` for every evidence file named or found under a named directory.

    A directory is walked without leaving it (:func:`_walk`); what was skipped comes back as
    ``notes`` of a result of its host. With ``host_per_dir`` each immediate subfolder of a
    directory argument is its own host (``host`` must then be None). ``wanted``: the
    registry values an offline hive is read for (the caller's catalog decides them).
    """
    for arg in paths:
        if arg.is_dir() and host_per_dir:
            yield from _host_dirs(arg, host, wanted)
        elif arg.is_dir():
            root = arg.resolve()
            yield from _collect_dir(arg, root, host or root.name or "localhost", host, wanted)
        else:
            yield from _file_results(arg, host or arg.stem or arg.name, host, None, wanted)

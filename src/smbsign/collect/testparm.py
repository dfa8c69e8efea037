"""Effective Samba configuration through the real ``testparm``, docs/reference.md §4.3 and §4.4.

Runs ``testparm -s -v <conf>`` once (every global parameter, defaults included, canonical
names) instead of one ``--parameter-name`` call per parameter, and parses **stdout only**
with the smb.conf reader. Exit status 1 means "config invalid" (an invalid value makes
testparm print nothing): that is an error, never "default". testparm prints the configured
enum (``default`` on an AD DC that requires signing), so the engine derives the effective
signing from ``samba:server role`` (docs/reference.md §3.3). Values: kind ``testparm``, layer
``effective``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from smbsign.codecs.smbconf import canonical_name, logical_lines
from smbsign.codecs.text import decode_text
from smbsign.collect import smbconf
from smbsign.collect.base import CollectResult, failed
from smbsign.errors import ParseError
from smbsign.model import Layer, Provenance

KIND = "testparm"
TIMEOUT_S = 30.0
_VERSION = re.compile(r"Version\s+(\S+)")


def find_testparm() -> str | None:
    return shutil.which("testparm")


def _run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(args, capture_output=True, timeout=TIMEOUT_S, check=False, env=env)


def samba_version(testparm: str | None = None) -> str | None:
    """``4.17.12-Debian`` from ``testparm --version``; None when unknown."""
    exe = testparm or find_testparm()
    if exe is None:
        return None
    try:
        out = _run([exe, "--version"]).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return None
    m = _VERSION.search(out)
    return m.group(1) if m else None


def _applied_include(target: str, including: str) -> tuple[str, bytes]:
    """Loader for testparm output: an include there was already applied (empty content)."""
    return f"testparm-applied:{target}", b""


def effective_samba(conf_path: Path, host: str, *, testparm: str | None = None) -> CollectResult:
    """Every global parameter as testparm resolves it; never raises."""
    path = str(conf_path)
    exe = testparm or find_testparm()
    if exe is None:
        return failed(host, path, KIND, "testparm not found (install samba-common-bin)")
    try:
        proc = _run([exe, "-s", "-v", path])
    except subprocess.TimeoutExpired:
        return failed(host, path, KIND, f"testparm timed out after {TIMEOUT_S:.0f} s")
    except OSError as exc:
        return failed(host, path, KIND, f"testparm could not run: {exc.strerror or exc}")
    if proc.returncode != 0 or not proc.stdout.strip():
        warning = next(
            (ln for ln in proc.stderr.decode("utf-8", "replace").splitlines()
             if ln.startswith(("WARNING", "Error", "ERROR", "Can't", "Unable"))),
            "",
        )  # fmt: skip
        detail = f": {warning.strip()[:200]}" if warning else ""
        return failed(host, path, KIND, f"config invalid (testparm exit {proc.returncode}){detail}")
    # testparm has already applied every include; its dump still lists `include = X`, which
    # must read as nothing (not as an unfollowed include, and never be read twice).
    parsed = smbconf.collect(proc.stdout, path, host, loader=_applied_include)
    values = tuple(
        replace(v, provenance=Provenance(KIND, path, f"testparm -s -v {v.provenance.location}",
                                         Layer.EFFECTIVE))
        for v in parsed.values
    )  # fmt: skip
    facts = parsed.facts
    if facts is not None:
        version = samba_version(exe)
        facts = replace(facts, samba_version=version, sources=(f"testparm {path}",))
    errors = tuple(replace(e, kind=KIND) for e in parsed.errors)
    return CollectResult(values=values, facts=facts, errors=errors)


# ------------------------------------------------------------- offline files (#11 item 12)

#: Parameters that make testparm read another file or store of *this* machine; an offline
#: file's copy given to testparm has them commented out (smb.conf(5) include, config file,
#: config backend).
_READS_ELSEWHERE = frozenset({"include", "config file", "config backend"})
LINT_TIMEOUT_S = 10.0
MAX_LINT_NOTES = 10
_STDERR_LIMIT = 64 * 1024
_CHATTER = (
    "Load smb config files from",
    "Loaded services file OK",
    "Weak crypto is allowed",
    "Server role:",
    "Press enter",
)


def _without_other_files(data: bytes) -> tuple[str, int]:
    """The file as testparm may read it: logical lines, those that name other files
    commented out; and how many were. Raises :class:`ParseError` when it is not text."""
    out: list[str] = []
    dropped = 0
    for number, line in logical_lines(decode_text(data)):
        name, sep, _ = line.partition("=")
        if sep and line[:1] not in ";#" and canonical_name(name) in _READS_ELSEWHERE:
            out.append(f"# line {number}: not given to testparm")
            dropped += 1
        else:
            out.append(line)
    return "\n".join(out) + "\n", dropped


def _printable(line: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in line.strip())[:200]


def offline_notes(data: bytes, *, exe: str | None = None) -> tuple[str, ...]:
    """What the real ``testparm -s`` says of an offline smb.conf, as notes (never raises).

    The file is a copy in a private temporary directory without its ``include``, ``config
    file`` and ``config backend`` lines (they would read files of this machine, not of the
    audited host, and an untrusted file must not make testparm read them); testparm only
    reads. Its standard error is kept (at most 64 KiB, :data:`MAX_LINT_NOTES` lines, control
    characters replaced), its standard output (the dump) is discarded; it runs at most
    :data:`LINT_TIMEOUT_S` seconds. The values stay those of the smb.conf reader: testparm on
    this machine does not know the audited host's Samba version or files.
    """
    exe = exe or find_testparm()
    if exe is None:
        return ("not cross-checked with testparm (not installed; install samba-common-bin)",)
    try:
        text, dropped = _without_other_files(data)
    except ParseError:
        return ()  # the collector reports a file that is not text
    notes: list[str] = []
    if dropped:
        notes.append(
            f"testparm was run without {dropped} line{'s' if dropped > 1 else ''} of include / "
            "config file / config backend (they name files of the audited host, not of this "
            "machine)"
        )
    with tempfile.TemporaryDirectory(prefix="smbsign-testparm-") as tmp:
        conf = Path(tmp) / "smb.conf"
        conf.write_text(text, encoding="utf-8")
        err_path = Path(tmp) / "stderr"
        try:
            with err_path.open("wb") as err:
                proc = subprocess.run(
                    [exe, "-s", str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    timeout=LINT_TIMEOUT_S,
                    check=False,
                    cwd=tmp,
                    env={**os.environ, "LC_ALL": "C"},
                )
        except subprocess.TimeoutExpired:
            return (*notes, f"testparm did not finish in {LINT_TIMEOUT_S:.0f} s: not cross-checked")
        except OSError as exc:
            return (*notes, f"testparm could not run ({exc.strerror or exc}): not cross-checked")
        with err_path.open("rb") as err:
            stderr = err.read(_STDERR_LIMIT).decode("utf-8", "replace")
    said = [
        _printable(ln)
        for ln in stderr.splitlines()
        if ln.strip() and not ln.strip().startswith(_CHATTER)
    ]
    notes += [f"testparm: {ln}" for ln in said[:MAX_LINT_NOTES]]
    if len(said) > MAX_LINT_NOTES:
        notes.append(f"and {len(said) - MAX_LINT_NOTES} more testparm messages")
    if proc.returncode != 0:
        notes.append(
            f"testparm on this machine would not load this file (exit {proc.returncode}); "
            "smbd of the same version would refuse it"
        )
    return tuple(notes)

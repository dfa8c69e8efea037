"""Effective Samba configuration through the real ``testparm``, DOMAIN.md 4.3 and 4.4.

Runs ``testparm -s -v <conf>`` once (every global parameter, defaults included, canonical
names) instead of one ``--parameter-name`` call per parameter, and parses **stdout only**
with the smb.conf reader. Exit status 1 means "config invalid" (an invalid value makes
testparm print nothing): that is an error, never "default". testparm prints the configured
enum (``default`` on an AD DC that requires signing), so the engine derives the effective
signing from ``samba:server role`` (DOMAIN.md 3.3). Values: kind ``testparm``, layer
``effective``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from smbsign.collect import smbconf
from smbsign.collect.base import CollectResult, failed
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

"""The machine smbsign runs on (``smbsign audit --local``), docs/reference.md §3.5, §4.3, §4.4.

Linux: the Samba configuration file (found with ``smbd -b`` ``CONFIGFILE``, else
``/etc/samba/smb.conf``) read as offline evidence (layer ``local``, includes followed from
disk) plus the effective view from the real ``testparm`` (layer ``effective``). The wire probe
of the local smbd is the scanner's job (``smbsign.scan``), run by the caller on 127.0.0.1.
Windows: the live registry through ``winreg`` (:class:`WinregReader`); ``wanted`` lists the
(key, value name) pairs to read, normally the catalog's registry checks.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from smbsign.collect import smbconf, testparm, winreg_local
from smbsign.collect.base import CollectResult, failed
from smbsign.collect.walk import collect_file

DEFAULT_CONF = Path("/etc/samba/smb.conf")
_CONFIGFILE = re.compile(r"^\s*CONFIGFILE:\s*(\S+)\s*$", re.MULTILINE)


def samba_conf_path() -> Path | None:
    """Where the local Samba reads its configuration; None when Samba is not installed."""
    try:
        out = subprocess.run(["smbd", "-b"], capture_output=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        out = b""
    m = _CONFIGFILE.search(out.decode("utf-8", "replace"))
    if m:
        return Path(m.group(1))
    return DEFAULT_CONF if DEFAULT_CONF.exists() else None


def local_kind() -> str:
    """Collector kind of this machine's evidence: the live registry on Windows, else the
    Samba config (its OS family follows from it, :data:`smbsign.engine.facts.KIND_FAMILY`)."""
    return winreg_local.KIND if sys.platform == "win32" else smbconf.KIND


def collect_local(
    host: str | None = None,
    *,
    conf_path: Path | None = None,
    wanted: Iterable[tuple[str, str]] = (),
) -> CollectResult:
    """Evidence of this machine; never raises."""
    name = host or socket.gethostname() or "localhost"
    if local_kind() == winreg_local.KIND:
        try:
            reader = winreg_local.WinregReader()
        except ImportError as exc:
            return failed(name, "registry", winreg_local.KIND, f"winreg unavailable: {exc}")
        return winreg_local.collect_registry(reader, name, wanted, path="registry")
    conf = conf_path or samba_conf_path()
    if conf is None or not conf.exists():
        where = str(conf or DEFAULT_CONF)
        return failed(name, where, smbconf.KIND, "no Samba configuration found on this machine")
    offline = collect_file(conf, name, lint=False)  # testparm runs on it just below
    effective = testparm.effective_samba(conf, name)
    facts = effective.facts or offline.facts
    if facts is not None and offline.facts is not None and effective.facts is not None:
        facts = replace(facts, sources=(*offline.facts.sources, *effective.facts.sources))
    return CollectResult(
        values=offline.values + effective.values,
        facts=facts,
        errors=offline.errors + effective.errors,
    )

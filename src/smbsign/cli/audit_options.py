"""`smbsign audit`'s options checked and turned into the audit core's inputs (docs/audit.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from smbsign.errors import UsageError
from smbsign.model import HostFacts

if TYPE_CHECKING:
    from smbsign.audit import EvidenceSource
    from smbsign.catalog import Catalog
    from smbsign.collect.winreg_remote import Credentials

__all__ = ["build_sources", "host_facts", "select_controls"]


def select_controls(catalog: Catalog, ids: str | None, framework: str | None) -> list[str]:
    """Ids of the controls named by ``--controls`` and/or ``--framework`` (catalog order);
    unknown names are usage errors."""
    controls = catalog.controls
    chosen = dict(controls)
    if framework is not None:
        frameworks = catalog.frameworks
        by_lower = {name.lower(): fw for name, fw in frameworks.items()}
        fw = frameworks.get(framework) or by_lower.get(framework.lower())  # as `controls` does
        if fw is None:
            known = ", ".join(sorted(frameworks)) or "none"
            raise UsageError(f"unknown framework {framework!r} (known: {known})")
        wanted = {c for req in fw.requirements for c in req.controls}
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    if ids is not None:
        names = [w.strip() for w in ids.split(",") if w.strip()]
        unknown = [n for n in names if n not in controls]
        if unknown or not names:
            raise UsageError(
                f"unknown control id(s): {', '.join(unknown) or ids!r} "
                "(list them with `smbsign controls list`)"
            )
        chosen = {k: v for k, v in chosen.items() if k in names}
    if not chosen:
        raise UsageError("no control left to check (--controls and --framework exclude each other)")
    return list(chosen)


def _local_host(host: str | None) -> str:
    import socket

    return host or socket.gethostname() or "localhost"


def _check_text(*options: tuple[str, str | None]) -> None:
    for option, text in options:
        if text is not None and (not text.strip() or not text.isprintable()):
            raise UsageError(f"{option} needs a non-empty value without control characters")


def host_facts(
    os_family: str | None,
    os_build: int | None,
    edition: str | None,
    role: str | None,
    smb1_feature: str | None,
) -> HostFacts | None:
    """The host facts the options give (for every audited host)."""
    from smbsign.audit.facts import given_facts

    _check_text(
        ("--os-family", os_family),
        ("--edition", edition),
        ("--role", role),
        ("--smb1-feature", smb1_feature),
    )
    return given_facts(os_family, os_build, edition, role, smb1_feature)


def build_sources(
    paths: Sequence[Path],
    *,
    local: bool,
    host: str | None,
    samba_conf: Path | None,
    want_probe: bool | None,
    address: str | None,
    remote: Sequence[str] = (),
    creds: Credentials | None = None,
    host_per_dir: bool = False,
    wazuh: EvidenceSource | None = None,
    wire: Path | None = None,
) -> list[EvidenceSource]:
    """The evidence sources the options name, in audit order; usage problems raise
    :class:`UsageError` before anything is read."""
    from smbsign.audit import LocalSource, PathsSource, ProbeSource, RemoteSource
    from smbsign.audit.sources import ip_literal

    if not paths and not local and not remote and wazuh is None and wire is None:
        raise UsageError("give evidence files or directories, --local, --remote, --wazuh or --wire")
    _check_text(("--host", host))
    for p in paths:
        if not p.exists():
            raise UsageError(f"no such file or directory: {str(p)!r}")
    if host_per_dir and host is not None:
        raise UsageError("--host-per-dir names each host after its folder: drop --host")
    if host_per_dir and not any(p.is_dir() for p in paths):
        raise UsageError("--host-per-dir needs a directory holding one folder per host")
    if samba_conf is not None and not local:
        raise UsageError("--samba-conf goes with --local (pass an smb.conf as a PATH otherwise)")
    if samba_conf is not None and not samba_conf.is_file():
        raise UsageError(f"no such Samba config: {str(samba_conf)!r}")
    probe_target: str | None = None
    if want_probe and not local:
        probe_target = ip_literal(address or host or "")
        if probe_target is None:
            raise UsageError("--probe needs --address (or --host) to be an IP address")
    elif address is not None:
        raise UsageError("--address goes with --probe and evidence files")

    sources: list[EvidenceSource] = []
    if paths:
        sources.append(PathsSource(tuple(paths), host, host_per_dir))
    if local:
        sources.append(LocalSource(_local_host(host), samba_conf, probe=want_probe is not False))
    if remote:
        if creds is None:
            raise UsageError("--remote needs --user and a password")
        sources.append(RemoteSource(tuple(remote), creds))
    if wazuh is not None:
        sources.append(wazuh)
    if probe_target is not None:
        sources.append(ProbeSource(probe_target, host))
    if wire is not None:
        from smbsign.audit import WireSource

        sources.append(WireSource.read(wire))  # read now: a bad file is a usage error
    return sources

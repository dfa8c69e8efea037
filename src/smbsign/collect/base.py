"""Shared interface and helpers of the evidence collectors (issue #3 item 3).

Every collector module exposes ``KIND``, ``sniff(data, name)`` and the pure
``collect(data, path, host) -> CollectResult``; ``collect`` never raises: malformed input
becomes a :class:`~smbsign.model.CollectError` in ``errors`` (an ``error`` finding later).
Text decoding and the file formats themselves live in :mod:`smbsign.codecs`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from smbsign.model import CollectError, HostFacts, Layer, SettingValue


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one evidence source yielded."""

    values: tuple[SettingValue, ...] = ()
    facts: HostFacts | None = None  # facts found in the evidence (build, edition, role, ...)
    errors: tuple[CollectError, ...] = ()
    notes: tuple[str, ...] = ()  # what was left out and why (e.g. a symlink out of the tree)


class Collector(Protocol):
    """The shape of a collector module (for type checking the wiring table)."""

    KIND: str

    def sniff(self, data: bytes, name: str) -> bool: ...

    def collect(self, data: bytes, path: str, host: str) -> CollectResult: ...


def failed(host: str, path: str, kind: str, message: str) -> CollectResult:
    """A result holding one error and nothing else."""
    return CollectResult(errors=(CollectError(host=host, path=path, kind=kind, message=message),))


# ------------------------------------------------------------------------- layers

_GPO_PATH = re.compile(r"(^|[\\/])(policies[\\/]\{[0-9a-f-]{36}\}|domainsysvol[\\/]gpo)([\\/]|$)")
_LOCAL_GPO_PATH = re.compile(r"system32[\\/]grouppolicy([\\/]|$)")


def in_gpo_tree(path: str) -> bool:
    """True when ``path`` lies inside a SYSVOL GPO or a GPO backup (docs/reference.md §6.2)."""
    return _GPO_PATH.search(path.lower()) is not None


def in_local_gpo(path: str) -> bool:
    """True for the local Group Policy store ``%SystemRoot%\\System32\\GroupPolicy``."""
    return _LOCAL_GPO_PATH.search(path.lower()) is not None


def registry_layer(setting: str, default: Layer = Layer.LOCAL) -> Layer:
    """Layer implied by where a registry value lives (docs/reference.md §3.4, §4.1).

    ``HKLM\\SOFTWARE\\Microsoft\\PolicyManager\\...`` is written by MDM; any
    ``...\\SOFTWARE\\Policies\\...`` value is written by Group Policy (domain or local GPO;
    a registry read cannot tell which, so it is reported as ``gpo``).
    """
    low = setting.lower()
    if low.startswith("hklm\\software\\microsoft\\policymanager\\"):
        return Layer.MDM
    if "\\software\\policies\\" in low or low.startswith("software\\policies\\"):
        return Layer.GPO
    return default

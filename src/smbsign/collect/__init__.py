"""smbsign.collect: evidence files and hosts in, SettingValues with provenance out.

Interface (issue #3 item 3, docs/collectors.md):

- every collector module has ``KIND``, ``sniff(data, name)`` and the pure
  ``collect(data, path, host) -> CollectResult`` that never raises;
- :data:`COLLECTORS` is the explicit wiring table, in sniff priority order;
- :func:`collect_file` reads one file, recognises it by content and dispatches;
- :func:`collect_paths` walks files and directories and yields ``(host, result)``.
"""

from __future__ import annotations

from smbsign.collect.base import CollectResult
from smbsign.collect.walk import COLLECTORS, collect_file, collect_paths, sniff_kind

__all__ = ["COLLECTORS", "CollectResult", "collect_file", "collect_paths", "sniff_kind"]

"""``secedit /export`` security templates, docs/reference.md §6.4.

Same INF grammar as GptTmpl.inf (read by :mod:`smbsign.codecs.gpttmpl`, turned into settings by
:func:`smbsign.collect.gpttmpl.collect_template`);
often BOM-less ANSI. Any security template outside a GPO path is taken as a secedit export,
layer ``local``. Note: ``secedit /export /mergedpolicy`` merges domain and local policy, so
such an export can hold values a domain GPO set; the file cannot say which.
"""

from __future__ import annotations

from smbsign.codecs.gpttmpl import looks_like_template
from smbsign.collect.base import CollectResult
from smbsign.collect.gpttmpl import collect_template, is_gpo_path
from smbsign.model import Layer

KIND = "secedit"


def sniff(data: bytes, name: str) -> bool:
    return looks_like_template(data) and not is_gpo_path(name)


def collect(data: bytes, path: str, host: str) -> CollectResult:
    return collect_template(data, path, host, kind=KIND, layer=Layer.LOCAL)

"""Read the findings ``smbsign fix --from`` takes (pure: bytes in, finding dicts out).

Accepted (docs/fix.md): the JSON of ``smbsign audit --format json``
(``{"schema_version", "findings": [...]}``, also a report JSON, which has the same key), a bare
JSON list of findings, and JSON Lines - one finding a line (``audit --format jsonl``) or the
report's typed lines, of which only ``"type": "finding"`` ones are used. A finding needs
``control`` and ``status``; anything else is a :class:`ParseError` with the line or index.
"""

from __future__ import annotations

import json
from typing import Any

from smbsign.errors import ParseError

MAX_BYTES = 256 * 2**20


def _check(item: Any, where: str) -> dict[str, Any]:
    if (
        not isinstance(item, dict)
        or not isinstance(item.get("control"), str)
        or not isinstance(item.get("status"), str)
    ):
        raise ParseError("not a finding (needs string 'control' and 'status')", where=where)
    return item


def parse_findings(data: bytes, name: str = "findings") -> list[dict[str, Any]]:
    if len(data) > MAX_BYTES:
        raise ParseError(f"larger than {MAX_BYTES // 2**20} MiB", where=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("not UTF-8 text", where=name) from None
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty file", where=name)
    try:
        doc = json.loads(stripped)
    except json.JSONDecodeError:
        doc = None
    except RecursionError:  # hostile nesting: json gives up before the stack does
        raise ParseError("JSON nested too deeply", where=name) from None
    if isinstance(doc, dict):
        items = doc.get("findings")
        if not isinstance(items, list):
            raise ParseError("JSON object without a 'findings' list", where=name)
        return [_check(f, f"{name}: findings[{i}]") for i, f in enumerate(items)]
    if isinstance(doc, list):
        return [_check(f, f"{name}: [{i}]") for i, f in enumerate(doc)]
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(f"invalid JSON ({exc.msg})", where=f"{name}: line {number}") from None
        except RecursionError:
            raise ParseError("JSON nested too deeply", where=f"{name}: line {number}") from None
        if isinstance(obj, dict) and "type" in obj:
            if obj["type"] != "finding":
                continue
            obj = {k: v for k, v in obj.items() if k not in ("type", "run_id")}
        out.append(_check(obj, f"{name}: line {number}"))
    return out

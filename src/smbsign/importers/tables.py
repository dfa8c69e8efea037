"""CSV reading shared by the CSV checklist importers (HardeningKitty lists, Wazuh exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from smbsign.codecs.text import decode_text, text_head
from smbsign.errors import ParseError

Row = dict[str, str]


def header_cells(data: bytes) -> tuple[str, ...]:
    """Lower-cased cells of the first line (for sniffing)."""
    first = text_head(data, 4096).split("\n", 1)[0]
    return tuple(c.strip().strip('"').strip() for c in first.split(","))


def csv_rows(data: bytes, name: str, required: Sequence[str], what: str) -> list[tuple[int, Row]]:
    """``(row number, row)`` pairs (the header is row 1); :class:`ParseError` when the file
    is not text, not CSV, or lacks a ``required`` column."""
    text = decode_text(data, where=name)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ParseError(f"not a {what} (missing {', '.join(missing)})", where=name)
        return list(enumerate(reader, 2))
    except csv.Error as exc:
        raise ParseError(f"line {reader.line_num}: bad CSV: {exc}", where=name) from None

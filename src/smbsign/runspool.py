"""A run's findings kept serialized while they stream, for storing the run at the end.

``ad audit`` of a large domain yields one finding after another; holding them all as
``Finding`` objects until the run is stored grew its peak memory with the domain (issue #9
item 9). ``FindingSpool`` keeps, per finding, only the store's row: the indexed columns and
the published JSON text (the same ``data`` the store has always written), in a temporary
file that stays in memory while it is small and moves to disk beyond ``_IN_MEMORY`` bytes.
The run's headline counts are kept as it fills, so the stored summary is what
``summarize`` gives for a run without scan records.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from smbsign.model import Finding, Status
from smbsign.run import Summary
from smbsign.serialize import finding_to_dict

_IN_MEMORY = 8 * 1024 * 1024  # bytes kept in memory before the spool moves to a file


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One stored finding: the store's indexed columns and its JSON text."""

    host: str
    control: str
    status: str
    data: str


class FindingSpool:
    """Findings added one by one as store rows; ``rows()`` reads them back in order."""

    def __init__(self) -> None:
        # lives as long as the spool: closed by close()
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        self._hosts: set[str] = set()
        self._counts: Counter[Status] = Counter()
        self.count = 0

    def add(self, f: Finding) -> None:
        """Serialize ``f`` as the store writes it (``findings.data``) and append it."""
        head = json.dumps([f.host, f.control, f.status.value], ensure_ascii=False)
        data = json.dumps(finding_to_dict(f), ensure_ascii=False)
        # json.dumps escapes every newline, so each of the two lines is one JSON text
        self._file.write(f"{head}\n{data}\n".encode())
        self._hosts.add(f.host)
        self._counts[f.status] += 1
        self.count += 1

    def rows(self) -> Iterator[FindingRow]:
        """The added findings, oldest first (may be read again: each call starts over)."""
        self._file.flush()
        self._file.seek(0)
        for _ in range(self.count):
            host, control, status = json.loads(self._file.readline())
            data = self._file.readline()[:-1].decode()
            yield FindingRow(str(host), str(control), str(status), data)
        self._file.seek(0, 2)

    def summary(self) -> Summary:
        """``summarize((), findings)`` of the added findings, without holding them."""
        return Summary(
            hosts=len(self._hosts),
            smb_hosts=0,
            relayable=0,
            required=0,
            unknown=0,
            findings={s.value: n for s in Status if (n := self._counts[s])},
        )

    def close(self) -> None:
        self._file.close()

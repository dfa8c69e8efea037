"""The audit core as a library (issue #8 item 1): sources in, findings per host out, streaming.

These tests drive :class:`smbsign.audit.Auditor` directly, without the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smbsign.audit import Auditor, HostEvidence, PathsSource, ProbeSource, Wanted
from smbsign.catalog import load_catalog
from smbsign.engine.evaluate import EVIDENCE_ERROR
from smbsign.errors import UsageError
from smbsign.model import CollectError, HostFacts, OsFamily, Role, Status

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "collect" / "reg"
CATALOG = load_catalog()
SRV_REQ = "smb-server-signing-required"


@dataclass
class FakeSource:
    """Yields an ``error`` evidence item per host; records when it was asked to gather."""

    hosts: tuple[str, ...]
    known: frozenset[str] | None = None
    log: list[str] = field(default_factory=list)
    family: OsFamily | None = None

    def names(self) -> frozenset[str] | None:
        return self.known

    def gather(self, wanted: Wanted, seen: Sequence[str]) -> Iterator[HostEvidence]:
        self.log.append("gather")
        for host in self.hosts:
            err = CollectError(host, f"{host}.bin", "io", f"unreadable ({id(self)})")
            yield HostEvidence(host, errors=[err], family=self.family)


def test_a_host_is_judged_before_later_sources_that_cannot_name_it_are_read() -> None:
    first = FakeSource(("a", "b"))
    second = FakeSource(("b", "c"), known=frozenset({"b", "c"}))
    results = Auditor(CATALOG).audit([first, second])
    a = next(results)
    assert a.host == "a" and second.log == []  # streamed: the second source is not read yet
    b, c = list(results)
    assert [b.host, c.host] == ["b", "c"] and second.log == ["gather"]
    errors = [f for f in b.findings if f.control == EVIDENCE_ERROR]
    assert len(errors) == 2  # b is judged once, on the evidence of both sources


def test_hosts_keep_their_first_seen_order() -> None:
    later = FakeSource(("a",), known=frozenset({"a"}))
    got = [r.host for r in Auditor(CATALOG).audit([FakeSource(("a", "b")), later])]
    assert got == ["a", "b"]  # b was final first, but a was named first


def test_judged_with_the_given_catalog_controls_and_facts(tmp_path: Path) -> None:
    evidence = tmp_path / "fs01.reg"
    evidence.write_bytes((FIX / "server-not-required.fail.regedit4.reg").read_bytes())
    facts = HostFacts("ignored", build=26100, edition="Enterprise", role=Role.MEMBER_SERVER)
    auditor = Auditor(CATALOG, controls=[SRV_REQ], facts=facts)
    (result,) = auditor.audit([PathsSource((evidence,))])
    assert result.host == "fs01"
    assert [f.control for f in result.findings] == [SRV_REQ]
    assert result.findings[0].status is Status.FAIL


def test_the_family_a_source_implies_fills_a_missing_os_family() -> None:
    samba_only = "samba-client-ipc-signing-required"
    (result,) = Auditor(CATALOG).audit([FakeSource(("h",), family=OsFamily.WINDOWS)])
    assert {f.control: f for f in result.findings}[samba_only].status is Status.NOT_APPLICABLE
    (result,) = Auditor(CATALOG).audit([FakeSource(("h",))])  # nothing says what it is
    assert {f.control: f for f in result.findings}[samba_only].status is Status.UNKNOWN
    given = HostFacts("", os_family=OsFamily.SAMBA)  # the operator's word wins
    (result,) = Auditor(CATALOG, facts=given).audit([FakeSource(("h",), family=OsFamily.WINDOWS)])
    assert {f.control: f for f in result.findings}[samba_only].status is not Status.NOT_APPLICABLE


def test_notes_are_values_not_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "hosts"
    (root / "fs01").mkdir(parents=True)
    (root / "fs01" / "a.reg").write_bytes((FIX / "deletions.fail.reg").read_bytes())
    (root / "outside").symlink_to(tmp_path)  # skipped at the top: a note, not a host
    results = list(Auditor(CATALOG).audit([PathsSource((root,), host_per_dir=True)]))
    assert capsys.readouterr() == ("", "")
    notes = [n for r in results for n in r.notes]
    assert any("outside" in n and "skipped" in n for n in notes), notes


def test_probe_with_several_hosts_is_a_usage_error_before_any_result() -> None:
    results = Auditor(CATALOG).audit([FakeSource(("a", "b")), ProbeSource("127.0.0.1")])
    with pytest.raises(UsageError, match="several hosts"):
        next(results)

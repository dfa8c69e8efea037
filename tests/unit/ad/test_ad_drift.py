"""``ad audit --scan``: drift between the policy verdict and the wire, DNS through one server."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

import dns.message
import dns.rcode
import dns.rrset
import pytest
from ad_fakes import DOMAIN, Lab, link

from smbsign.ad.directory import Computer, iter_computers
from smbsign.ad.view import audit, load
from smbsign.ad.wire import ScanSettings, probed, resolve_via
from smbsign.catalog import load_catalog
from smbsign.model import (
    Finding,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb2Observation,
    Status,
)
from smbsign.scan.runner import error_record

CONTROL = "smb-server-signing-required"
ON, OFF = "10000000-0000-0000-0000-000000000001", "20000000-0000-0000-0000-000000000002"
OU_ON, OU_OFF = f"OU=On,{DOMAIN}", f"OU=Off,{DOMAIN}"
WMI, OU_WMI = "30000000-0000-0000-0000-000000000003", f"OU=Wmi,{DOMAIN}"


@pytest.fixture(scope="module")
def catalog() -> object:
    return load_catalog()


def wire(host: str, required: bool) -> ScanRecord:
    mode = 0x03 if required else 0x01
    return ScanRecord(
        target="127.0.0.9",
        port=445,
        status=ScanStatus.OK,
        signing_required=required,
        smb1=Smb1Observation(offered=False),
        smb2=Smb2Observation("3.1.1", 0x0311, mode),
        hostname=host,
    )


def domain() -> Lab:
    lab = Lab()
    lab.gpo(ON, "Signing On", 1)
    lab.gpo(OFF, "Signing Off", 0)
    lab.ou(OU_ON, link(ON))
    lab.ou(OU_OFF, link(OFF))
    lab.gpo(WMI, "Wmi On", 1, wmi="[lab.test;{W};0]")
    lab.ou(OU_WMI, link(WMI))
    lab.computer("wmi", OU_WMI)
    for name in ("agree", "drifts", "noname", "filtered"):
        lab.computer(name, OU_ON)
    lab.computer("offagree", OU_OFF)
    lab.computer("offdrifts", OU_OFF)
    lab.computer("linux", OU_ON, os="Ubuntu 22.04")
    lab.computer("nas", OU_ON, os="Samba 4.17.12-Debian")
    return lab


RECORDS: dict[str, Sequence[ScanRecord]] = {
    "agree": [wire("agree.lab.test", True)],
    "drifts": [wire("drifts.lab.test", False)],
    "noname": [error_record("noname.lab.test", 445, "resolve_failed: NXDOMAIN from 1.2.3.4", "x")],
    "filtered": [
        ScanRecord("127.0.0.9", 445, ScanStatus.FILTERED, None, Smb1Observation(offered=None), None)
    ],
    "offagree": [wire("offagree.lab.test", False)],
    "offdrifts": [wire("offdrifts.lab.test", True)],
    "linux": [wire("linux.lab.test", False)],
    "nas": [wire("nas.lab.test", True)],
    "wmi": [wire("wmi.lab.test", True)],
}


def scanned(catalog: object) -> dict[str, Finding]:
    lab = domain()
    snap = load(lab.d, lab.fs)  # type: ignore[arg-type]

    def obs(c: Computer) -> Sequence[ScanRecord]:
        return RECORDS[c.dns_name.split(".")[0]]

    out = {}
    for r in audit(snap, catalog, iter_computers(lab.d, snap.domain), observations=obs):  # type: ignore[arg-type]
        for f in r.findings:
            if f.control == CONTROL:
                out[r.computer.dns_name.split(".")[0]] = f
            elif f.status is not Status.ERROR:
                assert f.drift is None or f.drift is False or f.drift is True
    return out


def test_drift_true_false_and_null(catalog: object) -> None:
    got = scanned(catalog)
    assert (got["agree"].status, got["agree"].drift) == (Status.PASS, False)
    assert (got["offagree"].status, got["offagree"].drift) == (Status.FAIL, False)
    assert got["agree"].container == OU_ON and got["offagree"].container == OU_OFF
    d = got["drifts"]
    assert (d.status, d.drift) == (Status.FAIL, True)
    assert d.source is not None and d.source.kind == "wire"
    assert d.source.gpo is not None and d.source.gpo.name == "Signing On"  # where to change it
    assert "drift: the policy says" in d.reason and "Signing On" in d.reason
    assert "policy not yet applied" in d.reason and "MDM" in d.reason
    od = got["offdrifts"]
    assert (od.status, od.drift) == (Status.PASS, True) and "local or MDM" in od.reason
    nas = got["nas"]
    assert nas.drift is True and "not a Windows host (operatingSystem 'Samba" in nas.reason
    assert "MDM" not in nas.reason
    linux = got["linux"]  # judged from the GPO values it gets, but the wire disagrees
    assert linux.drift is True and "not a Windows host (operatingSystem 'Ubuntu" in linux.reason


def test_a_policy_verdict_that_is_not_pass_or_fail_gives_null_drift(catalog: object) -> None:
    f = scanned(catalog)["wmi"]  # the deciding GPO has a WMI filter: policy unknown
    assert f.status is Status.PASS and f.drift is None
    assert any("drift not compared: the policy verdict is unknown" in n for n in f.notes)
    assert f.source is not None and f.source.gpo is not None and f.source.gpo.name == "Wmi On"


def test_unresolvable_is_unknown_with_the_reason_and_null_drift(catalog: object) -> None:
    f = scanned(catalog)["noname"]
    assert f.status is Status.UNKNOWN and f.drift is None
    assert "NXDOMAIN from 1.2.3.4" in f.reason and "policy alone says" in f.reason


def test_no_wire_answer_leaves_the_policy_verdict_and_null_drift(catalog: object) -> None:
    f = scanned(catalog)["filtered"]
    assert f.status is Status.PASS and f.drift is None
    assert any("drift not compared" in n for n in f.notes)


def test_without_scan_drift_is_null(catalog: object) -> None:
    lab = domain()
    snap = load(lab.d, lab.fs)  # type: ignore[arg-type]
    for r in audit(snap, catalog, iter_computers(lab.d, snap.domain)):  # type: ignore[arg-type]
        assert all(f.drift is None for f in r.findings)


def test_probed_scans_a_chunk_before_handing_its_computers_on() -> None:
    seen: list[list[str]] = []

    def chunk(names: Sequence[str], _s: ScanSettings) -> dict[str, list[ScanRecord]]:
        seen.append(list(names))
        return {n: [wire(n, True)] for n in names}

    comps = (Computer(f"CN=c{i}", f"c{i}", None, None, None, None, "", ()) for i in range(5))
    settings = ScanSettings("127.0.0.1", chunk=2)
    it, lookup = probed(comps, settings, "lab.test", probe_chunk=chunk)
    first = next(it)
    assert seen == [["c0.lab.test", "c1.lab.test"]]  # only one chunk read so far
    assert lookup(first)[0].hostname == "c0.lab.test"
    rest = list(it)
    assert [c.dns_name for c in rest] == ["c1", "c2", "c3", "c4"]
    assert seen[1:] == [["c2.lab.test", "c3.lab.test"], ["c4.lab.test"]]


@pytest.fixture
def dns_server() -> Iterator[str]:
    """A DNS server on loopback: ``srv.lab.test`` has an A record, ``slow.lab.test`` never
    answers, anything else is NXDOMAIN."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            q = dns.message.from_wire(data)
            name = q.question[0].name.to_text()
            if name == "slow.lab.test.":
                continue
            r = dns.message.make_response(q)
            if name == "srv.lab.test." and q.question[0].rdtype == 1:
                r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "127.0.0.7"))
            elif name != "srv.lab.test.":
                r.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(r.to_wire(), peer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    t.join()
    sock.close()


def test_resolve_through_the_given_server_only(
    dns_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dns.asyncresolver

    host, port = dns_server.split(":")
    real = dns.asyncresolver.Resolver.resolve

    async def at_port(self: dns.asyncresolver.Resolver, *a: object, **k: object) -> object:
        self.port = int(port)
        return await real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(dns.asyncresolver.Resolver, "resolve", at_port)
    assert asyncio.run(resolve_via(host, 2.0, "srv.lab.test")) == ["127.0.0.7"]
    with pytest.raises(OSError, match=r"does not exist in DNS \(NXDOMAIN from 127.0.0.1\)"):
        asyncio.run(resolve_via(host, 2.0, "gone.lab.test"))
    with pytest.raises(OSError, match=r"no answer from DNS server 127\.0\.0\.1 within 0\.5 s"):
        asyncio.run(resolve_via(host, 0.5, "slow.lab.test"))


def test_csv_carries_the_domain_columns_only_for_domain_findings(catalog: object) -> None:
    import csv
    import io

    from smbsign.output.csv_out import DOMAIN_COLUMNS, FINDING_COLUMNS, render_findings

    got = scanned(catalog)
    rows = list(csv.DictReader(io.StringIO(render_findings(list(got.values())).decode())))
    drifts = next(r for r in rows if r["host"].startswith("drifts."))
    assert drifts["drift"] == "true" and drifts["container"] == OU_ON
    assert drifts["gpo_name"] == "Signing On" and drifts["gpo_link"] == OU_ON
    assert tuple(rows[0]) == FINDING_COLUMNS + DOMAIN_COLUMNS
    plain = [replace(f, container=None) for f in got.values()]
    header = render_findings(plain).decode().splitlines()[0]
    assert header == ",".join(FINDING_COLUMNS)

"""The fuzz targets: one harness per parser that reads untrusted input (issue #11 item 26).

:data:`TARGETS` is the explicit table: name -> harness (a callable taking bytes), the
exception types that are the parser's documented "typed parse error", and where its seeds
come from. Anything else a harness raises (including a failed invariant, an ``AssertionError``)
is a crash; so is a hang (more than :data:`TIME_LIMIT` seconds for one input) or more memory
than the runner allows. Seeds come only from files in this repository (``tests/fixtures``,
the hand-written wire builders in ``tests/unit/smbwire_builders.py``, and ``fuzz/seeds``).

Error contracts, from each module's documentation:

- ``smbsign.protocol``: :class:`~smbsign.errors.ProtocolError` (``NotSmbError`` included);
- collectors (``collect``): never raise; malformed input is a ``CollectError`` value;
- scan target files: :class:`~smbsign.errors.UsageError` (one line, exit 2);
- checklist importers (``parse``): :class:`~smbsign.errors.ParseError`; ``load``, the mapping
  and the linter never raise;
- snapshot manifests: :class:`~smbsign.errors.RemediationError` or ``UsageError``.

The domain view's parsers of directory and SYSVOL data (``smbsign ad``) have their harnesses in
:mod:`fuzz.targets_ad` (``ad_*``), added to the same table.
"""

from __future__ import annotations

import contextlib
import json
import struct
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from smbsign.catalog import Catalog, load_catalog
from smbsign.collect import (
    gpttmpl,
    hive,
    pwsh_json,
    regfile,
    registrypol,
    smbconf,
    winreg_local,
)
from smbsign.collect.base import CollectResult
from smbsign.errors import ParseError, ProtocolError, RemediationError, UsageError
from smbsign.importers import (
    IMPORTERS,
    ImportedPolicy,
    edca,
    hardeningkitty,
    tenable_audit,
    wazuh_export,
    wazuh_policy,
)
from smbsign.model import CollectError, HostFacts, SettingValue
from smbsign.protocol import framing, ldap, netbios
from smbsign.protocol.negotiate import parse_negotiate_response
from smbsign.scan import target_files
from smbsign.scan.target_spec import Name, Range, Single
from smbsign.scan.verdict import Kind, Outcome, decide

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS = ROOT / "fuzz" / "seeds"
TIME_LIMIT = 1.0  # seconds for one input; longer is a hang
HOST = "fuzzhost"

Harness = Callable[[bytes], None]


@dataclass(frozen=True)
class Target:
    """One fuzz target: ``harness(data)`` may raise only ``allowed``."""

    name: str
    harness: Harness
    allowed: tuple[type[BaseException], ...]
    seeds: Callable[[], list[bytes]]
    sources: str  # where the seeds come from, for the docs
    max_len: int = 4096
    dictionary: tuple[bytes, ...] = field(default=())


# ----------------------------------------------------------------------------- seeds


def _files(*globs: str, base: Path = FIXTURES) -> list[bytes]:
    out: list[bytes] = []
    for pattern in globs:
        for path in sorted(base.glob(pattern)):
            if path.is_file() and not path.name.startswith("."):
                out.append(path.read_bytes())
    return out


def _fixture_files_for(module: ModuleType, name: str) -> list[bytes]:
    """Every fixture file that ``module.sniff`` accepts (what the audit would hand it)."""
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".md", ".args", ".gitattributes"):
            continue
        data = path.read_bytes()
        if module.sniff(data, path.name) or path.name.lower().endswith(name.lower()):
            out.append(data)
    return out


@cache
def _builders() -> ModuleType:
    unit = str(FIXTURES.parent / "unit")
    if unit not in sys.path:
        sys.path.insert(0, unit)
    import smbwire_builders  # tests/unit: field-by-field SMB replies

    return smbwire_builders


def _recorded_replies() -> list[bytes]:
    """The unframed replies of the recorded Samba exchanges (tests/fixtures/protocol)."""
    doc = json.loads((FIXTURES / "protocol" / "samba-negotiate.json").read_bytes())
    out: list[bytes] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "hex" and isinstance(value, str):
                    raw = bytes.fromhex(value)
                    out.append(raw[4:] if len(raw) > 4 and raw[0] == 0 else raw)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return out


def _smb2_seeds() -> list[bytes]:
    b = _builders()
    built = [
        b.smb2_negotiate_response(),
        b.smb2_negotiate_response(security_mode=1),
        b.smb2_error_response(0xC00000BB),
    ]
    return [r for r in _recorded_replies() if r[:4] == b"\xfeSMB"] + built


def _smb1_seeds() -> list[bytes]:
    b = _builders()
    built = [
        b.smb1_negotiate_response(),
        b.smb1_no_dialect_response(),
        b.smb1_error_response(0xC0000002),
    ]
    return [r for r in _recorded_replies() if r[:4] == b"\xffSMB"] + built


def _netbios_seeds() -> list[bytes]:
    """The four session responses of RFC 1002 4.3.3-4.3.7, and a session message header."""
    return [
        b"\x82\x00\x00\x00",
        b"\x83\x00\x00\x01\x80",
        b"\x84\x00\x00\x06" + bytes((192, 0, 2, 7)) + struct.pack(">H", 139),
        b"\x85\x00\x00\x00",
        b"\x00\x00\x00\x4a",
        netbios.build_session_request(),
    ]


def _snapshot_seeds() -> list[bytes]:
    """Manifests as :class:`SnapshotStore` writes them (a Samba and a Windows snapshot), with
    the id of the harness's directory for their kind (so that a signed copy verifies)."""
    from smbsign.remediate.snapshot import KIND_SAMBA, KIND_WINDOWS, SnapshotStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SnapshotStore(Path(tmp) / "store")
        samba = store.create(
            KIND_SAMBA,
            {
                "original_path": "/etc/samba/smb.conf",
                "file": _SNAP_FILE,
                "mode": "0644",
                "uid": 0,
                "gid": 0,
            },
            {_SNAP_FILE: _SNAP_DATA},
        )
        values = [
            {
                "control": "smb-server-signing-required",
                "key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters",
                "name": "RequireSecuritySignature",
                "key_existed": True,
                "present": present,
                "type": vtype,
                "data": data,
            }
            for present, vtype, data in (
                (True, "REG_DWORD", 0),
                (False, None, None),
                (True, "REG_MULTI_SZ", ["a", "b"]),
                (True, "REG_BINARY", "00ff"),
                (True, "REG_UNKNOWN_0x1f", "01"),
                (True, "REG_SZ", "x"),
            )
        ]
        windows = store.create(KIND_WINDOWS, {"values": values, "cmdlets": []})
        out = []
        for snap in (samba, windows):
            manifest = json.loads((snap.path / "manifest.json").read_bytes())
            manifest["id"] = _SNAP_IDS[snap.kind]
            out.append(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
        return out


# -------------------------------------------------------------------------- harnesses


def _check_collect(result: CollectResult) -> None:
    assert isinstance(result, CollectResult), type(result)
    assert all(isinstance(v, SettingValue) for v in result.values)
    assert all(isinstance(e, CollectError) and e.message for e in result.errors)
    assert result.facts is None or isinstance(result.facts, HostFacts)


def _collector(module: ModuleType, name: str, path: str) -> Harness:
    def harness(data: bytes) -> None:
        module.sniff(data, name)
        _check_collect(module.collect(data, path, HOST))

    return harness


@cache
def _hive_wanted() -> tuple[tuple[str, str], ...]:
    from smbsign.audit import registry_wanted

    return registry_wanted(load_catalog().controls.values(), desired=True)


def _hive(data: bytes) -> None:
    """As an audit reads a hive: for every registry value the catalog checks or sets."""
    hive.sniff(data, "SYSTEM")
    _check_collect(hive.collect(data, "config/SYSTEM", HOST, wanted=_hive_wanted()))


def _pwsh_json(data: bytes) -> None:
    pwsh_json.sniff(data, "smbconfig.json")
    parts = pwsh_json.collect_hosts(data, "smbconfig.json", HOST)
    assert parts
    for host, result in parts:
        assert isinstance(host, str) and host
        _check_collect(result)


def _smbconf(data: bytes) -> None:
    """smb.conf with includes: every include name loads the same bytes again (or fails)."""

    def loader(target: str, including: str) -> tuple[str, bytes]:
        if target.startswith("missing"):
            raise FileNotFoundError(2, "No such file or directory")
        return target.lower(), data

    smbconf.sniff(data, "smb.conf")
    _check_collect(smbconf.collect(data, "/etc/samba/smb.conf", HOST, loader=loader))
    _check_collect(smbconf.collect(data, "/etc/samba/smb.conf", HOST))


def _negotiate(data: bytes) -> None:
    """A NEGOTIATE reply as the prober sees it: parsed, then turned into a verdict."""
    resp = parse_negotiate_response(data)
    outcome = Outcome(Kind.REPLY, resp, received=len(data) + 4)
    for verdict in (decide(outcome, None, None), decide(outcome, outcome, outcome)):
        assert verdict.reason
    outcome.describe()


def _ldap_bind_response(data: bytes) -> None:
    """The LDAP probe's reply reading: BER framing with a cap, then the BindResponse
    (RFC 4511 4.2.2; smbsign.protocol.ldap)."""
    with contextlib.suppress(ProtocolError):
        total = ldap.message_length(data[: ldap.HEADER_MAX], 65536)
        assert total is None or 2 <= total <= 65536
    result = ldap.parse_bind_response(data)
    assert result.data_code is None or len(result.data_code) <= 8
    assert result.describe().isprintable()


def _netbios(data: bytes) -> None:
    """Session-service headers and responses (RFC 1002 4.3), and the SMB frame header."""
    header = data[:4]
    for call in (
        lambda: netbios.parse_session_header(header),
        lambda: netbios.parse_session_response(data).error_text,
        lambda: framing.frame_length(header, netbios=True),
        lambda: framing.frame_length(header, max_length=framing.DIRECT_TCP_MAX),
    ):
        with contextlib.suppress(ProtocolError):
            call()


def _target_file(cls: Callable[[str], target_files.FileParser]) -> Harness:
    """The forced format, then ``scan -iL FILE`` (detection behind the UTF-16 transcoder)
    and ``-iL -`` (bad lines reported one by one, the rest still read), each fed in two
    chunks (a pipe delivers what it has)."""

    def harness(data: bytes) -> None:
        cut = data[0] % (len(data) + 1) if data else 0
        reported: list[str] = []
        parsers = (
            cls("fuzz.txt"),
            target_files.Decoded("fuzz.txt", target_files.AutoParser("fuzz.txt")),
            target_files.Decoded("<stdin>", target_files.AutoParser("<stdin>", reported.append)),
        )
        for parser in parsers:
            items = []
            with contextlib.suppress(UsageError):
                items += parser.feed(data[:cut])
                items += parser.feed(data[cut:])
                items += parser.close()
            assert all(isinstance(i, Single | Range | Name) for i in items)
        assert all(isinstance(m, str) and "\n" not in m for m in reported), reported

    return harness


@cache
def _catalog() -> Catalog:
    return load_catalog()


def _importer(module: ModuleType, name: str) -> Harness:
    """``policy check``: sniff, import (ParseError only), then map and lint (never raise).

    (``importers.load`` is ``parse`` with the ParseError turned into a value.)"""
    from smbsign.importers.describe import check_report
    from smbsign.importers.lint import lint
    from smbsign.importers.mapping import map_policy

    def harness(data: bytes) -> None:
        for m in IMPORTERS:
            m.sniff(data, name)
        policy = module.parse(data, name)  # the typed error: ParseError
        assert isinstance(policy, ImportedPolicy)
        catalog = _catalog()
        mapped = map_policy(policy, catalog)
        report = check_report(name, policy, mapped, lint(policy, catalog))
        json.dumps(report)

    return harness


_SNAP_FILE = "smb.conf"
_SNAP_DATA = b"[global]\n  server signing = mandatory\n"
_SNAP_IDS = {
    "samba-smb.conf": "20260101T000000Z-samba-smb.conf-00000000",
    "windows-registry": "20260101T000000Z-windows-registry-00000000",
}


@cache
def _snapshot_store() -> tuple[Any, bytes]:
    """A private store (0700, with its key) holding one directory per snapshot kind."""
    from smbsign.remediate.snapshot import SnapshotStore

    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private 0700 directory there
    root = Path(tempfile.mkdtemp(prefix="smbsign-fuzz-snap-", dir=shm if shm.is_dir() else None))
    store = SnapshotStore(root)
    key = store._key(create=True)  # to sign what the fuzzer writes
    for name in _SNAP_IDS.values():
        (root / name).mkdir(mode=0o700)
    (root / _SNAP_IDS["samba-smb.conf"] / _SNAP_FILE).write_bytes(_SNAP_DATA)
    return store, key


def _snapshot(data: bytes) -> None:
    """What ``rollback`` and ``snapshots list`` read: the manifest unverified (``--format
    reg``, the listing), and the same bytes signed with the store's key, so the fuzzer also
    reaches the checks behind the MAC (``verify``, the data file, the values)."""
    from smbsign.remediate import snapshot as sn
    from smbsign.remediate.render.regfile import render_undo

    store, key = _snapshot_store()
    windows = b"windows-registry" in data
    snap_dir = store.root / _SNAP_IDS[sn.KIND_WINDOWS if windows else sn.KIND_SAMBA]
    (snap_dir / sn.MANIFEST).write_bytes(data)
    (snap_dir / sn.MAC_FILE).write_text(sn._mac(key, data) + "\n")
    status = store.status(snap_dir)
    assert isinstance(status, sn.SnapshotStatus) and status.state in (
        sn.STATE_VERIFIED,
        sn.STATE_TAMPERED,
    )
    allowed = (RemediationError, UsageError)
    with contextlib.suppress(*allowed):
        snap = store.load(snap_dir)
        assert snap.target is not None
        if snap.kind == sn.KIND_WINDOWS:
            render_undo(snap.priors(), snap.id, "smbsign fuzz")
    with contextlib.suppress(*allowed):
        verified = store.verify(snap_dir)
        verified.priors()
        if verified.kind == sn.KIND_SAMBA:
            store.verified_file(verified)


# ------------------------------------------------------------------------------- table

_NONE: tuple[type[BaseException], ...] = ()
_GPO_INF = "Policies/{31B2F340-016D-11D2-945F-00C04FB984F9}/Machine/Microsoft/Windows NT/SecEdit"
_TEXT_MAX = 16384


def _targets() -> Iterator[Target]:
    yield Target(
        "netbios",
        _netbios,
        (ProtocolError,),
        _netbios_seeds,
        "the four RFC 1002 session responses (built in fuzz/targets.py)",
        max_len=64,
    )
    yield Target(
        "ldap_bind_response",
        _ldap_bind_response,
        (ProtocolError,),
        lambda: _files("ldap_bind_response/*", base=SEEDS),
        "fuzz/seeds/ldap_bind_response (bind replies built by tests/unit/ldapwire_fakeserver.py)",
    )
    yield Target(
        "smb2",
        _negotiate,
        (ProtocolError,),
        _smb2_seeds,
        "tests/fixtures/protocol/samba-negotiate.json, tests/unit/smbwire_builders.py",
    )
    yield Target(
        "smb1",
        _negotiate,
        (ProtocolError,),
        _smb1_seeds,
        "tests/fixtures/protocol/samba-negotiate.json, tests/unit/smbwire_builders.py",
    )
    yield Target(
        "reg",
        _collector(regfile, "local.reg", "local.reg"),
        _NONE,
        lambda: _fixture_files_for(regfile, ".reg"),
        "tests/fixtures: every file regfile.sniff accepts (*.reg)",
        max_len=_TEXT_MAX,
    )
    yield Target(
        "gpttmpl",
        _collector(gpttmpl, "GptTmpl.inf", f"{_GPO_INF}/GptTmpl.inf"),
        _NONE,
        lambda: _fixture_files_for(gpttmpl, ".inf"),
        "tests/fixtures: every security template (*.inf)",
        max_len=_TEXT_MAX,
    )
    yield Target(
        "registrypol",
        _collector(registrypol, "Registry.pol", "Policies/{X}/Machine/Registry.pol"),
        _NONE,
        lambda: _fixture_files_for(registrypol, ".pol"),
        "tests/fixtures: every Registry.pol",
    )
    yield Target(
        "smbconf",
        _smbconf,
        _NONE,
        lambda: _fixture_files_for(smbconf, ".conf"),
        "tests/fixtures: every smb.conf (*.conf)",
        max_len=_TEXT_MAX,
    )
    yield Target(
        "pwsh_json",
        _pwsh_json,
        _NONE,
        lambda: _fixture_files_for(pwsh_json, "smbconfig.json"),
        "tests/fixtures: every PowerShell JSON export",
        max_len=_TEXT_MAX,
    )
    yield Target(
        "winreg_json",
        _collector(winreg_local, "registry.json", "registry.json"),
        _NONE,
        lambda: _fixture_files_for(winreg_local, ".recorded.json"),
        "tests/fixtures: recorded registry reads (winreg JSON)",
        max_len=_TEXT_MAX,
    )
    yield Target(
        "hive",
        _hive,
        _NONE,
        lambda: _files("collect/hive/*.hive"),
        "tests/fixtures/collect/hive/*.hive",
        max_len=32768,
    )
    yield Target(
        "nmap_xml",
        _target_file(target_files.NmapXml),
        (UsageError,),
        lambda: _files("scan/*.xml"),
        "tests/fixtures/scan/nmap-7.93-loopback.xml",
    )
    yield Target(
        "nmap_grepable",
        _target_file(target_files.Grepable),
        (UsageError,),
        lambda: _files("scan/*.gnmap") + _files("masscan_list/grepable.txt", base=SEEDS),
        "tests/fixtures/scan/*.gnmap, fuzz/seeds/masscan_list/grepable.txt",
    )
    yield Target(
        "masscan_list",
        _target_file(target_files.MasscanList),
        (UsageError,),
        lambda: _files("masscan_list/*", base=SEEDS),
        "fuzz/seeds/masscan_list (the lines of tests/unit/test_targets.py)",
    )
    yield Target(
        "zmap_list",
        _target_file(target_files.ZmapCsv),
        (UsageError,),
        lambda: _files("zmap_list/*", base=SEEDS),
        "fuzz/seeds/zmap_list (zmap -O csv and plain output)",
    )
    yield Target(
        "plain_list",
        _target_file(target_files.PlainList),
        (UsageError,),
        lambda: _files("plain_list/*", base=SEEDS),
        "fuzz/seeds/plain_list (nmap -iL style)",
    )
    for module, fname in (
        (wazuh_policy, "policy.yml"),
        (wazuh_export, "export.csv"),
        (hardeningkitty, "list.csv"),
        (tenable_audit, "items.audit"),
        (edca, "control.json"),
    ):
        yield Target(
            str(module.KIND),
            _importer(module, fname),
            (ParseError,),
            lambda kind=str(module.KIND): _files(f"{kind}/*", base=SEEDS),
            f"fuzz/seeds/{module.KIND} (hand-written in the published format)",
            max_len=_TEXT_MAX,
        )
    yield Target(
        "snapshot_manifest",
        _snapshot,
        (RemediationError, UsageError),
        _snapshot_seeds,
        "manifests written by SnapshotStore.create (Samba and Windows), signed again per input",
    )


def _all_targets() -> Iterator[Target]:
    from fuzz.targets_ad import targets as ad_targets  # the domain view (docs/fuzzing.md)

    yield from _targets()
    yield from ad_targets(Target)


TARGETS: dict[str, Target] = {t.name: t for t in _all_targets()}

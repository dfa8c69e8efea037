"""Target specs, files, exclusions and lazy expansion (smbsign.scan.targets, docs/scan.md).

nmap inputs: ``tests/fixtures/scan/nmap-7.93-loopback.*`` are real nmap 7.93 outputs (``nmap
-Pn -sT -p 139,445 127.0.0.1 127.0.0.2`` with a listener on 127.0.0.1:445); one test also
runs the installed nmap live against loopback. masscan and zmap are not installed: their
lines follow masscan ``src/out-text.c`` / ``out-grepable.c`` and zmap's csv output.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import shutil
import socket
import subprocess
import threading
import tracemalloc
from pathlib import Path

import pytest

from smbsign.errors import UsageError
from smbsign.scan.target_spec import Name, Range, Single, parse_spec
from smbsign.scan.targets import Target, TargetSource, address_sort_key, load_exclusions

FIXTURES = Path(__file__).parent.parent / "fixtures" / "scan"


def addrs(source: TargetSource) -> list[str]:
    return [t.address or f"name:{t.hostname}" for t in source]


# ------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("10.0.0.1", Single(4, 0x0A000001)),
        (" 10.0.0.1 ", Single(4, 0x0A000001)),
        ("::1", Single(6, 1)),
        ("[::1]", Single(6, 1)),
        ("fe80::1%lo", Single(6, (0xFE80 << 112) | 1, "lo")),
        ("fe80::1%1", Single(6, (0xFE80 << 112) | 1, "1")),
        ("10.0.0.5/30", Range(4, 0x0A000004, 0x0A000007)),  # host bits ignored, like nmap
        ("10.0.0.1-50", Range(4, 0x0A000001, 0x0A000032)),
        ("10.0.0.250-10.0.1.2", Range(4, 0x0A0000FA, 0x0A000102)),
        ("2001:db8::1-2001:db8::ff", Range(6, (0x20010DB8 << 96) | 1, (0x20010DB8 << 96) | 0xFF)),
        ("2001:db8::/120", Range(6, 0x20010DB8 << 96, (0x20010DB8 << 96) | 0xFF)),
        ("DC1.Corp.Example.", Name("dc1.corp.example")),
        ("file-srv_01", Name("file-srv_01")),
        ("bücher.example", Name("xn--bcher-kva.example")),
    ],
)
def test_parse_spec(spec: str, expected: object) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("10.0.0.1-300", "last octet above 255"),
        ("10.0.0.9-3", "ends before it starts"),
        ("10.0.0.1-::1", "mixes IPv4 and IPv6"),
        ("10.0.0.0/33", "does not appear"),
        ("10.0.0.0-3.1", "ranges are"),
        ("10.0.*.1", "ranges are"),
        ("1.2.3", "ranges are"),
        ("host.123", "numeric label"),
        ("a..b", "not an address"),
        ("bad_host!", "not an address"),
        ("fe80::1%no-such-if0", "no network interface"),
        ("fe80::/64%lo", "%scope"),
        ("2001:db8::/64", "exceeds the limit"),
        ("1:2:3", "IPv6"),
        ("", "empty"),
    ],
)
def test_bad_spec_is_one_line_usage_error(spec: str, why: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_spec(spec)
    text = str(err.value)
    assert why in text
    assert repr(spec) in text
    assert "\n" not in text


def test_long_bad_spec_is_shortened() -> None:
    with pytest.raises(UsageError) as err:
        parse_spec("x" * 5000)
    assert len(str(err.value)) < 200


# ---------------------------------------------------------------- expansion + dedupe


def test_expansion_order_and_dedupe() -> None:
    src = TargetSource(
        [
            "10.0.0.3",
            "10.0.0.1-5",
            "10.0.0.0/30",
            "10.0.0.4-10.0.0.7",
            "10.0.0.3",
            "::1",
            "[::1]",
            "fe80::1%lo",
            "fe80::1%lo",
            "Host-A.corp",
            "host-a.corp.",
        ]
    )
    assert addrs(src) == [
        "10.0.0.3",
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.4",
        "10.0.0.5",
        "10.0.0.0",
        "10.0.0.6",
        "10.0.0.7",
        "::1",
        "fe80::1%lo",
        "name:host-a.corp",
    ]


def test_prepare_counts_what_iteration_yields() -> None:
    specs = ["10.0.0.0/24", "10.0.0.128/25", "10.0.1.1", "10.0.0.7", "name.example", "::1"]
    excl = load_exclusions(["10.0.0.0/28"], [])
    src = TargetSource(specs, exclusions=excl)
    assert src.prepare() == len(addrs(src)) == 256 - 16 + 1 + 1 + 1


def test_exclusions_are_subtracted_not_expanded() -> None:
    excl = load_exclusions(["10.0.0.0/8", "192.168.1.10"], [])
    src = TargetSource(["10.1.2.3", "9.255.255.255-11.0.0.1", "192.168.1.9-11"], exclusions=excl)
    assert addrs(src) == ["9.255.255.255", "11.0.0.0", "11.0.0.1", "192.168.1.9", "192.168.1.11"]
    assert excl.excludes_text("10.200.0.1")
    assert not excl.excludes_text("11.0.0.0")
    assert not excl.excludes_text("not-an-address")


def test_exclude_file_and_names_refused(tmp_path: Path) -> None:
    f = tmp_path / "excl.txt"
    f.write_text("# never touch\n10.0.0.1\n\n10.0.0.8/29  # lab\n")
    excl = load_exclusions([], [str(f)])
    assert addrs(TargetSource(["10.0.0.0-20"], exclusions=excl)) == [
        f"10.0.0.{i}" for i in (0, *range(2, 8), *range(16, 21))
    ]
    with pytest.raises(UsageError, match=r"bad exclusion 'dc1\.corp'"):
        load_exclusions(["dc1.corp"], [])
    f.write_text("10.0.0.1\nfileserver\n")
    with pytest.raises(UsageError, match=r"excl\.txt"):
        load_exclusions([], [str(f)])


def test_slash8_iterates_in_constant_memory() -> None:
    src = TargetSource(["10.0.0.0/8", "10.0.0.0/9"])
    assert src.prepare() == 1 << 24
    tracemalloc.start()
    try:
        it = iter(src)
        for _ in itertools.islice(it, 1000):
            pass
        _, early = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        last = None
        for target in itertools.islice(it, 100_000):
            last = target
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last == Target("10.1.138.135")  # index 100999 = 0x018A87
    assert peak < 256 * 1024, (early, peak)


def test_address_sort_key_numeric_v4_then_v6() -> None:
    given = ["::1", "10.0.0.10", "fe80::1%lo", "10.0.0.2", "2001:db8::1", "9.9.9.9"]
    assert sorted(given, key=address_sort_key) == [
        "9.9.9.9",
        "10.0.0.2",
        "10.0.0.10",
        "::1",
        "2001:db8::1",
        "fe80::1%lo",
    ]


# -------------------------------------------------------------------------- files


def test_plain_list_file(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_bytes(b"\xef\xbb\xbf# hosts\n10.0.0.1\n\n  10.0.0.2, 10.0.0.3  # comment\r\ndc1.corp\n")
    assert addrs(TargetSource([], [str(f)])) == [
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.3",
        "name:dc1.corp",
    ]


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_text("10.0.0.1\n10.0.0.2\n10.0.0.300-5\n")
    with pytest.raises(UsageError, match=r"targets\.txt:3: bad target '10\.0\.0\.300-5'"):
        TargetSource([], [str(f)]).prepare()


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"10.0.0.1\n\xff\xfe\n", "not UTF-8"), (b"\x00" * 70000, "line too long")],
)
def test_binary_file_is_usage_error(tmp_path: Path, content: bytes, match: str) -> None:
    f = tmp_path / "blob"
    f.write_bytes(content)
    with pytest.raises(UsageError, match=match):
        TargetSource([], [str(f)]).prepare()


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        TargetSource([], [str(tmp_path / "missing")]).prepare()
    with pytest.raises(UsageError, match="directory"):
        TargetSource([], [str(tmp_path)]).prepare()
    with pytest.raises(UsageError, match="only once"):
        TargetSource([], ["-", "-"])


def test_empty_file_names_no_targets(tmp_path: Path) -> None:
    f = tmp_path / "empty"
    f.write_text("\n\n")
    src = TargetSource([], [str(f)])
    assert src.prepare() == 0
    assert addrs(src) == []


def test_nmap_xml_recorded_only_open_smb_ports() -> None:
    src = TargetSource([], [str(FIXTURES / "nmap-7.93-loopback.xml")])
    assert list(src) == [Target("127.0.0.1", None, (445,))]  # .2 had both ports closed


def test_nmap_grepable_recorded() -> None:
    src = TargetSource([], [str(FIXTURES / "nmap-7.93-loopback.gnmap")])
    assert addrs(src) == ["127.0.0.1"]


NMAP_HOST = (
    '<host><status state="up"/><address addr="{addr}" addrtype="{kind}"/>'
    '<address addr="00:11:22:33:44:55" addrtype="mac"/>'
    '<hostnames><hostname name="{name}" type="user"/><hostname name="ptr.example" type="PTR"/>'
    "</hostnames><ports>{ports}</ports></host>\n"
)


def nmap_port(port: int, state: str, proto: str = "tcp") -> str:
    return f'<port protocol="{proto}" portid="{port}"><state state="{state}"/></port>'


def test_nmap_xml_keeps_open_ports_and_user_hostname() -> None:
    hosts = [
        NMAP_HOST.format(
            addr="10.0.0.1",
            kind="ipv4",
            name="dc1.corp",
            ports=nmap_port(139, "open") + nmap_port(445, "filtered"),
        ),
        NMAP_HOST.format(
            addr="2001:db8::5",
            kind="ipv6",
            name="",
            ports=nmap_port(445, "open") + nmap_port(139, "open"),
        ),
        NMAP_HOST.format(
            addr="10.0.0.3",
            kind="ipv4",
            name="x",
            ports=nmap_port(445, "open|filtered") + nmap_port(445, "open", "udp"),
        ),
        NMAP_HOST.format(
            addr="10.0.0.4",
            kind="ipv4",
            name="bad name!",
            ports=nmap_port(80, "open") + nmap_port(445, "open"),
        ),
    ]
    xml = '<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun>\n' + "".join(hosts) + "</nmaprun>\n"
    src = TargetSource([], ["-"], stdin=io.BytesIO(xml.encode()))
    assert list(src) == [
        Target("10.0.0.1", "dc1.corp", (139,)),
        Target("2001:db8::5", None, (445, 139)),
        Target("10.0.0.4", None, (445,)),
    ]


def test_nmap_xml_memory_is_flat(tmp_path: Path) -> None:
    f = tmp_path / "big.xml"
    with f.open("w") as fh:
        fh.write('<?xml version="1.0"?>\n<nmaprun>\n')
        for i in range(8000):
            addr = f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
            fh.write(
                NMAP_HOST.format(addr=addr, kind="ipv4", name="", ports=nmap_port(445, "open"))
            )
        fh.write("</nmaprun>\n")
    src = TargetSource([], [str(f)])
    count = 0
    tracemalloc.start()
    try:
        it = iter(src)
        for _ in itertools.islice(it, 2000):
            count += 1
        _, before = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in it:
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8000
    # the seen-set for 6,000 more listed addresses is allowed (~100 bytes each); the XML
    # tree (~1.5 KiB a host element) is not kept
    assert peak < before + 6000 * 150, (before, peak)


@pytest.mark.parametrize(
    ("xml", "match"),
    [
        (b"<?xml version='1.0'?>\n<html><body/></html>\n", "not nmap"),
        (b'<?xml version="1.0"?>\n<nmaprun>\n<host><address addr="10.0.0.1"', "truncated"),
        (b"<nmaprun><host></nmaprun>\n", "malformed"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b'<nmaprun><host><address addr="&x;" addrtype="ipv4"/></host></nmaprun>\n',
            "external",
        ),
    ],
)
def test_bad_nmap_xml(xml: bytes, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        list(TargetSource([], ["-"], stdin=io.BytesIO(xml)))


def test_entity_expansion_bomb_is_refused() -> None:
    ents = "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(12))
    xml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaaaa">{ents}]>\n'
        '<nmaprun><host><address addr="&m;" addrtype="ipv4"/></host></nmaprun>\n'
    )
    with pytest.raises(UsageError, match="amplification"):
        list(TargetSource([], ["-"], stdin=io.BytesIO(xml.encode())))


def test_masscan_list() -> None:
    data = (
        b"#masscan\nopen tcp 445 10.0.0.5 1700000000\nopen tcp 80 10.0.0.6 1700000000\n"
        b"banner tcp 445 10.0.0.7 1700000001 smb hello\nopen tcp 139 10.0.0.5 1700000002\n"
        b"open tcp 139 10.0.0.8 1700000003\n# end\n"
    )
    assert addrs(TargetSource([], ["-"], stdin=io.BytesIO(data))) == ["10.0.0.5", "10.0.0.8"]


def test_masscan_lines_without_header_and_masscan_grepable() -> None:
    lines = b"open tcp 445 10.0.0.5 1700000000\nopen tcp 445 2001:db8::7 1700000000\n"
    assert addrs(TargetSource([], ["-"], stdin=io.BytesIO(lines))) == ["10.0.0.5", "2001:db8::7"]
    grep = (
        b"# Masscan 1.3.2 scan initiated Sat Nov 21 20:00:00 2026\n"
        b"Timestamp: 1700000000\tHost: 10.0.0.9 ()\tPorts: 445/open/tcp//microsoft-ds//\n"
        b"Timestamp: 1700000000\tHost: 10.0.0.10 ()\tPorts: 22/open/tcp//ssh//\n"
        b"# Masscan done at Sat Nov 21 20:01:00 2026\n"
    )
    assert addrs(TargetSource([], ["-"], stdin=io.BytesIO(grep))) == ["10.0.0.9"]


def test_masscan_garbage_line() -> None:
    data = b"#masscan\nopen tcp 445 10.0.0.5 1700000000\nthis is not masscan\n"
    with pytest.raises(UsageError, match="<stdin>:3: not a masscan list line"):
        list(TargetSource([], ["-"], stdin=io.BytesIO(data)))


def test_zmap_plain_and_csv() -> None:
    assert addrs(TargetSource([], ["-"], stdin=io.BytesIO(b"10.0.0.1\n10.0.0.2\n"))) == [
        "10.0.0.1",
        "10.0.0.2",
    ]
    csv = b"saddr,daddr,sport,success\n10.0.0.3,10.9.9.9,445,1\n10.0.0.4,10.9.9.9,445,1\n"
    assert addrs(TargetSource([], ["-"], stdin=io.BytesIO(csv))) == ["10.0.0.3", "10.0.0.4"]


@pytest.mark.skipif(shutil.which("nmap") is None or os.geteuid() != 0, reason="needs nmap + root")
def test_live_nmap_xml_against_loopback(tmp_path: Path) -> None:
    """Real nmap output: a listener on 127.83.0.1:445, nothing on 127.83.0.2 (loopback only)."""
    listener = socket.socket()
    try:
        listener.bind(("127.83.0.1", 445))
    except OSError as exc:
        listener.close()
        pytest.skip(f"cannot bind 127.83.0.1:445: {exc}")
    with listener:
        listener.listen(8)
        out = tmp_path / "scan.xml"
        subprocess.run(
            ["nmap", "-n", "-Pn", "-sT", "-p139,445", "-oX", str(out), "127.83.0.1", "127.83.0.2"],
            check=True,
            capture_output=True,
            timeout=120,
        )
    assert list(TargetSource([], [str(out)])) == [Target("127.83.0.1", None, (445,))]


# -------------------------------------------------------------------------- stdin


def test_stdin_streams_before_eof() -> None:
    """A pipe still being written yields targets as lines arrive (zmap | smbsign)."""
    read_fd, write_fd = os.pipe()
    got: list[str] = []
    first_seen = threading.Event()

    async def consume() -> None:
        with os.fdopen(read_fd, "rb") as stream:
            async for target in TargetSource(["10.9.9.9"], ["-"], stdin=stream):
                got.append(target.address or "")
                if len(got) == 2:
                    first_seen.set()

    def produce() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as pipe:
            pipe.write(b"10.0.0.1\n")
            # the consumer must see line 1 while the pipe is still open
            assert first_seen.wait(30)
            pipe.write(b"10.0.0.2\n10.0.0.1\n")

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        asyncio.run(asyncio.wait_for(consume(), 60))
    finally:
        first_seen.set()
        producer.join(60)
    assert got == ["10.9.9.9", "10.0.0.1", "10.0.0.2"]


class LineByLine(io.BytesIO):
    """A stream that, like a pipe, hands out one line per read."""

    def read1(self, size: int = -1) -> bytes:
        return self.readline(size)


def test_async_iteration_surfaces_bad_stdin_line() -> None:
    out: list[str] = []

    async def consume() -> None:
        stream = LineByLine(b"10.0.0.1\n10.0.0.2\n10.0.0.300\n10.0.0.4\n")
        async for target in TargetSource([], ["-"], stdin=stream):
            out.append(target.address or "")

    with pytest.raises(UsageError, match=r"<stdin>:3: bad target .10\.0\.0\.300."):
        asyncio.run(consume())
    assert out == ["10.0.0.1", "10.0.0.2"]


# ------------------------------------------------------- special addresses (#11 item 2)


def test_whole_ipv4_space_counts_without_expansion_and_skips_special_blocks() -> None:
    """0.0.0.0/0 minus 0/8, 127/8, 224/4 and 240/4 (RFC 6890, RFC 5771), by arithmetic."""
    src = TargetSource(["0.0.0.0/0"])
    assert src.prepare() == (1 << 32) - 2 * (1 << 24) - 2 * (1 << 28)
    assert src.skipped == 2 * (1 << 24) + 2 * (1 << 28)
    first = [t.address for t in itertools.islice(iter(src), 2)]
    assert first == ["1.0.0.0", "1.0.0.1"]


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (
            ["126.255.255.254-128.0.0.1"],
            ["126.255.255.254", "126.255.255.255", "128.0.0.0", "128.0.0.1"],
        ),
        (["223.255.255.255-224.0.0.2"], ["223.255.255.255"]),
        (["224.0.0.0/24"], []),
        (["255.255.255.254/31"], []),
        (["0.0.0.0/30"], []),
        (["127.0.0.1-3"], ["127.0.0.1", "127.0.0.2", "127.0.0.3"]),  # wholly loopback: kept
        (["0.0.0.0", "255.255.255.255", "224.0.0.1"], ["0.0.0.0", "255.255.255.255", "224.0.0.1"]),
        (["10.0.0.0/30"], ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]),  # like nmap
        (["::-::3"], ["::2", "::3"]),
        (["::1"], ["::1"]),
        (
            ["feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ff00::1"],
            ["feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
        ),
    ],
)
def test_ranges_skip_special_addresses_named_ones_are_kept(
    specs: list[str], expected: list[str]
) -> None:
    src = TargetSource(specs)
    assert addrs(src) == expected
    assert TargetSource(specs).prepare() == len(expected)


# --------------------------------------------------------- link-local (#11 item 13)


@pytest.mark.parametrize("spec", ["fe80::1", "[fe80::5a6d:12]", "fe80::1-fe80::5"])
def test_link_local_without_interface_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match="link-local"):
        parse_spec(spec)


# -------------------------------------------------------------- UTF-16 (#11 item 24)


@pytest.mark.parametrize(
    "encoded",
    [
        "\ufeff10.0.0.1\r\n10.0.0.2\r\n".encode("utf-16-le"),  # PowerShell 5 `>`
        "\ufeff10.0.0.1\r\n10.0.0.2\r\n".encode("utf-16-be"),
        "10.0.0.1\r\n10.0.0.2\r\n".encode("utf-16-le"),  # BOM-less, as the audit reads it
        b"\xef\xbb\xbf10.0.0.1\n10.0.0.2\n",
    ],
)
def test_utf16_target_files_and_stdin(tmp_path: Path, encoded: bytes) -> None:
    f = tmp_path / "targets.txt"
    f.write_bytes(encoded)
    assert addrs(TargetSource([], [str(f)])) == ["10.0.0.1", "10.0.0.2"]
    assert TargetSource([], [str(f)]).prepare() == 2
    assert addrs(TargetSource([], ["-"], stdin=LineByLine(encoded))) == ["10.0.0.1", "10.0.0.2"]
    got: list[str] = []

    async def consume() -> None:
        async for target in TargetSource([], ["-"], stdin=LineByLine(encoded)):
            got.append(target.address or "")

    asyncio.run(consume())
    assert got == ["10.0.0.1", "10.0.0.2"]
    f.write_bytes(encoded.replace(b"2", b"9"))
    excl = load_exclusions([], [str(f)])
    assert excl.excludes_text("10.0.0.1") and excl.excludes_text("10.0.0.9")


def test_broken_utf16_is_a_usage_error(tmp_path: Path) -> None:
    f = tmp_path / "targets.txt"
    f.write_bytes("\ufeff10.0.0.1\r\n".encode("utf-16-le") + b"\x31")  # odd byte count
    with pytest.raises(UsageError, match="not valid UTF-16"):
        TargetSource([], [str(f)]).prepare()


# ------------------------------------------------- bad stdin lines (#11 item 11)


@pytest.mark.parametrize("stream", [io.BytesIO, LineByLine])
def test_bad_stdin_line_is_reported_and_reading_goes_on(stream: type[io.BytesIO]) -> None:
    """All lines in one chunk (a pipe's usual read) or one by one: A and B are kept."""
    data = b"10.0.0.1\n10.0.0.2\nbogus..x\n10.0.0.4\n" + b"9" * 200_000 + b"\n10.0.0.5\n"
    for asynchronous in (False, True):
        errors: list[str] = []
        src = TargetSource([], ["-"], stdin=stream(data), on_bad_line=errors.append)
        if asynchronous:
            got: list[str] = []

            async def consume(source: TargetSource = src, out: list[str] = got) -> None:
                async for target in source:
                    out.append(target.address or "")

            asyncio.run(consume())
        else:
            got = addrs(src)
        assert got == ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5"]
        assert errors[0].startswith("<stdin>:3: bad target 'bogus..x'")
        assert errors[1] == "<stdin>:5: line too long"
        assert len(errors) == 2


def test_malformed_nmap_xml_on_stdin_keeps_the_hosts_before_it() -> None:
    xml = (FIXTURES / "nmap-7.93-loopback.xml").read_bytes()
    cut = xml[: xml.index(b"</host>") + len(b"</host>")] + b"\n<host><junk"
    errors: list[str] = []
    src = TargetSource([], ["-"], stdin=io.BytesIO(cut), on_bad_line=errors.append)
    assert addrs(src) == ["127.0.0.1"]
    assert len(errors) == 1 and "malformed nmap XML" in errors[0]


def test_stdin_range_past_the_limit_is_skipped_without_expansion() -> None:
    errors: list[str] = []
    data = b"10.0.0.1\n10.0.0.0/8\n10.0.0.2\n10.1.0.0/30\n"
    src = TargetSource(
        ["10.2.0.0/17"], ["-"], stdin=io.BytesIO(data), on_bad_line=errors.append, limit=1 << 16
    )
    assert src.prepare() is None
    got = [t.address for t in src]
    assert got[-6:] == ["10.0.0.1", "10.0.0.2", *(f"10.1.0.{i}" for i in range(4))]
    assert len(got) == (1 << 15) + 6
    assert errors == [
        "<stdin>: range 10.0.0.0-10.255.255.255 (16,744,448 addresses) would take the scan "
        "past 65,536 targets (a /16): skipped; give --force to scan it"
    ]

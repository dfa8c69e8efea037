"""`smbsign scan` as a user runs it: a subprocess against fake SMB servers on loopback.

The servers (127.0.0.0/8 and ::1 only) answer with replies laid out field by field in
``smbwire_builders`` from the docs/reference.md §5.5/§5.6 tables; each address plays one profile
(signing required, not required, SMB1-only with signing disabled, not SMB, silent). Real
Samba is exercised by tests/lab/test_scan_lab.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from smbwire_builders import (
    framed,
    smb1_negotiate_response,
    smb1_no_dialect_response,
    smb2_negotiate_response,
)
from smbwire_fakeserver import classify

from smbsign.scan.output import CSV_COLUMNS, load_schema

SCHEMA = load_schema()
DOCUMENT = jsonschema.Draft202012Validator({**SCHEMA, "$ref": "#/$defs/document"})

# profile -> request kind -> reply bytes (None: close without a reply; absent: never answer)
PROFILES: dict[str, dict[str, bytes | None]] = {
    "required": {
        "smb2": framed(smb2_negotiate_response(security_mode=0x03)),
        "smb1_ntlm": framed(smb1_no_dialect_response()),
    },
    "not_required": {
        "smb2": framed(smb2_negotiate_response(security_mode=0x01)),
        "smb1_ntlm": None,
    },
    "smb1_disabled": {  # SMB1-only server, SecurityMode 0x03: user level, no signing bits
        "smb2": None,
        "smb1_ntlm": framed(smb1_negotiate_response(security_mode=0x03)),
        "smb1_multi": framed(smb1_negotiate_response(security_mode=0x03)),
    },
    "http": {"smb2": b"HTTP/1.1 400 Bad Request\r\n\r\n", "smb1_ntlm": b"HTTP/1.1 400 Bad\r\n\r\n"},
    "silent": {},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Loopback:
    """Fake SMB servers on ``address -> profile``, all on one port, in a background loop."""

    def __init__(self, hosts: dict[str, str], port: int | None = None) -> None:
        self.hosts = hosts
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[asyncio.Server] = []

    async def _handle(
        self, profile: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            header = await reader.readexactly(4)
            body = await reader.readexactly(min(int.from_bytes(header[1:], "big"), 65536))
            actions = PROFILES[profile]
            kind = classify(body)
            if kind in actions:
                answer = actions[kind]
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
            while await reader.read(4096):  # hold until the client closes
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _start(self) -> None:
        for address, profile in self.hosts.items():
            server = await asyncio.start_server(
                lambda r, w, p=profile: self._handle(p, r, w), address, self.port, backlog=128
            )
            self.servers.append(server)

    async def _stop(self) -> None:
        for server in self.servers:
            server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    def __enter__(self) -> Loopback:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def smbsign(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "scan", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=stdin,
    )


def jsonl(text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in text.splitlines()]
    for rec in records:
        jsonschema.validate(rec, SCHEMA)
    return records


# -------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no targets"),
        (("10.0.0.1-300",), "bad target '10.0.0.1-300'"),
        (("-iL", "/nonexistent/targets.txt"), "cannot read /nonexistent/targets.txt"),
        (("127.0.0.1", "--ports", "0"), "bad --ports"),
        (("127.0.0.1", "--ports", "445,x"), "bad --ports"),
        (("127.0.0.1", "--rate", "-5"), "bad --rate"),
        (("127.0.0.1", "--connect-timeout", "0"), "bad --connect-timeout"),
        (("127.0.0.1", "--exclude", "dc1.corp"), "bad exclusion"),
        (("127.0.0.1", "--exclude-file", "/nonexistent/x"), "cannot read"),
        (("127.0.0.1", "--relay-list", "/nonexistent/dir/relay.txt"), "cannot write --relay-list"),
        (("127.0.0.1", "-o", "/nonexistent/dir/out.json"), "cannot write"),
        (("-iL", "-", "-iL", "-"), "only once"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = smbsign(*args, stdin="")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("smbsign: error: ")
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_bad_line_in_file_stops_before_any_probe(tmp_path: Path) -> None:
    targets = tmp_path / "t.txt"
    targets.write_text("127.0.0.1\n127.0.0.2\n127.0.0.3/40\n")
    with Loopback({"127.0.0.1": "not_required"}) as lab:
        proc = smbsign("-iL", str(targets), "--ports", str(lab.port))
    assert proc.returncode == 2
    assert "t.txt:3: bad target '127.0.0.3/40'" in proc.stderr
    assert proc.stdout == ""  # nothing probed


@pytest.mark.parametrize(
    ("fd", "extra", "code", "message"),
    [
        (0, (), 0, ""),  # stdin closed and not needed
        (0, ("-iL", "-"), 2, "smbsign: error: '-iL -' needs a standard input\n"),
        (1, (), 2, "smbsign: error: standard output is closed: give -o FILE for the records\n"),
        (1, ("-o", "{out}"), 0, None),
        (2, ("-o", "{out}"), 0, None),
    ],
)
def test_closed_standard_streams(
    tmp_path: Path, fd: int, extra: tuple[str, ...], code: int, message: str | None
) -> None:
    """Started with stdin, stdout or stderr closed: a usage error or a normal run, never an
    internal error (Python sets the closed stream to None)."""
    out = tmp_path / "scan.json"
    args = [a.replace("{out}", str(out)) for a in extra]
    proc = subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "scan"]
        + ([] if "-iL" in args else ["127.0.0.40"])
        + ["--ports", str(free_port()), "--no-store", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(fd),
    )
    assert proc.returncode == code, proc.stderr
    assert "internal error" not in proc.stderr
    if message is not None:
        assert proc.stderr.endswith(message) if message else "Traceback" not in proc.stderr
    if "-o" in args:
        assert json.loads(out.read_text())["records"][0]["status"] == "closed"


@pytest.mark.parametrize(
    "args", [("--format", "xml"), ("--relay-format", "csv"), ("--concurrency", "0"), ("--bogus",)]
)
def test_click_option_errors_exit_2(args: tuple[str, ...]) -> None:
    proc = smbsign("127.0.0.1", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_help_states_the_exit_codes() -> None:
    """Issue #2: exit codes 0/1/2 (+3 for undetermined hosts) are documented in --help."""
    proc = subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", "scan", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert proc.returncode == 0
    text = " ".join(proc.stdout.replace("│", " ").split())
    for phrase in (
        "Exit codes: 0 every SMB host that answered requires signing",
        "1 at least one does not",
        "2 usage error",
        "3 some SMB host could not be determined and none was proven not to require signing",
        "130 interrupted",
    ):
        assert phrase in text, phrase
    docs = (Path(__file__).parents[2] / "docs" / "scan.md").read_text()
    for code in ("0", "1", "2", "3", "130", "141"):
        assert f"\n| {code} | " in docs, code


# ----------------------------------------------------------------------- end to end

MIXED = {
    "127.0.0.11": "required",
    "127.0.0.12": "not_required",
    "127.0.0.13": "smb1_disabled",
    "127.0.0.14": "http",
    "::1": "required",
}
# 127.0.0.15 has no server: closed


@pytest.fixture(scope="module")
def mixed() -> Iterator[Loopback]:
    with Loopback(MIXED) as lab:
        yield lab


def test_jsonl_records_relay_list_and_exit_1(mixed: Loopback, tmp_path: Path) -> None:
    relay = tmp_path / "relay.txt"
    relay.write_text("10.9.9.9\n127.0.0.12\n")  # stale content: must be rewritten
    proc = smbsign(
        "127.0.0.11-15",
        "::1",
        "--ports",
        str(mixed.port),
        "--relay-list",
        str(relay),
        "--read-timeout",
        "5",
    )
    assert proc.returncode == 1, proc.stderr
    by = {r["target"]: r for r in jsonl(proc.stdout)}
    assert set(by) == {"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "::1"}
    assert (by["127.0.0.11"]["status"], by["127.0.0.11"]["signing_required"]) == ("ok", True)
    assert by["127.0.0.11"]["smb2"]["security_mode"] == 0x03
    assert by["127.0.0.11"]["smb1"]["offered"] is False
    assert (by["127.0.0.12"]["signing_required"], by["127.0.0.12"]["relayable"]) == (False, True)
    assert by["127.0.0.12"]["smb2"] == {
        **by["127.0.0.12"]["smb2"],
        "security_mode": 1,
        "dialect": "3.1.1",
        "signing_required": False,
    }
    smb1 = by["127.0.0.13"]
    assert (smb1["status"], smb1["signing_required"], smb1["smb2"]) == ("ok", False, None)
    assert (smb1["smb1"]["offered"], smb1["smb1"]["signing"]) == (True, "disabled")
    assert by["127.0.0.14"]["status"] == "not_smb"
    assert (by["127.0.0.15"]["status"], by["127.0.0.15"]["signing_required"]) == ("closed", None)
    assert by["::1"]["signing_required"] is True
    assert relay.read_text() == "127.0.0.12\n127.0.0.13\n"
    assert "2 signing NOT required, 2 required, 0 unknown" in proc.stderr


def test_relay_list_for_ntlmrelayx(tmp_path: Path) -> None:
    """--relay-format ntlmrelayx: IPv6 lines in brackets (what ntlmrelayx -tf parses)."""
    relay = tmp_path / "relay.txt"
    with Loopback({"::1": "not_required", "127.0.0.61": "not_required"}) as lab:
        args = ("::1", "127.0.0.61", "--ports", str(lab.port), "--relay-list", str(relay))
        proc = smbsign(*args, "--relay-format", "ntlmrelayx")
        assert proc.returncode == 1, proc.stderr
        assert relay.read_text() == "127.0.0.61\n[::1]\n"
        proc = smbsign(*args)
        assert proc.returncode == 1, proc.stderr
        assert relay.read_text() == "127.0.0.61\n::1\n"


def test_json_document_and_csv(mixed: Loopback, tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "scan.json", tmp_path / "scan.csv"
    args = ("127.0.0.11", "127.0.0.12", "127.0.0.15", "--ports", str(mixed.port), "-q")
    proc = smbsign(*args, "-o", str(out_json))
    assert proc.returncode == 1
    assert proc.stderr == ""  # -q
    doc = json.loads(out_json.read_text())
    DOCUMENT.validate(doc)
    assert doc["complete"] is True
    assert doc["summary"]["statuses"] == {
        "ok": 2,
        "closed": 1,
        "filtered": 0,
        "not_smb": 0,
        "error": 0,
    }
    proc = smbsign(*args, "-o", str(out_csv))  # format from the suffix
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert sorted((r["target"], r["status"], r["signing_required"]) for r in rows) == [
        ("127.0.0.11", "ok", "true"),
        ("127.0.0.12", "ok", "false"),
        ("127.0.0.15", "closed", ""),
    ]


def test_only_required_hosts_exit_0_and_table(mixed: Loopback) -> None:
    proc = smbsign(
        "127.0.0.11", "127.0.0.15", "::1", "--ports", str(mixed.port), "--format", "table"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["TARGET", "PORT", "STATUS"]
    assert len(lines) == 3  # header + two hosts; the closed one only counted
    assert all("required" in line and "NOT" not in line for line in lines[1:])
    assert "1 closed" in proc.stderr


def test_fallback_port_used_when_first_is_closed(mixed: Loopback) -> None:
    closed_port = free_port()
    proc = smbsign("127.0.0.12", "--ports", f"{closed_port},{mixed.port}")
    (rec,) = jsonl(proc.stdout)
    assert (rec["port"], rec["relayable"]) == (mixed.port, True)
    proc = smbsign("127.0.0.12", "--ports", f"{closed_port},{mixed.port}", "--all-ports")
    assert sorted((r["port"], r["status"]) for r in jsonl(proc.stdout)) == sorted(
        [(closed_port, "closed"), (mixed.port, "ok")]
    )


def test_names_stdin_and_exclusions(mixed: Loopback) -> None:
    proc = smbsign(
        "-iL",
        "-",
        "--ports",
        str(mixed.port),
        "--exclude",
        "127.0.0.13",
        stdin="# from a pipe\nlocalhost\n127.0.0.12\n127.0.0.13\n",
    )
    records = jsonl(proc.stdout)
    got = sorted((r["target"], r["hostname"]) for r in records)
    assert ("127.0.0.12", None) in got
    assert ("127.0.0.1", "localhost") in got  # resolved, name kept (closed there)
    assert not any(r["target"] == "127.0.0.13" for r in records)


def test_unknown_without_not_required_is_exit_3() -> None:
    with Loopback({"127.0.0.31": "required", "127.0.0.32": "silent"}) as lab:
        proc = smbsign(
            "127.0.0.31", "127.0.0.32", "--ports", str(lab.port), "--read-timeout", "0.5"
        )
    assert proc.returncode == 3, proc.stderr
    by = {r["target"]: r for r in jsonl(proc.stdout)}
    assert by["127.0.0.32"]["status"] == "error"
    assert by["127.0.0.32"]["signing_required"] is None
    assert by["127.0.0.32"]["reason"].startswith("read_timeout")
    assert "could not be checked" in proc.stderr


def test_nothing_answers_is_exit_0_with_note(tmp_path: Path) -> None:
    relay = tmp_path / "relay.txt"
    proc = smbsign("127.0.0.40-43", "--ports", str(free_port()), "--relay-list", str(relay))
    assert proc.returncode == 0
    assert "no SMB server answered" in proc.stderr
    assert relay.read_text() == ""


def test_bad_stdin_line_midscan_closes_outputs_exit_2(mixed: Loopback, tmp_path: Path) -> None:
    """#11 item 11: the valid lines around a bad one are all probed (docs/scan.md)."""
    out = tmp_path / "scan.json"
    proc = smbsign(
        "-iL",
        "-",
        "--ports",
        str(mixed.port),
        "-o",
        str(out),
        stdin="127.0.0.12\n127.0.0.11\nbogus..x\n127.0.0.13\n",
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert errors[0].startswith("smbsign: error: <stdin>:3: bad target 'bogus..x'")
    doc = json.loads(out.read_text())
    DOCUMENT.validate(doc)
    assert doc["complete"] is False
    assert sorted(r["target"] for r in doc["records"]) == [
        "127.0.0.11",
        "127.0.0.12",
        "127.0.0.13",
    ]


# ------------------------------------------------------------- #11 items 2, 13, 15, 24

SCAN = (sys.executable, "-c", "from smbsign.cli import main; main()", "scan")
# All loopback: if the guard were missing, these would probe only this machine.
LOOPBACK_SLASH15 = "127.0.0.0/15"
# The estimate below assumes a connect scan, 512 in flight: as root the default is a SYN sweep
# and the concurrency follows the open-file limit (#10), so both are pinned.
PINNED = ("--sweep", "connect", "--concurrency", "512")


def test_more_than_a_slash16_needs_force_before_any_packet(tmp_path: Path) -> None:
    out = tmp_path / "scan.jsonl"
    started = time.monotonic()
    proc = smbsign(
        LOOPBACK_SLASH15, "--ports", str(free_port()), *PINNED, "-o", str(out), timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("smbsign: error: 131,072 targets, more than a /16")
    assert "give --force" in proc.stderr
    assert "8 min 32 s" in proc.stderr  # 131,072 x 2 s / 512 x 1 port, worst case (silent)
    assert not out.exists() or out.read_text() == ""
    assert time.monotonic() - started < 30
    # the same from stdin: the range line is skipped, the single address is probed
    proc = smbsign(
        "-iL", "-", "--ports", str(free_port()), stdin=f"127.0.0.9\n{LOOPBACK_SLASH15}\n"
    )
    assert proc.returncode == 2, proc.stderr
    assert "give --force" in proc.stderr
    assert [r["target"] for r in jsonl(proc.stdout)] == ["127.0.0.9"]


def test_guard_declined_on_a_terminal() -> None:
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*SCAN, LOOPBACK_SLASH15, "--ports", str(free_port()), "--no-store", *PINNED],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    try:
        while b"[y/N]" not in seen:
            chunk = os.read(master, 4096)
            assert chunk, seen
            seen += chunk
        os.write(master, b"n\n")
        stdout, _ = proc.communicate(timeout=60)
        with contextlib.suppress(OSError):
            while data := os.read(master, 4096):
                seen += data
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        os.close(master)
    assert proc.returncode == 2
    assert stdout == b""
    text = seen.decode(errors="replace")
    assert "131,072 targets" in text and "8 min 32 s" in text
    assert "not confirmed" in text


def test_guard_estimate() -> None:
    from smbsign.cli.scan_cmd import estimate_seconds, human_duration

    assert estimate_seconds(65536, ports=1, concurrency=512, rate=None, connect_timeout=2) == 256
    assert estimate_seconds(1000, ports=2, concurrency=512, rate=10, connect_timeout=2) == 200
    assert human_duration(256) == "4 min 16 s"
    assert human_duration(3724541952 * 2 / 512) == "168 d 9 h"
    assert human_duration(0.2) == "1 s"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("-iL", "{empty}"), "", "no targets"),
        (("127.0.0.5", "--exclude", "127.0.0.0/24"), "", "no targets"),
        (("224.0.0.0/24",), "", "no targets"),
        (("-iL", "-"), "# nothing\n", "no targets"),
    ],
)
def test_empty_target_set_is_a_usage_error(
    tmp_path: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    argv = [a.replace("{empty}", str(empty)) for a in args]
    proc = smbsign(*argv, "--ports", str(free_port()), "--no-store", stdin=stdin)
    assert proc.returncode == 2, proc.stderr
    assert f"smbsign: error: {message}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_relay_format_without_relay_list_warns() -> None:
    proc = smbsign("127.0.0.40", "--ports", str(free_port()), "--relay-format", "ntlmrelayx")
    assert proc.returncode == 0, proc.stderr
    assert "smbsign: warning: --relay-format has no effect without --relay-list" in proc.stderr


def test_link_local_without_interface_is_a_usage_error() -> None:
    proc = smbsign("fe80::1", "--ports", str(free_port()))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "link-local address needs its interface, e.g. fe80::1%eth0" in proc.stderr


def test_utf16_target_list(mixed: Loopback, tmp_path: Path) -> None:
    """What PowerShell 5 `"127.0.0.11" > targets.txt` writes: UTF-16LE with a BOM."""
    targets = tmp_path / "targets.txt"
    targets.write_bytes("\ufeff127.0.0.11\r\n127.0.0.12\r\n".encode("utf-16-le"))
    proc = smbsign("-iL", str(targets), "--ports", str(mixed.port), "--no-store")
    assert proc.returncode == 1, proc.stderr
    assert sorted(r["target"] for r in jsonl(proc.stdout)) == ["127.0.0.11", "127.0.0.12"]


def test_summary_is_singular_and_never_on_stdout(mixed: Loopback) -> None:
    """#11 item 14: "1 target, 1 record"; stdout holds records only (`| head -1`)."""
    proc = smbsign("127.0.0.11", "--ports", str(mixed.port), "--no-store")
    assert proc.returncode == 0, proc.stderr
    assert "smbsign: 1 target, 1 record: " in proc.stderr
    assert [r["target"] for r in jsonl(proc.stdout)] == ["127.0.0.11"]
    assert "target" not in proc.stdout.replace('"target"', "")


# --------------------------------------------------------------------- interrupted


def wait_for(path: Path, needle: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(600):  # bounded: at most ~60 s
        if path.exists() and needle in path.read_text():
            return
        if proc.poll() is not None:
            pytest.fail(
                f"scan ended early: {proc.returncode} {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.1)
    pytest.fail(f"{needle!r} never appeared in {path}")


@pytest.mark.parametrize(
    ("fmt", "sig"),
    [
        ("json", signal.SIGINT),
        ("csv", signal.SIGINT),
        ("jsonl", signal.SIGINT),
        ("txt", signal.SIGINT),
        ("json", signal.SIGTERM),
    ],
)
def test_interrupt_leaves_valid_outputs(tmp_path: Path, fmt: str, sig: int) -> None:
    """Ctrl-C mid-scan: in-flight probes cancelled, files closed and parseable, relay list kept."""
    hosts = {"127.0.0.50": "not_required", **{f"127.0.0.{i}": "silent" for i in range(51, 91)}}
    out, relay = tmp_path / f"scan.{fmt}", tmp_path / "relay.txt"
    with Loopback(hosts) as lab:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from smbsign.cli import main; main()",
                "scan",
                "127.0.0.50-90",
                "--ports",
                str(lab.port),
                "--concurrency",
                "4",
                "--read-timeout",
                "120",
                "-o",
                str(out),
                "--relay-list",
                str(relay),
                "--no-progress",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(out, "127.0.0.50", proc)
            time.sleep(0.3)  # let the next probes start and hang on silent hosts
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    if fmt == "json":
        doc = json.loads(out.read_text())
        DOCUMENT.validate(doc)
        assert doc["complete"] is False
        targets = [r["target"] for r in doc["records"]]
    elif fmt == "jsonl":
        targets = [r["target"] for r in jsonl(out.read_text())]  # every line whole and valid
    elif fmt == "txt":  # the table: header, then one whole row per answering host
        lines = out.read_text().splitlines()
        assert lines[0].split()[:3] == ["TARGET", "PORT", "STATUS"]
        targets = [line.split()[0] for line in lines[1:]]
        assert "NOT required" in lines[1]
    else:
        text = out.read_text()
        assert text.endswith("\n")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert all(len(row) == len(CSV_COLUMNS) and None not in row.values() for row in rows)
        targets = [r["target"] for r in rows]
    assert "127.0.0.50" in targets
    assert len(targets) < 41  # stopped early
    assert relay.read_text() == "127.0.0.50\n"


def test_progress_off_when_stderr_is_not_a_terminal(mixed: Loopback) -> None:
    proc = smbsign("127.0.0.11", "--ports", str(mixed.port))
    assert "\x1b[" not in proc.stderr  # no progress bar escapes in a pipe
    assert os.linesep in proc.stderr


def test_reader_closing_stdout_stops_quietly() -> None:
    """`smbsign scan ... | head -1`: exit 141, no traceback (1 would mean "not required")."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from smbsign.cli import main; main()",
            "scan",
            "127.0.4.0/22",
            "--ports",
            str(free_port()),
            "--format",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert json.loads(first)["status"] == "closed"
    assert proc.returncode == 141, stderr
    assert "Traceback" not in stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_write_failure_is_one_line_error() -> None:
    proc = smbsign("127.0.0.40", "--ports", str(free_port()), "-o", "/dev/full")
    assert proc.returncode == 3
    assert "cannot write output" in proc.stderr
    assert "Traceback" not in proc.stderr


def limited_nofile(soft: int, hard: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_open_file_limit_raised_or_concurrency_clamped() -> None:
    port = str(free_port())
    base = [
        sys.executable,
        "-c",
        "from smbsign.cli import main; main()",
        "scan",
        "127.0.0.40",
        "--ports",
        port,
        "--concurrency",
        "512",
    ]
    raised = subprocess.run(
        base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: limited_nofile(256, 4096),
    )
    assert raised.returncode == 0, raised.stderr
    assert "warning" not in raised.stderr  # soft limit raised to 2 x 512 + 64
    clamped = subprocess.run(
        base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: limited_nofile(256, 256),
    )
    assert clamped.returncode == 0, clamped.stderr
    assert "open-file limit 256 allows --concurrency 96, not 512" in clamped.stderr


def on_terminal(args: list[str], *, stdout_too: bool = False) -> tuple[str, str]:
    """Run ``smbsign scan ARGS`` with stderr (and stdout, if asked) on a 200-column pseudo-
    terminal; return (what the terminal got, stdout when it was a pipe)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    proc = subprocess.Popen(
        [*SCAN, *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_too else subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # read while the child writes, so a full pty never blocks it
        with contextlib.suppress(OSError):  # EIO once the child side is closed
            while data := os.read(master, 65536):
                chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        reader.join(30)
        os.close(master)
    return b"".join(chunks).decode(errors="replace"), (stdout or b"").decode()


def test_progress_bar_on_a_terminal(mixed: Loopback) -> None:
    """stderr on a pseudo-terminal gets the rich progress bar; stdout (a pipe) only records."""
    terminal, stdout = on_terminal(["127.0.0.11-15", "--ports", str(mixed.port)])
    assert "scan" in terminal and "━" in terminal and "5/5" in terminal
    assert "5 targets" in terminal
    assert len(jsonl(stdout)) == 5


def test_scan_is_recorded_in_history_with_answered_hosts_only(
    mixed: Loopback, tmp_path: Path
) -> None:
    """A scan run lands in the history store (docs/report.md); dead addresses are not kept."""
    db = f"sqlite:///{tmp_path / 'history.sqlite'}"
    proc = smbsign("127.0.0.11-15", "--ports", str(mixed.port), "--db", db, "--read-timeout", "5")
    assert proc.returncode == 1, proc.stderr
    assert "recorded scan run" in proc.stderr
    from smbsign.store import list_runs, load_run

    runs = list_runs(db)
    assert [r.kind for r in runs] == ["scan"]
    run = load_run(db, runs[0].id)
    kept = {r.target: r.status.value for r in run.records}
    # 127.0.0.15 is closed: not kept; 127.0.0.14 answered with garbage: kept as not_smb.
    assert kept == {
        "127.0.0.11": "ok",
        "127.0.0.12": "ok",
        "127.0.0.13": "ok",
        "127.0.0.14": "not_smb",
    }
    assert sorted(r.target for r in run.records if r.relayable) == ["127.0.0.12", "127.0.0.13"]
    again = smbsign("127.0.0.11", "--ports", str(mixed.port), "--db", db, "--no-store")
    assert again.returncode == 0, again.stderr
    assert len(list_runs(db)) == 1


def test_table_and_progress_share_a_terminal_without_sharing_lines(mixed: Loopback) -> None:
    """#11 item 14: stdout and stderr on one terminal: the table header starts its own line."""
    import re

    raw, _ = on_terminal(
        ["127.0.0.11-15", "--ports", str(mixed.port), "--no-store"], stdout_too=True
    )
    # what a terminal shows: colour codes out; "erase line" and CR restart the line
    text = re.sub(r"\x1b\[[0-9;?]*[A-HJKSTfhlm]", "", raw.replace("\x1b[2K", "\r"))
    lines = [line.rstrip("\r").split("\r")[-1] for line in text.split("\n")]
    header = [line for line in lines if "TARGET" in line]
    assert header and header[0].startswith("TARGET"), header
    assert any(line.startswith("127.0.0.12 ") for line in lines)
    assert "smbsign: 5 targets, 5 records" in text

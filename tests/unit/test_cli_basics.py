"""The command exists, prints its version and rejects unknown commands with exit 2."""

import subprocess
import sys

import pytest

from smbsign import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version() -> None:
    proc = _run("version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == __version__


def test_unknown_command_is_usage_error() -> None:
    proc = _run("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "127.0.0.1", "--no-store", "--ports", "44²"),
        ("scan", "10.0.0.1-²", "--no-store"),
        ("scan", "fe80::1%²", "--no-store"),
        ("report", "²"),
        ("fix", "--samba", "/nonexistent/smb.conf", "--apply", "--verify", "127.0.0.1:4²5"),
    ],
)
def test_non_ascii_digits_are_usage_errors_not_tracebacks(args: tuple[str, ...]) -> None:
    """'²'.isdigit() is True but int('²') raises: such input must be a one-line error."""
    proc = _run(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("smbsign: error:"), proc.stderr


def test_unexpected_exception_is_one_line_internal_error() -> None:
    """A bug must still end as one line and exit 3, with the traceback only on request."""
    code = (
        "import smbsign.cli as c\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('synthetic bug')\n"
        "c.app = boom\n"
        "c.main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [
        "smbsign: error: internal error (RuntimeError: synthetic bug); please report it "
        "(set SMBSIGN_DEBUG=1 to see the traceback)"
    ]

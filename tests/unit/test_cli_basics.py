"""The command exists, prints its version and rejects unknown commands with exit 2."""

import subprocess
import sys

from smbsign import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from smbsign.cli import main; main()", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_version() -> None:
    proc = _run("version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == __version__


def test_unknown_command_is_usage_error() -> None:
    proc = _run("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr

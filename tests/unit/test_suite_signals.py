"""The suite's set-up: a run started with Ctrl-C ignored still tests Ctrl-C (tests/conftest.py)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

INNER = textwrap.dedent(
    """
    import signal
    import subprocess
    import sys

    def test_a_child_takes_ctrl_c() -> None:
        code = "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "False"
    """
)


def _ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_a_suite_started_with_ctrl_c_ignored_starts_children_that_take_it(
    tmp_path: Path,
) -> None:
    """As ``nohup .ci/run &`` starts it: without the conftest's hook, the interrupt tests of
    the scan, the fleet and the store waited out their 60 s timeouts."""
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_inner.py").write_text(INNER, "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, preexec_fn=_ignore_ctrl_c,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout

"""Network namespaces, veth links, a bridge, addresses, routes and nft rules for the lab.

Everything goes through the iproute2 ``ip`` and ``nft`` commands as subprocesses with bounded
timeouts. A netlink library (pyroute2) would be one more dependency for a few dozen commands,
and ``ip netns`` (bind mounts under ``/run/netns``) is what an administrator inspects and
cleans up by hand; ``nft`` has no maintained Python binding on PyPI. Nothing here touches
the root namespace's links, addresses or routes: every ``ip`` call is ``ip -n <namespace>``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from smbsign.errors import LabError

RUN_TIMEOUT = 20.0  # seconds for one ip/nft/sysctl command
NETNS_DIR = Path("/run/netns")


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:200] if lines else ""


def run(
    argv: Sequence[str],
    *,
    timeout: float = RUN_TIMEOUT,
    input_text: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run one command, capture its output; raise :class:`LabError` on failure or timeout."""
    cmd = " ".join(argv[:6]) + (" ..." if len(argv) > 6 else "")
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except FileNotFoundError:
        raise LabError(f"{argv[0]}: command not found (run scripts/bootstrap)") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"`{cmd}` did not finish within {timeout:g} s") from None
    if check and proc.returncode != 0:
        why = _one_line(proc.stderr) or _one_line(proc.stdout) or f"exit {proc.returncode}"
        raise LabError(f"`{cmd}` failed: {why}")
    return proc


def exec_argv(namespace: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside ``namespace`` (``ip netns exec``)."""
    return ["ip", "netns", "exec", namespace, *argv]


def list_namespaces() -> list[str]:
    """Names of all named network namespaces (``ip netns list``)."""
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def add_namespace(name: str) -> None:
    """Create a namespace and bring its loopback up."""
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def namespace_pids(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (``ip netns pids``)."""
    proc = run(["ip", "netns", "pids", name], check=False)
    return [int(tok) for tok in proc.stdout.split() if tok.isdigit()]


def kill_namespace_pids(name: str, *, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL, every process left in the lab namespace ``name``.

    Only called on namespaces this module created (lab prefix), so every process found
    there was started by a lab.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace_pids(name)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def delete_namespace(name: str) -> None:
    """Kill what runs in ``name`` and delete it; a namespace already gone is fine."""
    if not (NETNS_DIR / name).exists():
        return
    kill_namespace_pids(name)
    run(["ip", "netns", "del", name], check=False)
    if (NETNS_DIR / name).exists():
        raise LabError(f"could not delete network namespace {name}")


def batch(namespace: str, commands: Iterable[str], *, timeout: float = 60.0) -> None:
    """Run ``ip`` commands in one ``ip -n <ns> -batch -`` call (one process, many changes)."""
    text = "\n".join(commands) + "\n"
    if text.strip():
        run(["ip", "-n", namespace, "-batch", "-"], input_text=text, timeout=timeout)


def sysctl(namespace: str, settings: dict[str, str]) -> None:
    """Set sysctls inside ``namespace`` (net.* sysctls are per network namespace)."""
    args = [f"{k}={v}" for k, v in settings.items()]
    run(exec_argv(namespace, ["sysctl", "-q", "-w", *args]))


def nft_load(namespace: str, ruleset: str) -> None:
    """Load an nftables ruleset into ``namespace`` (its own, separate ruleset)."""
    run(exec_argv(namespace, ["nft", "-f", "-"]), input_text=ruleset)


def listening_ports(pid: int) -> set[int]:
    """TCP ports in LISTEN state in the network namespace of process ``pid``.

    Reads ``/proc/<pid>/net/tcp`` and ``tcp6``, which show the sockets of that process's
    namespace (proc(5)); state ``0A`` is TCP_LISTEN.
    """
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            text = Path(f"/proc/{pid}/net/{table}").read_text()
        except OSError:
            continue
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports

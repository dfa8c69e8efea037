"""Run one Debian ``smbd`` (Samba 4.17) with a private smb.conf inside a network namespace.

Every path Samba writes (private, lock, state, cache, pid, ncalrpc, log) points into the
host's own temporary directory, so lab servers share nothing with each other or with a
system Samba. No nmbd or winbindd runs (``disable netbios = yes``); smbd listens on all
addresses of its namespace (``bind interfaces only = no``), which covers IPv4, the ULA and
the link-local IPv6 address.

smbd runs as ``smbd --foreground --no-process-group -s <conf>`` (flags of smbd 4.17, ``smbd
--help``) under ``unshare --pid --fork --kill-child``: it is PID 1 of its own PID namespace,
so when it exits the kernel kills and reaps every helper it forked (notifyd, cleanupd,
samba-dcerpcd, per-client children) and nothing is left as a zombie of the system's init;
``--kill-child`` and a parent-death signal take it down if the lab process itself dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from smbsign.errors import LabError
from smbsign.lab import netns

START_TIMEOUT = 20.0  # seconds until smbd must listen on every configured port
STOP_GRACE = 5.0
RELOAD_TIMEOUT = 10.0
_RELOAD_MARK = "Reloading services after SIGHUP"
_PR_SET_PDEATHSIG = 1
_PIDNS = ("unshare", "--pid", "--fork", "--kill-child")

_DIRS = ("private", "lock", "state", "cache", "pid", "ncalrpc", "share", "usershares", "log")


def base_globals(workdir: Path, name: str) -> dict[str, str]:
    """The [global] section every lab server starts from (host settings override it)."""
    w = workdir
    return {
        "netbios name": ("LAB-" + name.upper().replace("_", "-"))[:15],
        "workgroup": "SMBSIGNLAB",
        "server string": f"smbsign lab {name}",
        "server role": "standalone server",
        "private dir": str(w / "private"),
        "lock directory": str(w / "lock"),
        "state directory": str(w / "state"),
        "cache directory": str(w / "cache"),
        "pid directory": str(w / "pid"),
        "ncalrpc dir": str(w / "ncalrpc"),
        "binddns dir": str(w / "private" / "bind-dns"),
        "usershare path": str(w / "usershares"),
        "log file": str(w / "log" / "log.smbd"),
        "log level": "1",
        "max log size": "0",
        "bind interfaces only": "no",
        "disable netbios": "yes",
        "load printers": "no",
        "printing": "bsd",
        "printcap name": "/dev/null",
        "disable spoolss": "yes",
        "map to guest": "bad user",
    }


def render_conf(workdir: Path, name: str, overrides: Mapping[str, str]) -> str:
    """smb.conf text: base globals, the host's own parameters last (later wins), one share."""
    lines = ["# written by smbsign.lab; one lab host", "[global]"]
    for key, value in base_globals(workdir, name).items():
        lines.append(f"    {key} = {value}")
    if overrides:
        lines.append("    # host settings")
    for key, value in overrides.items():
        if "\n" in key or "\n" in value or "=" in key:
            raise LabError(f"invalid smb.conf parameter {key!r}")
        lines.append(f"    {key} = {value}")
    lines += [
        "",
        "[lab]",
        f"    path = {workdir / 'share'}",
        "    read only = yes",
        "    guest ok = yes",
        "",
    ]
    return "\n".join(lines)


def _set_pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel to SIGKILL smbd if the lab process dies without cleaning up."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def smbd_argv(conf_path: Path) -> list[str]:
    return ["smbd", "--foreground", "--no-process-group", "-s", str(conf_path)]


@dataclass
class SmbdServer:
    """A running smbd (``popen`` is its ``unshare`` wrapper); ``stop()`` is idempotent."""

    name: str
    namespace: str
    workdir: Path
    conf_path: Path
    ports: tuple[int, ...]
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """PID of the wrapper; it sits in the lab namespace from the first exec on."""
        return self.popen.pid

    @property
    def smbd_pid(self) -> int | None:
        """PID (in our PID namespace) of the smbd parent process, once it has started."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return None
        kids = [int(tok) for tok in text.split()]
        return kids[0] if kids else None

    @property
    def log_path(self) -> Path:
        return self.workdir / "log" / "log.smbd"

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        """Block (bounded) until smbd listens on all its ports inside its namespace."""
        want = set(self.ports)
        ns_ino = (netns.NETNS_DIR / self.namespace).stat().st_ino
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise LabError(
                    f"smbd for lab host {self.name} exited with {self.popen.returncode}: "
                    f"{self.log_tail()}"
                )
            if _in_namespace(self.pid, ns_ino) and want <= netns.listening_ports(self.pid):
                return
            if time.monotonic() > deadline:
                raise LabError(
                    f"smbd for lab host {self.name} not listening on {sorted(want)} "
                    f"after {timeout:g} s"
                )
            time.sleep(0.05)

    def log_tail(self) -> str:
        """The last meaningful log line (for one-line errors)."""
        texts = []
        for path in (self.workdir / "smbd.out", self.log_path):
            try:
                texts.append(path.read_text(errors="replace"))
            except OSError:
                continue
        lines = [ln.strip() for t in texts for ln in t.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith("[")]
        return lines[-1][:200] if lines else "no log output"

    def reload(
        self, overrides: Mapping[str, str] | None = None, timeout: float = RELOAD_TIMEOUT
    ) -> None:
        """Optionally rewrite smb.conf, then SIGHUP the smbd parent and wait until it reloaded.

        New connections then see the new settings; open ones keep theirs (docs/reference.md §4.5).
        """
        if overrides is not None:
            self.conf_path.write_text(render_conf(self.workdir, self.name, overrides))
        pid = self.smbd_pid
        if pid is None or not self.running():
            raise LabError(f"smbd for lab host {self.name} is not running")
        before = self._reload_count()
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self._reload_count() <= before:
            if not self.running():
                raise LabError(f"smbd for lab host {self.name} exited during reload")
            if time.monotonic() > deadline:
                raise LabError(f"smbd for lab host {self.name} did not reload in {timeout:g} s")
            time.sleep(0.05)
        # The mark is logged just before reload_services() runs in the same event-loop
        # callback; a short pause lets it finish before the caller probes.
        time.sleep(0.2)

    def _reload_count(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(_RELOAD_MARK)
        except OSError:
            return 0

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM smbd (repeated: PID 1 of a namespace ignores it until its handler is set),
        SIGKILL after ``grace`` seconds, then reap the wrapper.

        When smbd (PID 1 of its PID namespace) exits, the kernel kills its helpers.
        """
        if self.popen.returncode is not None:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pid = self.smbd_pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=0.2)
                return
        pid = self.smbd_pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
            return
        self.popen.kill()
        self.popen.wait(timeout=grace)


def _in_namespace(pid: int, ns_ino: int) -> bool:
    """True once ``pid`` has entered the namespace (``ip netns exec`` does setns, then exec)."""
    try:
        return Path(f"/proc/{pid}/ns/net").stat().st_ino == ns_ino
    except OSError:
        return False


def prepare_workdir(workdir: Path) -> None:
    for sub in _DIRS:
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    (workdir / "private").chmod(0o700)


def start_smbd(
    namespace: str,
    workdir: Path,
    name: str,
    overrides: Mapping[str, str],
    ports: tuple[int, ...],
) -> SmbdServer:
    """Write smb.conf and start smbd in ``namespace``; does not wait (see ``wait_listening``)."""
    prepare_workdir(workdir)
    conf_path = workdir / "smb.conf"
    conf_path.write_text(render_conf(workdir, name, overrides))
    argv = netns.exec_argv(namespace, [*_PIDNS, *smbd_argv(conf_path)])
    popen = spawn_daemon(argv, workdir / "smbd.out")
    return SmbdServer(name, namespace, workdir, conf_path, ports, popen)


def spawn_daemon(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a lab daemon (smbd, samba) with its output in ``log``: in its own session, so
    that ``--no-process-group`` daemons signal only themselves on exit, and killed with us
    (``PR_SET_PDEATHSIG``)."""
    with log.open("wb") as out:
        try:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_set_pdeathsig,
                close_fds=True,
            )
        except FileNotFoundError:
            raise LabError("ip: command not found (run scripts/bootstrap)") from None

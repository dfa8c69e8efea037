"""A real Samba AD domain controller (Debian Samba 4.17) inside the lab's network namespaces.

Topology: the ordinary :class:`~smbsign.lab.lab.Lab` (client, hub, sink and any plain smbd
hosts) plus one namespace ``<run>-dc`` at ``10.213.0.40`` on the same bridge. The client
namespace resolves names through the DC (``/etc/netns/<client>/resolv.conf``, which ``ip netns
exec`` bind-mounts over ``/etc/resolv.conf``, ip-netns(8)).

- Provisioning (``samba-tool domain provision``, samba-tool(8)) runs once per cache key (realm,
  domain, host name, address, Samba version) into ``$SMBSIGN_LAB_CACHE`` or
  ``/var/cache/smbsign-lab`` (root-owned, 0700), inside the DC's namespace so nothing it does
  reaches another network; each DC then starts from a ``cp -a`` copy (ACLs and ``security.NTACL``
  xattrs of SYSVOL kept). A self-signed certificate is made once with ``openssl`` so LDAPS (636)
  answers without Samba generating a key at every start.
- smb.conf is rewritten per instance: every path into the instance directory, ``log file``
  there, no ``dns forwarder`` (provision copies the host's resolver), ``server services =
  -dnsupdate`` (samba_dnsupdate would use the host resolver), ``ldap server require strong
  auth`` and ``tls enabled`` from :class:`DcSpec` (smb.conf(5)).
- ``samba -F --no-process-group -M single`` (samba(8)) runs in its own session, as PID 1 of its
  own PID namespace, with a private ``/run/samba`` bind-mounted from the instance directory:
  libwbclient ignores ``winbindd socket directory`` and uses the compiled-in
  ``/run/samba/winbindd``, so without it SMB logons of domain users fail.
- Ready when 53, 88, 389, 445 (and 636 with TLS) listen in the DC namespace and a rootDSE
  search from the client namespace answers. Stop: SIGTERM to the session, then SIGKILL, then the
  lab deletes the namespaces, also on errors, SIGTERM/SIGHUP and at exit.

The Administrator password is a fixed, lab-only throwaway (:data:`ADMIN_PASSWORD`); the DC
only exists inside the lab's namespaces. Provisioning takes it on argv (``--adminpass``, the
only way samba-tool offers); every later tool reads it from a 0600 file (``PASSWD_FILE``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smbsign.errors import LabError
from smbsign.lab import netns
from smbsign.lab.adprovision import (
    ADMIN_PASSWORD,
    DcSpec,
    cache_key,
    cleanup_stale_etc,
    provisioned_tree,
    render_conf,
    write_resolv,
)
from smbsign.lab.hosts import LabHost
from smbsign.lab.lab import Lab, lab_unavailable_reason
from smbsign.lab.runs import StartedOnEnter
from smbsign.lab.samba import spawn_daemon

START_TIMEOUT = 90.0  # seconds; a loaded 2-core machine needs far more than the usual 1 s
STOP_GRACE = 10.0
# ldbadd runs all its input in one transaction, which slows down steeply with its size
# (10,000 computers in one call did not finish in 11 min); 500 per call keeps it linear.
LOCAL_CHUNK = 500
SEED_KEY = "seed.key"  # in a saved tree: the cache key of the DC it belongs to
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-samba bindings live there
_ADMIN_OPTS = ("-U", "Administrator", "--use-kerberos=off")


@dataclass
class SambaDc:
    """A running ``samba`` AD DC process tree (``popen`` is its session leader)."""

    spec: DcSpec
    namespace: str
    instance: Path
    popen: subprocess.Popen[bytes]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def conf_path(self) -> Path:
        return self.instance / "etc" / "smb.conf"

    @property
    def log_path(self) -> Path:
        return self.instance / "log" / "samba.log"

    @property
    def ports(self) -> set[int]:
        return {53, 88, 389, 445} | ({636} if self.spec.tls else set())

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self) -> str:
        lines: list[str] = []
        for path in (self.instance / "samba.out", self.log_path):
            with contextlib.suppress(OSError):
                lines += [ln.strip() for ln in path.read_text(errors="replace").splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("[")]
        return lines[-1][:200] if lines else "no log output"

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.ports <= netns.listening_ports(self.popen.pid):
            if not self.running():
                raise LabError(f"samba exited with {self.popen.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise LabError(f"samba not listening on {sorted(self.ports)} after {timeout:g} s")
            time.sleep(0.05)

    def memory_kib(self) -> dict[str, int]:
        """Summed ``Rss`` and ``Pss`` (shared pages split between sharers) of the processes
        in the DC's namespace, in KiB (``/proc/<pid>/smaps_rollup``, proc(5)), and their count."""
        total = {"rss": 0, "pss": 0, "processes": 0}
        for pid in netns.namespace_pids(self.namespace):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
                total["processes"] += 1
                for line in text.splitlines():
                    key, _, rest = line.partition(":")
                    if key in ("Rss", "Pss"):
                        total[key.lower()] += int(rest.split()[0])
        return total

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM the session (repeated: PID 1 of a namespace ignores it until its handler
        is set), SIGKILL after ``grace`` seconds; idempotent."""
        if self.popen.returncode is not None:
            return
        deadline = time.monotonic() + grace
        for sig in (signal.SIGTERM, signal.SIGKILL):
            while True:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=0.3)
                    return
                if time.monotonic() > deadline:
                    break
            deadline = time.monotonic() + grace
        raise LabError(f"samba in {self.namespace} did not stop")


def start_dc(spec: DcSpec, namespace: str, tree: Path, instance: Path) -> SambaDc:
    """Copy the provisioned ``tree`` to ``instance``, write its smb.conf and start samba."""
    began = time.monotonic()
    netns.run(["cp", "-a", f"{tree}/.", str(instance)], timeout=120)
    copied = time.monotonic() - began
    instance.chmod(0o755)  # the copy keeps mkdtemp's 0700; SYSVOL readers need to traverse
    for sub in ("log", "run"):
        (instance / sub).mkdir(mode=0o755, exist_ok=True)
    conf = instance / "etc" / "smb.conf"
    conf.write_text(render_conf((tree / "etc" / "smb.conf").read_text(), instance, spec))
    script = 'mount --bind "$0" /run/samba && exec samba -F --no-process-group -M single -s "$1"'
    argv = netns.exec_argv(
        namespace,
        ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "private",
         "sh", "-c", script, str(instance / "run"), str(conf)],
    )  # fmt: skip
    popen = spawn_daemon(argv, instance / "samba.out")
    return SambaDc(spec, namespace, instance, popen, {"copy_s": copied})


def addc_unavailable_reason() -> str | None:
    """Why no lab DC can run here (one line), or None (the plain lab's needs come first)."""
    reason = lab_unavailable_reason()
    if reason:
        return reason
    for tool in ("samba", "samba-tool", "ldbadd", "smbclient", "openssl", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not found (run scripts/bootstrap)"
    if not Path("/usr/share/samba/setup").is_dir():
        return "samba-ad-provision is not installed (run scripts/bootstrap)"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} (with Samba's python3-samba) not found"
    return None


class AdLab(StartedOnEnter):
    """A lab with a running Samba AD DC; context manager, torn down on exit or signal.

    ``members`` are plain smbd hosts (the lab's :class:`LabHost`) on the same segment, for DNS
    A records that point computers at servers with known signing. ``seed`` starts the DC from
    a tree saved by :meth:`save_tree` (a built domain) instead of the provisioned one.
    """

    def __init__(
        self,
        spec: DcSpec | None = None,
        members: Sequence[LabHost] = (),
        seed: Path | None = None,
    ) -> None:
        self.spec = spec or DcSpec()
        self.seed = seed
        self.lab = Lab(hosts=members)
        self.dc: SambaDc | None = None
        self.timings: dict[str, float] = {}
        self._instance: Path | None = None
        self._tree: Path | None = None
        self._etc: list[Path] = []

    @property
    def dc_ns(self) -> str:
        return f"{self.lab.run_id}-dc"

    @property
    def client_ns(self) -> str:
        return self.lab.client_ns

    @property
    def address(self) -> str:
        return self.spec.address

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.spec.address}"

    @property
    def password_file(self) -> Path:
        """A 0600 file holding the Administrator password (for ``PASSWD_FILE``)."""
        assert self._instance is not None
        return self._instance / "admin.pw"

    def start(self) -> None:
        self.lab.start()  # removes namespaces of dead runs first ...
        atexit.register(self.close)
        cleanup_stale_etc()  # ... then their /etc/netns entries
        try:
            self._build()
        except BaseException:
            with contextlib.suppress(LabError):
                self.close()
            raise

    def _build(self) -> None:
        ns = self.lab.attach_namespace("dc", self.spec.octet)
        self._etc.append(write_resolv(ns, self.spec.address, self.spec.dns_domain))
        self._etc.append(write_resolv(self.client_ns, self.spec.address, self.spec.dns_domain))
        if self.seed is not None:
            key_file = self.seed / SEED_KEY
            key = key_file.read_text().strip() if key_file.is_file() else ""
            if key != cache_key(self.spec):
                raise LabError(f"{self.seed} is not a saved tree of this DC (realm, names, Samba)")
            tree, self.timings["provision_s"] = self.seed, 0.0
        else:
            tree, self.timings["provision_s"] = provisioned_tree(self.spec, ns)
        self._tree = tree
        self._instance = Path(tempfile.mkdtemp(prefix=f"{self.lab.run_id}-addc-"))
        self._instance.chmod(0o711)  # smbd serves SYSVOL under the user's own uid
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(ADMIN_PASSWORD)
        began = time.monotonic()
        self.dc = start_dc(self.spec, ns, tree, self._instance / "dc")
        self.dc.wait_listening()
        self.timings["listen_s"] = time.monotonic() - began
        self._wait_ldap(began + START_TIMEOUT)
        self.timings["ready_s"] = time.monotonic() - began
        self.timings.update(self.dc.timings)

    def _wait_ldap(self, deadline: float) -> None:
        """Until an authenticated search answers: right after the ports listen, binds fail
        for a moment with ERROR_NO_LOGON_SERVERS (``data 51f``)."""
        argv = [*self.admin_env_argv(), "ldbsearch", "-H", self.ldap_url, *_ADMIN_OPTS]
        argv += ["-s", "base", "-b", self.spec.base_dn, "dn"]
        while True:
            proc = self.lab.run_in_client(argv, timeout=30)
            if proc.returncode == 0 and "# returned 1 records" in proc.stdout:
                return
            if time.monotonic() > deadline:
                raise LabError(f"the DC's LDAP does not answer: {netns._one_line(proc.stderr)}")
            time.sleep(0.2)

    def save_tree(self, dest: Path, files: Mapping[str, bytes] | None = None) -> None:
        """Stop the DC and publish its tree (with ``files``, e.g. a built domain's JSON) at
        ``dest`` for ``AdLab(seed=dest)``; the DC stays stopped (close this lab next)."""
        if self.dc is None or self._tree is None:
            raise LabError("no DC is running")
        self.dc.stop()
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        netns.run(["cp", "-a", f"{self.dc.instance}/.", str(tmp)], timeout=600)
        for name in ("log", "run", "samba.out"):
            path = tmp / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        shutil.copyfile(self._tree / "etc" / "smb.conf", tmp / "etc" / "smb.conf")
        (tmp / SEED_KEY).write_text(cache_key(self.spec) + "\n")
        for name, data in (files or {}).items():
            if "/" in name or name.startswith("."):
                raise LabError(f"bad file name {name!r}")
            (tmp / name).write_bytes(data)
        tmp.chmod(0o700)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)

    def close(self) -> None:
        """Stop samba, delete the lab (namespaces), the instance and /etc/netns entries."""
        errors: list[str] = []
        if self.dc is not None:
            try:
                self.dc.stop()
            except LabError as exc:
                errors.append(str(exc))
        try:
            self.lab.close()
        except LabError as exc:
            errors.append(str(exc))
        for d in self._etc:
            shutil.rmtree(d, ignore_errors=True)
        if self._instance is not None:
            shutil.rmtree(self._instance, ignore_errors=True)
        atexit.unregister(self.close)
        if errors:
            raise LabError("AD lab teardown incomplete: " + "; ".join(errors))

    # ----------------------------------------------------------- tools
    def admin_env_argv(self) -> list[str]:
        """``env`` prefix giving Samba tools the Administrator password from a 0600 file
        (``PASSWD_FILE``, read by Samba's credentials code; the tool still needs ``-U``)."""
        return ["env", f"PASSWD_FILE={self.password_file}"]

    def run_client(
        self, argv: Sequence[str], *, timeout: float = 120.0, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the client namespace; a non-zero exit is returned, not raised."""
        return self.lab.run_in_client(argv, timeout=timeout, input_text=input_text)

    def admin(
        self, argv: Sequence[str], *, timeout: float = 120.0, input_text: str | None = None
    ) -> str:
        """Run a Samba tool as Administrator in the client namespace; raise on failure."""
        proc = self.run_client(
            [*self.admin_env_argv(), *argv], timeout=timeout, input_text=input_text
        )
        if proc.returncode != 0:
            why = netns._one_line(proc.stderr) or netns._one_line(proc.stdout)
            raise LabError(f"`{' '.join(argv[:4])}` failed: {why}")
        return proc.stdout

    def samba_tool(self, *args: str, timeout: float = 120.0) -> str:
        """``samba-tool ARGS -H ldap://DC`` as Administrator (NTLM, password from a file)."""
        return self.admin(["samba-tool", *args, "-H", self.ldap_url, *_ADMIN_OPTS], timeout=timeout)

    def ldif(self, tool: str, text: str, *, timeout: float = 600.0, local: bool = False) -> str:
        """Feed LDIF to ``ldbadd``/``ldbmodify`` over LDAP as Administrator, or with ``local``
        straight into the running DC's ``sam.ldb`` from its own namespace (no network, no
        authentication; the same dsdb modules check every object; many times faster)."""
        if tool not in ("ldbadd", "ldbmodify"):
            raise LabError(f"not an LDIF tool: {tool}")
        if not local:
            argv = [tool, "-H", self.ldap_url, *_ADMIN_OPTS]
            return self.admin(argv, timeout=timeout, input_text=text)
        assert self.dc is not None
        sam = self.dc.instance / "private" / "sam.ldb"
        argv = [tool, "-H", str(sam), f"--configfile={self.dc.conf_path}"]
        entries = [e for e in text.split("\n\n") if e.strip()]
        out: list[str] = []
        for i in range(0, len(entries), LOCAL_CHUNK):  # one transaction per ldbadd: keep it small
            chunk = "\n\n".join(entries[i : i + LOCAL_CHUNK]) + "\n\n"
            proc = self.lab.run_in(self.dc_ns, argv, timeout, input_text=chunk)
            if proc.returncode != 0:
                raise LabError(f"`{tool}` on sam.ldb failed: {netns._one_line(proc.stderr)}")
            out.append(proc.stdout)
        return "".join(out)

"""The lab: real Samba servers, a closed host, a filtering host and a silent range.

Topology (every link, address and route lives inside the lab's own network namespaces;
the root namespace gets nothing)::

    <run>-client (10.213.0.2, fd00:5a6d:213::2, fe80::5a6d:2)  -- the scanner runs here
         |  route 10.224.0.0/12 via 10.213.0.254 (the silent range)
    <run>-hub: bridge br0  -- one veth port per namespace
         |-- <run>-<host>  one per catalog host: smbd, or nothing (closed), or nft drop (filtered)
         '-- <run>-sink (10.213.0.254): nft drops everything for 10.224.0.0/12 before routing,
                                        so connects there time out (no RST, no ICMP)

Names carry the owner's pid and process start time (``sslab-<pid>-<ticks>-<n>-<role>``) so
parallel runs never collide and :func:`cleanup_stale` can tell a dead run's leftovers from a
live one. Teardown runs from ``__exit__``, from ``atexit`` and on SIGTERM/SIGHUP (turned into
``SystemExit`` so ``finally`` blocks run); a SIGKILLed run is cleaned by the next lab.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from smbsign.errors import LabError
from smbsign.lab import netns
from smbsign.lab.addresses import CLIENT_IFNAME as CLIENT_IFNAME
from smbsign.lab.addresses import CLIENT_OCTET as CLIENT_OCTET
from smbsign.lab.addresses import FIRST_EXTRA_OCTET as FIRST_EXTRA_OCTET
from smbsign.lab.addresses import HOST_NET4 as HOST_NET4
from smbsign.lab.addresses import HOST_NET6 as HOST_NET6
from smbsign.lab.addresses import LINK_LOCAL_BASE as LINK_LOCAL_BASE
from smbsign.lab.addresses import MAX_ALIASES as MAX_ALIASES
from smbsign.lab.addresses import SILENT_NET4 as SILENT_NET4
from smbsign.lab.addresses import SINK_OCTET as SINK_OCTET
from smbsign.lab.addresses import HostAddresses as HostAddresses
from smbsign.lab.addresses import ipv4 as ipv4
from smbsign.lab.addresses import ipv6 as ipv6
from smbsign.lab.addresses import link_local as link_local
from smbsign.lab.hosts import (
    CATALOG,
    GroundTruth,
    HostKind,
    LabHost,
    derive_truth,
    parse_config,
)
from smbsign.lab.runs import PREFIX as PREFIX
from smbsign.lab.runs import StartedOnEnter, run_name
from smbsign.lab.runs import cleanup_stale as cleanup_stale
from smbsign.lab.runs import lab_unavailable_reason as lab_unavailable_reason
from smbsign.lab.runs import smbsign_argv as smbsign_argv
from smbsign.lab.samba import SmbdServer, start_smbd

_SINK_NFT = f"""table inet sslab {{
    chain pre {{
        type filter hook prerouting priority -300; policy accept;
        ip daddr {SILENT_NET4} drop
    }}
}}
"""
_FILTER_NFT = """table inet sslab {
    chain in {
        type filter hook input priority 0; policy accept;
        tcp dport { 139, 445 } drop
    }
}
"""


class Lab(StartedOnEnter):
    """Build the lab on ``__enter__``/``start()``, tear it all down on ``__exit__``/``close()``.

    ``aliases`` adds that many extra IPv4 addresses (``10.213.<1..n>.<octet>``) to every
    Samba host, for throughput runs over many live targets.
    """

    def __init__(self, hosts: Sequence[LabHost] = CATALOG, *, aliases: int = 0) -> None:
        if not 0 <= aliases <= MAX_ALIASES:
            raise LabError(f"aliases must be between 0 and {MAX_ALIASES}")
        names = [h.name for h in hosts]
        if len(set(names)) != len(names) or {"hub", "client", "sink"} & set(names):
            raise LabError("lab host names must be unique and not hub/client/sink")
        self.run_id = run_name()
        self.aliases = aliases
        self._hosts: dict[str, LabHost] = {h.name: h for h in hosts}
        self._servers: dict[str, SmbdServer] = {}
        self._namespaces: list[str] = []
        self._workdir: Path | None = None
        self._started = False
        self._closed = False
        self._old_handlers: dict[int, object] = {}

    # ------------------------------------------------------------------ naming
    @property
    def client_ns(self) -> str:
        return f"{self.run_id}-client"

    @property
    def hub_ns(self) -> str:
        return f"{self.run_id}-hub"

    @property
    def sink_ns(self) -> str:
        return f"{self.run_id}-sink"

    def namespace(self, name: str) -> str:
        self.host(name)
        return f"{self.run_id}-{name}"

    @property
    def hosts(self) -> tuple[LabHost, ...]:
        return tuple(self._hosts.values())

    def host(self, name: str) -> LabHost:
        try:
            return self._hosts[name]
        except KeyError:
            raise LabError(f"no lab host named {name!r}") from None

    def addresses(self, name: str) -> HostAddresses:
        h = self.host(name)
        aliases = (
            tuple(ipv4(h.octet, k) for k in range(1, self.aliases + 1))
            if h.kind is HostKind.SAMBA
            else ()
        )
        return HostAddresses(ipv4(h.octet), ipv6(h.octet), link_local(h.octet), aliases)

    def address(self, name: str) -> str:
        return ipv4(self.host(name).octet)

    def link_local_target(self, name: str) -> str:
        """The host's link-local address with the client's scope, e.g. ``fe80::5a6d:a%eth0``."""
        return f"{link_local(self.host(name).octet)}%{CLIENT_IFNAME}"

    def name_of(self, address: str) -> str | None:
        """The lab host that owns ``address`` (any family, scope ignored), or None."""
        bare = address.split("%", 1)[0]
        for h in self._hosts.values():
            a = self.addresses(h.name)
            if bare in (a.ipv4, a.ipv6, a.link_local, *a.aliases):
                return h.name
        return None

    def truth(self, name: str, ports: Sequence[int] = (445,)) -> GroundTruth:
        return derive_truth(self.host(name), ports)

    def conf_path(self, name: str) -> Path:
        """The smb.conf a Samba host runs with (rewrite it, then :meth:`reload`)."""
        return self._server(name).conf_path

    @property
    def silent_network(self) -> str:
        return str(SILENT_NET4)

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._started:
            raise LabError("this lab was already started")
        self._started = True
        reason = lab_unavailable_reason()
        if reason:
            raise LabError(reason)
        cleanup_stale()
        self._install_handlers()
        atexit.register(self.close)
        try:
            self._build()
        except BaseException:
            with contextlib.suppress(LabError):
                self.close()
            raise

    def close(self) -> None:
        """Stop every smbd, delete every namespace and the work directory (idempotent)."""
        if self._closed or not self._started:
            return
        self._closed = True
        errors: list[str] = []
        for server in list(self._servers.values()):
            try:
                server.stop()
            except (OSError, subprocess.SubprocessError) as exc:
                errors.append(f"stop {server.name}: {exc}")
        for ns in reversed(self._namespaces):
            try:
                netns.delete_namespace(ns)
            except LabError as exc:
                errors.append(str(exc))
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        atexit.unregister(self.close)
        self._restore_handlers()
        if errors:
            raise LabError("lab teardown incomplete: " + "; ".join(errors))

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                self._old_handlers[sig] = signal.signal(sig, _exit_on_signal)

    def _restore_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in list(self._old_handlers):
            if signal.getsignal(sig) is _exit_on_signal:
                signal.signal(sig, signal.SIG_DFL)
            del self._old_handlers[sig]

    # ------------------------------------------------------------------- build
    def _add_ns(self, name: str) -> None:
        netns.add_namespace(name)
        self._namespaces.append(name)

    def _build(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{self.run_id}-"))
        self._add_ns(self.hub_ns)
        netns.sysctl(
            self.hub_ns,
            {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"},
        )
        netns.batch(self.hub_ns, ["link add br0 type bridge", "link set br0 up"])
        self._attach(self.client_ns, CLIENT_OCTET, ())
        netns.batch(self.client_ns, [f"route add {SILENT_NET4} via {ipv4(SINK_OCTET)}"])
        self._attach(self.sink_ns, SINK_OCTET, ())
        netns.nft_load(self.sink_ns, _SINK_NFT)
        pending: list[SmbdServer] = []
        for h in self._hosts.values():
            ns = f"{self.run_id}-{h.name}"
            self._attach(ns, h.octet, self.addresses(h.name).aliases)
            if h.kind is HostKind.FILTERED:
                netns.nft_load(ns, _FILTER_NFT)
            elif h.kind is HostKind.SAMBA:
                pending.append(self._spawn(h))
        for server in pending:
            server.wait_listening()

    def _attach(self, ns: str, octet: int, aliases: Sequence[str]) -> None:
        """Create ``ns`` with ``eth0`` bridged in the hub, and give it its addresses."""
        self._add_ns(ns)
        port = f"p{octet}"
        netns.batch(
            self.hub_ns,
            [
                f"link add {port} type veth peer name eth0 netns {ns}",
                f"link set {port} master br0",
                f"link set {port} up",
            ],
        )
        cmds = [
            "link set eth0 addrgenmode none",
            f"addr add {ipv4(octet)}/{HOST_NET4.prefixlen} dev eth0",
            f"addr add {ipv6(octet)}/{HOST_NET6.prefixlen} dev eth0 nodad",
            f"addr add {link_local(octet)}/64 dev eth0 nodad",
            *(f"addr add {a}/32 dev eth0" for a in aliases),
            "link set eth0 up",
        ]
        netns.batch(ns, cmds)

    def _spawn(self, h: LabHost) -> SmbdServer:
        assert self._workdir is not None
        conf = dict(h.conf)
        server = start_smbd(
            f"{self.run_id}-{h.name}",
            self._workdir / h.name,
            h.name,
            conf,
            parse_config(conf).ports,
        )
        self._servers[h.name] = server
        return server

    # ------------------------------------------------------- for other engineers
    def _server(self, name: str) -> SmbdServer:
        try:
            return self._servers[name]
        except KeyError:
            raise LabError(f"lab host {name!r} runs no smbd") from None

    def start_server(self, name: str, conf: Mapping[str, str]) -> LabHost:
        """Add a Samba host ``name`` with these [global] parameters to the running lab."""
        if not self._started or self._closed:
            raise LabError("the lab is not running")
        if name in self._hosts or name in ("hub", "client", "sink"):
            raise LabError(f"lab host {name!r} already exists")
        used = {h.octet for h in self._hosts.values()}
        octet = next((o for o in range(FIRST_EXTRA_OCTET, 250) if o not in used), None)
        if octet is None:
            raise LabError("no free lab address")
        host = LabHost(name, HostKind.SAMBA, octet, tuple(conf.items()), "added by start_server")
        derive_truth(host)  # validates the parameters the truth depends on
        self._hosts[name] = host
        try:
            self._attach(f"{self.run_id}-{name}", octet, self.addresses(name).aliases)
            self._spawn(host).wait_listening()
        except BaseException:
            self._hosts.pop(name, None)
            raise
        return host

    def attach_namespace(self, role: str, octet: int) -> str:
        """Add a namespace ``<run>-<role>`` bridged into the hub at ``10.213.0.<octet>``.

        For servers the lab does not run itself (the Samba AD DC of ``smbsign.lab.addc``);
        it is deleted, with whatever runs in it, when the lab closes.
        """
        if not self._started or self._closed:
            raise LabError("the lab is not running")
        ns = f"{self.run_id}-{role}"
        taken = {h.octet for h in self._hosts.values()} | {CLIENT_OCTET, SINK_OCTET}
        if role in self._hosts or ns in self._namespaces or not 2 < octet < 250 or octet in taken:
            raise LabError(f"cannot attach lab namespace {role!r} at octet {octet}")
        self._attach(ns, octet, ())
        return ns

    def reload(self, name: str, conf: Mapping[str, str] | None = None) -> None:
        """Reload a host's smbd, first replacing its [global] parameters when ``conf`` is given.

        The host's ground truth follows the new parameters.
        """
        server = self._server(name)
        if conf is not None:
            old = self._hosts[name]
            new = LabHost(name, old.kind, old.octet, tuple(conf.items()), old.description)
            derive_truth(new)
            if set(new.conf_map.get("smb ports", "445 139").split()) != set(
                old.conf_map.get("smb ports", "445 139").split()
            ):
                raise LabError("changing 'smb ports' needs a restart, not a reload")
            server.reload(dict(conf))
            self._hosts[name] = new
        else:
            server.reload()

    def stop_server(self, name: str) -> None:
        """Stop a host's smbd (its address stays and now answers RST)."""
        self._server(name).stop()

    def run_in_client(
        self, argv: Sequence[str], timeout: float = 120.0, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the client namespace; a non-zero exit is returned, not raised."""
        return self.run_in(self.client_ns, argv, timeout, input_text)

    def run_in_host(
        self, name: str, argv: Sequence[str], timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return self.run_in(self.namespace(name), argv, timeout)

    def run_in(
        self, ns: str, argv: Sequence[str], timeout: float, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        if ns not in self._namespaces:
            raise LabError(f"{ns} is not a namespace of this lab")
        return netns.run(
            netns.exec_argv(ns, argv), timeout=timeout, input_text=input_text, check=False
        )

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until the kernel has released this lab's namespaces."""
        deadline = time.monotonic() + timeout
        while any((netns.NETNS_DIR / ns).exists() for ns in self._namespaces):
            if time.monotonic() > deadline:
                raise LabError("lab namespaces still present")
            time.sleep(0.05)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)

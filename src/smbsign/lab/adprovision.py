"""Provisioning of the lab's Samba AD DC, cached per key; the per-instance smb.conf.

See :mod:`smbsign.lab.addc` for the design. ``samba-tool domain provision`` (samba-tool(8))
runs once per (realm, domain, host name, address, Samba version) into ``$SMBSIGN_LAB_CACHE`` or
``/var/cache/smbsign-lab`` (root-owned, 0700), inside the DC's network namespace; a file lock
serialises parallel sessions and a tree is published by rename only when complete. The
Administrator password is a lab-only throwaway; provisioning takes it on argv (``--adminpass``,
the only way samba-tool offers), every later tool reads it from a 0600 file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from smbsign.errors import LabError
from smbsign.lab import netns
from smbsign.lab.lab import ipv4

# Throwaway, lab-only: the DC exists only inside the lab's namespaces.
ADMIN_PASSWORD = "Lab-only-Adm1n!"  # noqa: S105
STRONG_AUTH = ("yes", "no", "allow_sasl_over_tls")
DC_OCTET = 40
PROVISION_TIMEOUT = 300.0
CACHE_ENV = "SMBSIGN_LAB_CACHE"
DEFAULT_CACHE = Path("/var/cache/smbsign-lab")
_ETC_NETNS = Path("/etc/netns")
_TREE = "@TREE@"  # the provisioned tree's own path in its cached smb.conf
_DROP = ("dns forwarder", "panic action", "log file", "logging", "max log size")


@dataclass(frozen=True, slots=True)
class DcSpec:
    """What the DC is: names and address (the provisioning cache key) and runtime settings."""

    realm: str = "LAB.SMBSIGN.TEST"
    domain: str = "SMBSIGNLAB"
    host_name: str = "DC1"
    octet: int = DC_OCTET
    strong_auth: str = "yes"  # smb.conf "ldap server require strong auth"
    tls: bool = True  # smb.conf "tls enabled" (LDAPS on 636 with a self-signed certificate)
    extra: tuple[tuple[str, str], ...] = ()  # more [global] parameters, last wins

    def __post_init__(self) -> None:
        if self.strong_auth not in STRONG_AUTH:
            raise LabError(f"strong_auth must be one of {', '.join(STRONG_AUTH)}")
        if not re.fullmatch(r"[A-Z0-9-]+(\.[A-Z0-9-]+)+", self.realm):
            raise LabError(f"bad realm {self.realm!r}")
        if not all(re.fullmatch(r"[A-Z0-9-]{1,15}", n) for n in (self.domain, self.host_name)):
            raise LabError("domain and host names: 1-15 of A-Z 0-9 -")

    @property
    def address(self) -> str:
        return ipv4(self.octet)

    @property
    def dns_domain(self) -> str:
        return self.realm.lower()

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.dns_domain.split("."))

    @property
    def fqdn(self) -> str:
        return f"{self.host_name.lower()}.{self.dns_domain}"


def samba_version() -> str:
    """``samba --version`` (part of the cache key: a new Samba provisions afresh)."""
    return netns.run(["samba", "--version"]).stdout.strip()


def cache_key(spec: DcSpec) -> str:
    text = "|".join((spec.realm, spec.domain, spec.host_name, spec.address, samba_version()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path:
    root = Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_uid != os.geteuid():
        raise LabError(f"{root} is not owned by this user; refusing to use it as the lab cache")
    root.chmod(0o700)
    return root


def provisioned_tree(spec: DcSpec, namespace: str) -> tuple[Path, float]:
    """The cached provisioned tree for ``spec`` and the seconds spent provisioning (0 on a hit).

    A file lock serialises parallel sessions; a tree is published by rename only when complete.
    """
    root = cache_root()
    key = cache_key(spec)
    tree = root / f"addc-{key}"
    with (root / f"addc-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (tree / "provisioned.ok").exists():
            return tree, 0.0
        shutil.rmtree(tree, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".addc-{key}-", dir=root))
        began = time.monotonic()
        try:
            _provision(spec, namespace, work)
            conf = work / "etc" / "smb.conf"
            conf.write_text(conf.read_text().replace(str(work), _TREE))
            (work / "provisioned.ok").write_text(samba_version() + "\n")
            work.rename(tree)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return tree, time.monotonic() - began


def _provision(spec: DcSpec, namespace: str, work: Path) -> None:
    argv = [
        "samba-tool", "domain", "provision", f"--targetdir={work}", f"--realm={spec.realm}",
        f"--domain={spec.domain}", f"--host-name={spec.host_name}", "--server-role=dc",
        "--dns-backend=SAMBA_INTERNAL", f"--host-ip={spec.address}",
        f"--adminpass={ADMIN_PASSWORD}", "--option=dns forwarder = none",
    ]  # fmt: skip
    proc = netns.run(netns.exec_argv(namespace, argv), timeout=PROVISION_TIMEOUT, check=False)
    (work / "provision.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise LabError(f"samba-tool domain provision failed: {netns._one_line(proc.stderr)}")
    tls = work / "private" / "tls"
    tls.mkdir(mode=0o700, exist_ok=True)
    netns.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem"),
         "-subj", f"/CN={spec.fqdn}", "-addext", f"subjectAltName=DNS:{spec.fqdn}"],
        timeout=60,
    )  # fmt: skip
    (tls / "key.pem").chmod(0o600)
    shutil.copyfile(tls / "cert.pem", tls / "ca.pem")


def render_conf(provisioned: str, inst: Path, spec: DcSpec) -> str:
    """The instance smb.conf: provision's [global] with paths moved, plus the lab settings."""
    text = provisioned.replace(_TREE, str(inst))
    _head, _, rest = text.partition("[global]")
    glob = re.split(r"^\[", rest, maxsplit=1, flags=re.M)[0]
    params: dict[str, str] = {}
    for line in glob.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip().lower() not in _DROP:
            params[key.strip()] = value.strip()
    params.update(
        {
            "log file": str(inst / "log" / "samba.log"),
            "logging": "file",
            "max log size": "0",
            "log level": "1",
            "pid directory": str(inst / "run"),
            "ncalrpc dir": str(inst / "run" / "ncalrpc"),
            "winbindd socket directory": str(inst / "run" / "winbindd"),
            "server services": "-dnsupdate",
            "dns forwarder": "",
            "load printers": "no",
            "printing": "bsd",
            "printcap name": "/dev/null",
            "disable spoolss": "yes",
            "ldap server require strong auth": spec.strong_auth,
            "tls enabled": "yes" if spec.tls else "no",
            **dict(spec.extra),
        }
    )
    del params["dns forwarder"]
    lines = ["# written by smbsign.lab.addc", "[global]"]
    for key, value in params.items():
        if "\n" in key + value:
            raise LabError(f"invalid smb.conf parameter {key!r}")
        lines.append(f"\t{key} = {value}")
    sysvol = inst / "state" / "sysvol"
    lines += ["", "[sysvol]", f"\tpath = {sysvol}", "\tread only = No", ""]
    lines += ["[netlogon]", f"\tpath = {sysvol / spec.dns_domain / 'scripts'}", "\tread only = No"]
    return "\n".join(lines) + "\n"


def write_resolv(namespace: str, nameserver: str, search: str) -> Path:
    """``/etc/netns/<ns>/resolv.conf`` (bind-mounted by ``ip netns exec``, ip-netns(8))."""
    d = _ETC_NETNS / namespace
    d.mkdir(parents=True, exist_ok=True)
    (d / "resolv.conf").write_text(f"nameserver {nameserver}\nsearch {search}\n")
    return d


def cleanup_stale_etc() -> list[str]:
    """Remove ``/etc/netns/sslab-*`` directories whose namespace is gone."""
    removed = []
    for d in _ETC_NETNS.glob("sslab-*") if _ETC_NETNS.is_dir() else ():
        if not (netns.NETNS_DIR / d.name).exists():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(str(d))
    return removed

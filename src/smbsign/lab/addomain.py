"""A declarative AD domain for the lab DC: OUs, groups, users, computers, GPOs, links, DNS.

:class:`DomainSpec` is data; :func:`build_domain` makes it real on a running
:class:`~smbsign.lab.addc.AdLab` with the DC's own tools, from the client namespace:

- ``samba-tool gpo create`` / ``gpo setlink [--enforce] [--disable]`` / ``gpo setinheritance
  ... block`` and ``dns add`` (samba-tool(8)), run in one Python process (samba-tool's own
  ``cmd_sambatool``) instead of one process each: a samba-tool start costs about 0.4 s.
- OUs, groups, users, computers and memberships as one LDIF through ``ldbadd``/``ldbmodify``
  over LDAP (a user's ``unicodePwd`` is the quoted UTF-16LE password, MS-ADTS 3.1.1.3.1.5.1).
- GPO files over SMB as Administrator (``smbclient``): ``GptTmpl.inf`` as UTF-16LE with BOM and
  a ``[Registry Values]`` section (MS-GPSB 2.2), ``Registry.pol`` through the project's own PReg
  writer (MS-GPREG 2.2.1), ``GPT.INI`` ``Version``; then the GPO object's ``versionNumber``
  (MS-GPOL 2.2.4: user version in the upper, computer version in the lower 16 bits),
  ``gPCMachineExtensionNames`` (MS-GPOL 2.2.4, sorted CSE/tool GUID pairs), ``flags``
  (2 = computer settings disabled) and ``gPCWQLFilter`` (``[<domain>;<msWMI-ID>;0]``, MS-GPOL
  2.2.2, pointing at an ``msWMI-Som`` object, MS-WMI filter storage).
- Security filtering edits the GPO's DACL: the Apply-Group-Policy control access right
  (``edacfd8f-ffb3-11d1-b41d-00a0c968f939``, MS-GPOL 3.2.5.1.6) denied to, or granted only to,
  the given groups.

Link order: a container's links are listed in link order (1 = highest precedence) and set
with ``gpo setlink`` in that order; samba-tool prepends each new link to ``gPLink``, so link
order 1 ends up last in the attribute. :attr:`BuiltDomain.gplinks` is what was built.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smbsign.codecs.gpttmpl import (
    REGISTRY_VALUES,
    UNICODE_SECTION,
    VERSION_SECTION,
    encode_template,
    write_template,
)
from smbsign.codecs.registrypol import PolEntry
from smbsign.errors import LabError
from smbsign.lab.addc import SYSTEM_PYTHON, AdLab

SECURITY_CSE = "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
REGISTRY_CSE = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]"
APPLY_GROUP_POLICY = "edacfd8f-ffb3-11d1-b41d-00a0c968f939"
USER_PASSWORD = "Lab-only-User1!"  # noqa: S105 - throwaway, lab-only (low-privilege users)
SIGNING_SERVER = r"MACHINE\System\CurrentControlSet\Services\LanManServer\Parameters"
GPO_FLAG_MACHINE_DISABLED = 2

# Runs in the client namespace with the system python3 (Samba's bindings): every argv list
# read from stdin through samba-tool's own command table, a marker line after each.
_BATCH = r"""
import json, sys
from samba.netcmd.main import cmd_sambatool
for i, argv in enumerate(json.load(sys.stdin)):
    try:
        rc = cmd_sambatool()._run("samba-tool", argv[0], *argv[1:])
    except SystemExit as e:
        rc = e.code
    except Exception as e:
        print(e, file=sys.stderr); rc = 1
    sys.stdout.flush()
    print("\x1e%d %s" % (i, rc or 0), flush=True)
"""


@dataclass(frozen=True, slots=True)
class GpoSpec:
    """A GPO: its computer settings and the states the audit must handle."""

    name: str
    security: tuple[tuple[str, str], ...] = ()  # GptTmpl.inf [Registry Values]: path, "4,1"
    registry_pol: tuple[PolEntry, ...] = ()  # Machine\Registry.pol entries
    computer_settings_disabled: bool = False  # flags = 2
    deny_apply: tuple[str, ...] = ()  # groups denied Apply Group Policy
    apply_only: tuple[str, ...] = ()  # when set: Authenticated Users lose Apply, these get it
    wmi_filter: str | None = None  # a WMI filter (msWMI-Som) with this name is linked
    sysvol_missing: bool = False  # the GPO's SYSVOL folder is deleted after creation
    version_mismatch: bool = False  # AD versionNumber ahead of GPT.INI Version


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """A link of ``gpo`` on ``som``: an OU path such as ``Servers/Tier1``, or "" (domain)."""

    som: str
    gpo: str
    enforced: bool = False
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class ComputerSpec:
    name: str
    ou: str = ""  # OU path; "" = CN=Computers
    os: str = "Windows Server 2022 Datacenter"
    os_version: str = "10.0 (20348)"
    groups: tuple[str, ...] = ()
    dns_host_name: str | None = None  # default <name>.<dns domain>
    address: str | None = None  # a DNS A record for the host name (a lab server's address)


@dataclass(frozen=True, slots=True)
class DomainSpec:
    ous: tuple[str, ...] = ()  # parents before children; "Domain Controllers" already exists
    blocked: tuple[str, ...] = ()  # OUs with gPOptions = 1 (block inheritance)
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()  # low-privilege users, password USER_PASSWORD
    gpos: tuple[GpoSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()  # per container in link order (1 first)
    computers: tuple[ComputerSpec, ...] = ()
    dns: tuple[tuple[str, str], ...] = ()  # extra A records: (name, address)


@dataclass(frozen=True, slots=True)
class BuiltDomain:
    """What :func:`build_domain` made: GUIDs by GPO name, DNs, expected attribute values."""

    base_dn: str
    dns_domain: str
    gpo_guids: Mapping[str, str]  # name -> "{GUID}" (upper case, braces)
    # container DN -> ((GUID, link options), ...) in gPLink order: the spec's links for it
    # (link order 1 last), ahead of links that were there before (the default policies)
    gplinks: Mapping[str, tuple[tuple[str, int], ...]]
    wmi_ids: Mapping[str, str] = field(default_factory=dict)  # filter name -> "{GUID}"

    def som_dn(self, som: str) -> str:
        return som_dn(som, self.base_dn)

    def to_json(self) -> bytes:
        """For a saved tree (``AdLab.save_tree(dest, {"built.json": built.to_json()})``)."""
        doc = {
            "base_dn": self.base_dn,
            "dns_domain": self.dns_domain,
            "gpo_guids": dict(self.gpo_guids),
            "gplinks": {dn: [list(x) for x in links] for dn, links in self.gplinks.items()},
            "wmi_ids": dict(self.wmi_ids),
        }
        return json.dumps(doc, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> BuiltDomain:
        doc = json.loads(data)
        links = {dn: tuple((str(g), int(o)) for g, o in v) for dn, v in doc["gplinks"].items()}
        return cls(doc["base_dn"], doc["dns_domain"], doc["gpo_guids"], links, doc["wmi_ids"])

    def gpo_dn(self, name: str) -> str:
        return f"CN={self.gpo_guids[name]},CN=Policies,CN=System,{self.base_dn}"

    def sysvol_path(self, name: str) -> str:
        """The GPO folder inside the ``sysvol`` share (``/`` separators)."""
        return f"{self.dns_domain}/Policies/{self.gpo_guids[name]}"


def som_dn(som: str, base_dn: str) -> str:
    """``Servers/Tier1`` -> ``OU=Tier1,OU=Servers,<base>``; "" -> the domain."""
    parts = [p for p in som.split("/") if p]
    return ",".join([*(f"OU={p}" for p in reversed(parts)), base_dn])


def gpttmpl_inf(values: Iterable[tuple[str, str]]) -> bytes:
    """A security template as GPMC writes it: UTF-16LE with BOM, CRLF (MS-GPSB 2.2)."""
    lines = [f"{path}={value}" for path, value in values]
    text = write_template([UNICODE_SECTION, VERSION_SECTION, (REGISTRY_VALUES, lines)])
    return encode_template(text)


def gpt_ini(version: int) -> bytes:
    return f"[General]\r\nVersion={version}\r\n".encode("ascii")


def _ldif_value(attr: str, value: str) -> str:
    if value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")):
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"


def _entry(dn: str, attrs: Sequence[tuple[str, str]]) -> str:
    return "\n".join([_ldif_value("dn", dn), *(_ldif_value(a, v) for a, v in attrs)]) + "\n\n"


def objects_ldif(spec: DomainSpec, base_dn: str, dns_domain: str) -> tuple[str, str]:
    """(LDIF for ldbadd, LDIF for ldbmodify) creating the spec's directory objects."""
    add: list[str] = []
    for ou in spec.ous:
        if ou != "Domain Controllers":
            add.append(_entry(som_dn(ou, base_dn), [("objectClass", "organizationalUnit")]))
    for g in spec.groups:
        add.append(
            _entry(f"CN={g},CN=Users,{base_dn}", [("objectClass", "group"), ("sAMAccountName", g)])
        )
    pw = base64.b64encode(f'"{USER_PASSWORD}"'.encode("utf-16-le")).decode()
    for u in spec.users:
        attrs = [("objectClass", "user"), ("sAMAccountName", u), ("userAccountControl", "512")]
        attrs.append(("unicodePwd", pw))
        add.append(
            _entry(f"CN={u},CN=Users,{base_dn}", attrs).replace("unicodePwd: ", "unicodePwd:: ")
        )
    members: dict[str, list[str]] = {}
    for c in spec.computers:
        dn = computer_dn(c, base_dn)
        attrs = [
            ("objectClass", "computer"),
            ("sAMAccountName", f"{c.name}$"),
            ("userAccountControl", "4096"),
            ("dNSHostName", c.dns_host_name or f"{c.name.lower()}.{dns_domain}"),
            ("operatingSystem", c.os),
            ("operatingSystemVersion", c.os_version),
        ]
        add.append(_entry(dn, attrs))
        for g in c.groups:
            members.setdefault(g, []).append(dn)
    mod = [
        _ldif_value("dn", f"CN={g},CN=Users,{base_dn}")
        + "\nchangetype: modify\nadd: member\n"
        + "\n".join(_ldif_value("member", m) for m in dns)
        + "\n-\n\n"
        for g, dns in members.items()
    ]
    return "".join(add), "".join(mod)


def computer_dn(c: ComputerSpec, base_dn: str) -> str:
    parent = som_dn(c.ou, base_dn) if c.ou else f"CN=Computers,{base_dn}"
    return f"CN={c.name},{parent}"


def samba_tool_batch(ad: AdLab, commands: Sequence[Sequence[str]]) -> list[str]:
    """Run samba-tool commands (Administrator) in one process; their outputs, in order."""
    if not commands:
        return []
    proc = ad.run_client(
        [*ad.admin_env_argv(), SYSTEM_PYTHON, "-c", _BATCH],
        input_text=json.dumps([list(c) for c in commands]),
        timeout=60 + 5 * len(commands),
    )
    outs: list[str] = []
    chunk: list[str] = []
    for line in proc.stdout.split("\n"):  # not splitlines(): it splits at \x1e too
        m = re.fullmatch(r"\x1e(\d+) (\S+)", line)
        if not m:
            chunk.append(line)
            continue
        if m.group(2) != "0":
            why = proc.stderr.strip().splitlines()[-1:] or ["no message"]
            raise LabError(f"samba-tool {' '.join(commands[int(m.group(1))][:3])}: {why[0]}")
        outs.append("\n".join(chunk))
        chunk = []
    if len(outs) != len(commands):
        raise LabError(f"samba-tool batch stopped after {len(outs)} commands: {proc.stderr[-200:]}")
    return outs


def _admin(ad: AdLab) -> list[str]:
    return ["-H", ad.ldap_url, "-U", "Administrator", "--use-kerberos=off"]


def build_domain(ad: AdLab, spec: DomainSpec, *, local: bool = False) -> BuiltDomain:
    """Create everything in ``spec`` on the running DC of ``ad``; raise LabError on failure.

    ``local`` writes the directory objects straight into the DC's ``sam.ldb`` (about 90
    computers/s here, against 16/s over LDAP): for large domains such as the benchmark's.
    """
    from smbsign.lab.adgpo import apply_gpo_settings

    base, dns_domain = ad.spec.base_dn, ad.spec.dns_domain
    add, mod = objects_ldif(spec, base, dns_domain)
    if add:
        ad.ldif("ldbadd", add, timeout=3600, local=local)
    if mod:
        ad.ldif("ldbmodify", mod, timeout=3600, local=local)
    creates = [["gpo", "create", g.name, *_admin(ad)] for g in spec.gpos]
    guids: dict[str, str] = {}
    for g, out in zip(spec.gpos, samba_tool_batch(ad, creates), strict=True):
        m = re.search(r"created as (\{[0-9A-Fa-f-]{36}\})", out)
        if not m:
            raise LabError(f"gpo create {g.name}: no GUID in the output")
        guids[g.name] = m.group(1).upper()
    cmds: list[list[str]] = []
    for link in spec.links:
        if link.gpo not in guids:
            raise LabError(f"link to unknown GPO {link.gpo!r}")
        flags = (["--enforce"] if link.enforced else []) + (["--disable"] if link.disabled else [])
        cmds.append(
            ["gpo", "setlink", som_dn(link.som, base), guids[link.gpo], *flags, *_admin(ad)]
        )
    for ou in spec.blocked:
        cmds.append(["gpo", "setinheritance", som_dn(ou, base), "block", *_admin(ad)])
    records = [*spec.dns, *((c.name.lower(), c.address) for c in spec.computers if c.address)]
    for name, address in records:
        cmds.append(["dns", "add", ad.address, dns_domain, name, "A", address, *_admin(ad)[2:]])
    samba_tool_batch(ad, cmds)
    built = BuiltDomain(base, dns_domain, guids, _expected_gplinks(spec, guids, base))
    return apply_gpo_settings(ad, spec, built)


def _expected_gplinks(
    spec: DomainSpec, guids: Mapping[str, str], base: str
) -> dict[str, tuple[tuple[str, int], ...]]:
    out: dict[str, tuple[tuple[str, int], ...]] = {}
    for link in spec.links:
        dn = som_dn(link.som, base)
        opts = (1 if link.disabled else 0) | (2 if link.enforced else 0)
        out[dn] = ((guids[link.gpo], opts), *out.get(dn, ()))
    return out


def parse_gplink(value: str) -> list[tuple[str, int]]:
    """``[LDAP://cn={GUID},...;N]...`` -> [("{GUID}", N), ...] in attribute order."""
    found = re.findall(r"\[LDAP://cn=(\{[0-9a-f-]{36}\}),[^;\]]*;(\d+)\]", value, re.I)
    return [(g.upper(), int(n)) for g, n in found]


def new_guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def user_password_file(ad: AdLab, user: str) -> Path:
    """A 0600 file holding a low-privilege user's password (for ``PASSWD_FILE``)."""
    path = ad.password_file.parent / f"{user}.pw"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(USER_PASSWORD)
    return path


def stage_dir(ad: AdLab) -> Path:
    d = ad.password_file.parent / "stage"
    d.mkdir(exist_ok=True)
    return d

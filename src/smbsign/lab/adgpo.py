"""GPO contents for the lab domain: SYSVOL files over SMB, GPO attributes, ACLs, WMI filters.

Part of :func:`smbsign.lab.addomain.build_domain` (see its docstring for the sources). Files
go through one ``smbclient`` session as Administrator (commands on stdin, no secret on argv);
attributes through one ``ldbmodify`` over LDAP.
"""

from __future__ import annotations

import dataclasses
import re

from smbsign.codecs.registrypol import encode_registry_pol
from smbsign.errors import LabError
from smbsign.lab.addc import AdLab
from smbsign.lab.addomain import (
    APPLY_GROUP_POLICY,
    GPO_FLAG_MACHINE_DISABLED,
    REGISTRY_CSE,
    SECURITY_CSE,
    BuiltDomain,
    DomainSpec,
    GpoSpec,
    _entry,
    gpt_ini,
    gpttmpl_inf,
    new_guid,
    stage_dir,
)

_SECEDIT = "Machine/Microsoft/Windows NT/SecEdit"
# smbclient prints these for a mkdir of a folder that exists: harmless here.
_HARMLESS = ("NT_STATUS_OBJECT_NAME_COLLISION",)


def _q(path: str) -> str:
    if '"' in path or "\n" in path:
        raise LabError(f"unsupported SYSVOL path {path!r}")
    return f'"{path}"'


def _versions(g: GpoSpec) -> tuple[int, int]:
    """(GPT.INI Version, AD versionNumber): computer version 1; 3 in AD when mismatched."""
    return 1, 3 if g.version_mismatch else 1


def sysvol_commands(ad: AdLab, spec: DomainSpec, built: BuiltDomain) -> list[str]:
    """smbclient commands writing every GPO's files (staged locally first)."""
    stage = stage_dir(ad)
    cmds: list[str] = []
    for g in spec.gpos:
        folder = built.sysvol_path(g.name)
        if g.sysvol_missing:
            cmds.append(f"deltree {_q(folder)}")
            continue
        files: dict[str, bytes] = {}
        if g.security:
            files[f"{_SECEDIT}/GptTmpl.inf"] = gpttmpl_inf(g.security)
        if g.registry_pol:
            files["Machine/Registry.pol"] = encode_registry_pol(g.registry_pol)
        if not files:
            continue
        files["GPT.INI"] = gpt_ini(_versions(g)[0])
        parts = _SECEDIT.split("/")
        for i in range(1, len(parts) + 1):
            cmds.append(f"mkdir {_q(folder + '/' + '/'.join(parts[:i]))}")
        for rel, data in files.items():
            local = stage / f"{built.gpo_guids[g.name].strip('{}')}-{rel.replace('/', '_')}"
            local.write_bytes(data)
            cmds.append(f"put {_q(str(local))} {_q(folder + '/' + rel)}")
    return cmds


def run_smbclient(ad: AdLab, commands: list[str]) -> None:
    """Run smbclient commands on ``\\\\DC\\sysvol`` as Administrator; raise on a failure."""
    if not commands:
        return
    argv = [*ad.admin_env_argv(), "smbclient", f"//{ad.address}/sysvol", "-U", "Administrator"]
    proc = ad.run_client(argv, input_text="\n".join(commands) + "\n", timeout=300)
    bad = [
        ln
        for ln in (proc.stdout + proc.stderr).splitlines()
        if "NT_STATUS_" in ln and not any(h in ln for h in _HARMLESS)
    ]
    if bad or proc.returncode not in (0, 1):
        raise LabError(f"smbclient on SYSVOL failed: {(bad or [proc.stderr])[0][:200]}")


def _group_sids(ad: AdLab, groups: set[str]) -> dict[str, str]:
    if not groups:
        return {}
    flt = "(|" + "".join(f"(sAMAccountName={g})" for g in sorted(groups)) + ")"
    out = ad.admin(
        ["ldbsearch", "-H", ad.ldap_url, "-U", "Administrator", "--use-kerberos=off",
         "-b", ad.spec.base_dn, flt, "sAMAccountName", "objectSid"]
    )  # fmt: skip
    sids: dict[str, str] = {}
    for rec in out.split("# record")[1:]:
        name = re.search(r"^sAMAccountName: (.+)$", rec, re.M)
        sid = re.search(r"^objectSid: (S-[0-9-]+)$", rec, re.M)
        if name and sid:
            sids[name.group(1)] = sid.group(1)
    missing = groups - set(sids)
    if missing:
        raise LabError(f"no such group: {', '.join(sorted(missing))}")
    return sids


def _gpo_sddl(ad: AdLab, dn: str) -> str:
    out = ad.admin(
        ["ldbsearch", "-H", ad.ldap_url, "-U", "Administrator", "--use-kerberos=off",
         "-b", dn, "-s", "base", "nTSecurityDescriptor"]
    )  # fmt: skip
    m = re.search(r"^nTSecurityDescriptor: (.+(?:\n .+)*)", out, re.M)
    if not m:
        raise LabError(f"no security descriptor readable on {dn}")
    return m.group(1).replace("\n ", "")


def filtered_sddl(sddl: str, g: GpoSpec, sids: dict[str, str]) -> str:
    """The GPO's SDDL with its security filtering applied (deny ACEs first, MS-DTYP 2.4.5)."""
    apply_ace = f"(OA;CI;CR;{APPLY_GROUP_POLICY};;{{}})"
    owner_dacl, sacl_sep, sacl = sddl.partition("S:")
    m = re.search(r"D:([A-Z]*)", owner_dacl)
    if not m:
        raise LabError("security descriptor has no DACL")
    head, aces = owner_dacl[: m.end()], owner_dacl[m.end() :]
    if g.apply_only:
        aces = aces.replace(apply_ace.format("AU"), "")
        aces += "".join(
            f"(A;CI;RPLCLORC;;;{sids[x]})" + apply_ace.format(sids[x]) for x in g.apply_only
        )
    deny = "".join(f"(OD;CI;CR;{APPLY_GROUP_POLICY};;{sids[x]})" for x in g.deny_apply)
    return head + deny + aces + sacl_sep + sacl


def gpo_modify_ldif(
    ad: AdLab, spec: DomainSpec, built: BuiltDomain
) -> tuple[str, str, dict[str, str]]:
    """(ldbadd LDIF for WMI filters, ldbmodify LDIF for GPO attributes, filter name -> ID)."""
    base = built.base_dn
    wmi_ids: dict[str, str] = {}
    adds: list[str] = []
    for g in spec.gpos:
        if g.wmi_filter and g.wmi_filter not in wmi_ids:
            wid = new_guid()
            wmi_ids[g.wmi_filter] = wid
            query = 'SELECT * FROM Win32_OperatingSystem WHERE ProductType = "3"'
            parm2 = f"1;3;10;{len(query)};WQL;root\\CIMv2;{query};"
            adds.append(
                _entry(
                    f"CN={wid},CN=SOM,CN=WMIPolicy,CN=System,{base}",
                    [
                        ("objectClass", "msWMI-Som"),
                        ("msWMI-ID", wid),
                        ("msWMI-Name", g.wmi_filter),
                        ("msWMI-Parm2", parm2),
                    ],
                )
            )
    sids = _group_sids(ad, {x for g in spec.gpos for x in (*g.deny_apply, *g.apply_only)})
    mods: list[str] = []
    for g in spec.gpos:
        dn = built.gpo_dn(g.name)
        changes: list[tuple[str, str]] = []
        cses = sorted(
            ([SECURITY_CSE] if g.security else []) + ([REGISTRY_CSE] if g.registry_pol else [])
        )
        if cses:
            changes.append(("gPCMachineExtensionNames", "".join(cses)))
            changes.append(("versionNumber", str(_versions(g)[1])))
        if g.computer_settings_disabled:
            changes.append(("flags", str(GPO_FLAG_MACHINE_DISABLED)))
        if g.wmi_filter:
            changes.append(("gPCWQLFilter", f"[{built.dns_domain};{wmi_ids[g.wmi_filter]};0]"))
        if g.deny_apply or g.apply_only:
            changes.append(("nTSecurityDescriptor", filtered_sddl(_gpo_sddl(ad, dn), g, sids)))
        if changes:
            body = "".join(f"replace: {a}\n{a}: {v}\n-\n" for a, v in changes)
            mods.append(f"dn: {dn}\nchangetype: modify\n{body}\n")
    return "".join(adds), "".join(mods), wmi_ids


def apply_gpo_settings(ad: AdLab, spec: DomainSpec, built: BuiltDomain) -> BuiltDomain:
    """Write SYSVOL files and GPO attributes; return ``built`` with the WMI filter IDs."""
    run_smbclient(ad, sysvol_commands(ad, spec, built))
    adds, mods, wmi_ids = gpo_modify_ldif(ad, spec, built)
    if adds:
        ad.ldif("ldbadd", adds)
    if mods:
        ad.ldif("ldbmodify", mods)
    return dataclasses.replace(built, wmi_ids=wmi_ids)

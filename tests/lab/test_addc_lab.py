"""The lab AD DC is real: LDAP/LDAPS answer, the built domain reads back, SYSVOL is readable by
the low-privilege user over SMB, DNS resolves through the DC, and teardown leaves nothing.

Everything runs in the lab's client namespace against the DC's namespace (packets stay there).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lab_helpers import require_addc, require_lab

from conftest import AdTestDomain
from smbsign.codecs.registrypol import decode_registry_pol
from smbsign.errors import LabError
from smbsign.lab import netns
from smbsign.lab.addc import AdLab
from smbsign.lab.addomain import (
    SECURITY_CSE,
    BuiltDomain,
    ComputerSpec,
    DomainSpec,
    GpoSpec,
    LinkSpec,
    build_domain,
    gpttmpl_inf,
    parse_gplink,
)
from smbsign.lab.adprovision import STRONG_AUTH, DcSpec
from smbsign.lab.adstandard import EXEMPT, ON

pytestmark = pytest.mark.timeout(600)

# ldap3 in the client namespace: a client independent of Samba's own tools. argv: URL, user
# (DOMAIN\\name), password file, base, filter, attributes (comma-separated).
_LDAP3 = r"""
import json, sys, ssl
from pathlib import Path
import ldap3
url, user, pwfile, base, flt, attrs = sys.argv[1:7]
tls = ldap3.Tls(validate=ssl.CERT_NONE)
server = ldap3.Server(url, tls=tls, connect_timeout=10)
conn = ldap3.Connection(server, user=user, password=Path(pwfile).read_text(), receive_timeout=20)
ok = conn.bind()
out = {"bind": ok, "result": conn.result.get("result"), "entries": []}
if ok:
    conn.search(base, flt, attributes=attrs.split(","))
    for e in conn.response or []:
        if e.get("type") == "searchResEntry":
            attrs = {k: [str(x) for x in (v if isinstance(v, list) else [v])]
                     for k, v in e["attributes"].items()}
            out["entries"].append({"dn": e["dn"], **attrs})
print(json.dumps(out))
"""


def ldap3_query(
    ad: AdLab, url: str, user: str, pwfile: Path, base: str, flt: str, attrs: str
) -> dict[str, object]:
    proc = ad.run_client([sys.executable, "-c", _LDAP3, url, user, str(pwfile), base, flt, attrs])
    assert proc.returncode == 0, proc.stderr[-500:]
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def auditor_smb(d: AdTestDomain, command: str) -> subprocess.CompletedProcess[str]:
    argv = ["env", f"PASSWD_FILE={d.auditor_password_file}", "smbclient"]
    argv += [f"//{d.ad.address}/sysvol", "-U", d.auditor, "-c", command]
    return d.ad.run_client(argv, timeout=60)


def test_ldaps_bind_as_auditor_reads_links_and_inheritance(addc: AdTestDomain) -> None:
    ad, built = addc.ad, addc.built
    res = ldap3_query(
        ad, f"ldaps://{ad.address}", f"{ad.spec.domain}\\{addc.auditor}",
        addc.auditor_password_file, built.base_dn, "(|(gPLink=*)(gPOptions=*))",
        "gPLink,gPOptions",
    )  # fmt: skip
    assert res["bind"] is True
    entries = {e["dn"].lower(): e for e in res["entries"]}  # type: ignore[attr-defined]
    for dn, links in built.gplinks.items():
        got = parse_gplink(entries[dn.lower()]["gPLink"][0])
        assert tuple(got[: len(links)]) == links, dn
    blocked = {dn for dn, e in entries.items() if e.get("gPOptions") == ["1"]}
    assert blocked == {built.som_dn("Workstations/Tier2").lower()}


def test_link_options_enforced_disabled_and_order(addc: AdTestDomain) -> None:
    b = addc.built
    ws = b.gplinks[b.som_dn("Workstations")]
    assert ws == ((b.gpo_guids["WS Signing Enforced"], 2),)
    tier1 = b.gplinks[b.som_dn("Servers/Tier1")]  # link order 1 (disabled) is last in gPLink
    assert tier1 == (
        (b.gpo_guids["Tier1 Signing Off"], 0),
        (b.gpo_guids["Tier1 Disabled Link On"], 1),
    )


def test_simple_bind_on_389_refused_under_default_strong_auth(addc: AdTestDomain) -> None:
    ad = addc.ad
    res = ldap3_query(
        ad, f"ldap://{ad.address}", f"{ad.spec.domain}\\{addc.auditor}",
        addc.auditor_password_file, addc.built.base_dn, "(objectClass=*)", "dn",
    )  # fmt: skip
    assert res["bind"] is False and res["result"] == 8  # strongerAuthRequired


def _admin_search(d: AdTestDomain, base: str, attrs: list[str], scope: str = "base") -> str:
    return d.ad.admin(
        ["ldbsearch", "-H", d.ad.ldap_url, "-U", "Administrator", "--use-kerberos=off",
         "-b", base, "-s", scope, *attrs]
    )  # fmt: skip


def _attr(text: str, name: str) -> str:
    m = re.search(rf"^{name}: (.+(?:\n .+)*)", text, re.M)
    assert m, f"{name} missing"
    return m.group(1).replace("\n ", "")


def test_gpo_objects_carry_the_built_states(addc: AdTestDomain) -> None:
    b = addc.built
    attrs = ["flags", "versionNumber", "gPCMachineExtensionNames", "gPCWQLFilter"]
    cs_off = _admin_search(addc, b.gpo_dn("DC Signing Off (computer disabled)"), attrs)
    assert _attr(cs_off, "flags") == "2"
    mismatch = _admin_search(addc, b.gpo_dn("Servers Signing On"), attrs)
    assert _attr(mismatch, "versionNumber") == "3"
    assert _attr(mismatch, "gPCMachineExtensionNames") == SECURITY_CSE
    wmi = _admin_search(addc, b.gpo_dn("Exchange WMI Signing On"), attrs)
    wid = b.wmi_ids["Exchange servers only"]
    assert _attr(wmi, "gPCWQLFilter") == f"[{b.dns_domain};{wid};0]"
    som = _admin_search(addc, f"CN={wid},CN=SOM,CN=WMIPolicy,CN=System,{b.base_dn}", ["msWMI-Name"])
    assert _attr(som, "msWMI-Name") == "Exchange servers only"
    sd = _attr(
        _admin_search(addc, b.gpo_dn("SCCM Signing On (filtered)"), ["nTSecurityDescriptor"]),
        "nTSecurityDescriptor",
    )
    exempt = _attr(
        _admin_search(addc, f"CN={EXEMPT},CN=Users,{b.base_dn}", ["objectSid"]), "objectSid"
    )
    assert f"(OD;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;{exempt})" in sd
    assert "(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)" not in sd


def test_computer_accounts_as_built(addc: AdTestDomain) -> None:
    b = addc.built
    out = _admin_search(
        addc,
        b.som_dn("SCCM"),
        ["dNSHostName", "operatingSystem", "operatingSystemVersion", "memberOf"],
        "one",
    )
    records = out.split("# record")[1:]
    assert len(records) == 3
    sccm3 = next(r for r in records if "CN=SCCM3," in r)
    assert f"dNSHostName: sccm3.{b.dns_domain}" in sccm3
    assert "operatingSystem: Windows Server 2022 Datacenter" in sccm3
    assert sccm3.count("memberOf: ") == 2


def test_sysvol_files_readable_by_auditor_over_smb(addc: AdTestDomain, tmp_path: Path) -> None:
    b = addc.built
    tmpl = f"{b.sysvol_path('Servers Signing On')}/Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
    local = addc.ad.password_file.parent / "got-GptTmpl.inf"
    proc = auditor_smb(addc, f'get "{tmpl}" "{local}"')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = local.read_bytes()
    assert data == gpttmpl_inf(ON) and data.startswith(b"\xff\xfe")
    assert "[Registry Values]" in data.decode("utf-16")
    pol = f"{b.sysvol_path('Tier1 Signing Off')}/Machine/Registry.pol"
    local_pol = addc.ad.password_file.parent / "got-Registry.pol"
    assert auditor_smb(addc, f'get "{pol}" "{local_pol}"').returncode == 0
    (entry,) = decode_registry_pol(local_pol.read_bytes())
    assert entry.key == r"Software\Policies\Samba\smb_conf" and entry.value == "server signing"
    ini = addc.ad.password_file.parent / "got-GPT.INI"
    assert (
        auditor_smb(addc, f'get "{b.sysvol_path("Servers Signing On")}/GPT.INI" "{ini}"').returncode
        == 0
    )
    assert "Version=1" in ini.read_text()  # AD says 3: the version mismatch
    ghost = auditor_smb(addc, f'ls "{b.sysvol_path("Ghost Policy")}/*"')
    assert "NT_STATUS_OBJECT_NAME_NOT_FOUND" in ghost.stdout + ghost.stderr or (
        "NT_STATUS_OBJECT_PATH_NOT_FOUND" in ghost.stdout + ghost.stderr
    )


def test_dns_a_records_resolve_through_the_dc(addc: AdTestDomain) -> None:
    code = (
        "import socket, sys, dns.resolver\n"
        "r = dns.resolver.Resolver(configure=False); r.nameservers = [sys.argv[1]]\n"
        "a = [x.address for x in r.resolve(sys.argv[2], 'A', lifetime=10)]\n"
        "print(a[0], socket.gethostbyname(sys.argv[3]))\n"
    )
    fqdn = f"srv1.{addc.built.dns_domain}"
    proc = addc.ad.run_client([sys.executable, "-c", code, addc.ad.address, fqdn, "ws1"])
    assert proc.returncode == 0, proc.stderr[-300:]
    via_dc, via_resolv_conf = proc.stdout.split()
    assert via_dc == addc.members["member-mandatory"]
    assert via_resolv_conf == addc.members["member-default"]


@pytest.mark.parametrize("strong_auth", STRONG_AUTH)
def test_dc_starts_with_each_strong_auth_setting_and_ldaps(strong_auth: str) -> None:
    """Only that the DC runs with the setting and 636 answers TLS; LDAP probing is #12's."""
    require_lab()
    require_addc()
    with AdLab(DcSpec(strong_auth=strong_auth)) as ad:
        assert ad.dc is not None
        param = ["--parameter-name", "ldap server require strong auth"]
        conf = ad.lab.run_in(ad.dc_ns, ["testparm", "-s", *param, str(ad.dc.conf_path)], 60)
        assert conf.stdout.strip().lower() == strong_auth
        tls = ad.run_client(
            ["openssl", "s_client", "-connect", f"{ad.address}:636", "-brief"],
            input_text="",
            timeout=30,
        )
        assert "CONNECTION ESTABLISHED" in tls.stderr + tls.stdout


def test_teardown_leaves_no_namespace_process_or_file() -> None:
    require_lab()
    require_addc()
    ad = AdLab()
    with ad:
        assert ad.dc is not None
        namespaces = [ns for ns in netns.list_namespaces() if ns.startswith(ad.lab.run_id)]
        pids = [p for ns in namespaces for p in netns.namespace_pids(ns)]
        instance = ad.password_file.parent
        assert len(namespaces) >= 4 and pids and ad.dc.running()
    assert not [ns for ns in netns.list_namespaces() if ns.startswith(ad.lab.run_id)]
    assert not any(Path(f"/proc/{p}").exists() for p in pids)
    assert not instance.exists()
    assert not list(Path("/etc/netns").glob(f"{ad.lab.run_id}*"))


def test_a_saved_tree_starts_with_the_built_domain(tmp_path: Path) -> None:
    """save_tree + AdLab(seed=...): the built domain comes back without building it again."""
    require_lab()
    require_addc()
    spec = DomainSpec(
        ous=("Servers",),
        gpos=(GpoSpec("Saved On", ON),),
        links=(LinkSpec("Servers", "Saved On", enforced=True),),
        computers=(ComputerSpec("SAVED1", "Servers"),),
    )
    seed = tmp_path / "seed"
    with AdLab() as ad:
        built = build_domain(ad, spec, local=True)
        ad.save_tree(seed, {"built.json": built.to_json()})
    again = BuiltDomain.from_json((seed / "built.json").read_bytes())
    assert again == built
    with AdLab(seed=seed) as ad:
        out = ad.admin(
            ["ldbsearch", "-H", ad.ldap_url, "-U", "Administrator", "--use-kerberos=off",
             "-b", again.som_dn("Servers"), "-s", "sub", "(|(gPLink=*)(cn=SAVED1))", "gPLink"]
        )  # fmt: skip
        assert "CN=SAVED1,OU=Servers" in out
        assert parse_gplink(_attr(out, "gPLink"))[0] == (again.gpo_guids["Saved On"], 2)
    with pytest.raises(LabError, match="not a saved tree"):
        AdLab(DcSpec(realm="OTHER.SMBSIGN.TEST"), seed=seed).start()

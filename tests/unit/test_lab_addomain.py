"""The AD lab's pure parts: the DC's smb.conf, GPO files read back by the project's own
collectors, security filtering SDDL, gPLink parsing and the LDIF of the domain objects."""

from __future__ import annotations

import base64
from pathlib import Path

from smbsign.codecs.registrypol import decode_registry_pol, encode_registry_pol
from smbsign.collect import gpttmpl
from smbsign.lab.addomain import (
    ComputerSpec,
    DomainSpec,
    GpoSpec,
    gpt_ini,
    gpttmpl_inf,
    objects_ldif,
    parse_gplink,
    som_dn,
)
from smbsign.lab.adgpo import filtered_sddl
from smbsign.lab.adprovision import _TREE, DcSpec, render_conf
from smbsign.lab.adstandard import MEMBERS, ON, standard_domain

_PROVISIONED = f"""# Global parameters
[global]
\tdns forwarder = 10.255.255.53
\tlock directory = {_TREE}
\tlog file = /var/log/samba/log.%m
\tnetbios name = DC1
\tpanic action = /usr/share/samba/panic-action %d
\tprivate dir = {_TREE}/private
\tserver role = active directory domain controller

[sysvol]
\tpath = {_TREE}/state/sysvol
"""


def test_dc_conf_has_no_forwarder_logs_in_instance_and_sets_strong_auth() -> None:
    inst = Path("/tmp/x/dc")
    conf = render_conf(_PROVISIONED, inst, DcSpec(strong_auth="allow_sasl_over_tls"))
    assert "forwarder" not in conf and "panic action" not in conf and "/var/log" not in conf
    assert "\tlog file = /tmp/x/dc/log/samba.log" in conf
    assert "\tserver services = -dnsupdate" in conf
    assert "\tprivate dir = /tmp/x/dc/private" in conf and _TREE not in conf
    assert "\tldap server require strong auth = allow_sasl_over_tls" in conf
    assert "\tpath = /tmp/x/dc/state/sysvol" in conf


def test_gpttmpl_is_utf16_with_bom_and_read_by_the_collector() -> None:
    data = gpttmpl_inf(ON)
    assert data.startswith(b"\xff\xfe")
    path = r"\\lab\sysvol\lab\Policies\{G}\Machine\Microsoft\Windows NT\SecEdit\GptTmpl.inf"
    result = gpttmpl.collect(data, path, "h")
    assert not result.errors
    (value,) = [v for v in result.values if "requiresecuritysignature" in v.setting.lower()]
    assert value.value == 1


def test_registry_pol_of_the_standard_domain_round_trips() -> None:
    spec = standard_domain(dict.fromkeys(MEMBERS, "10.213.0.100"))
    (gpo,) = [g for g in spec.gpos if g.registry_pol]
    data = encode_registry_pol(gpo.registry_pol)
    assert decode_registry_pol(data)[0].value == "server signing"
    assert gpt_ini(3) == b"[General]\r\nVersion=3\r\n"


def test_security_filtering_sddl() -> None:
    sddl = (
        "O:DAG:DAD:P(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)(A;CI;RPLCLORC;;;AU)"
        "(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)S:AI(AU;SA;WP;;;WD)"
    )
    gpo = GpoSpec("g", apply_only=("Pilot",), deny_apply=("Exempt",))
    out = filtered_sddl(
        sddl, gpo, {"Pilot": "S-1-5-21-1-2-3-1111", "Exempt": "S-1-5-21-1-2-3-2222"}
    )
    assert out.startswith(
        "O:DAG:DAD:P(OD;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;S-1-5-21-1-2-3-2222)"
    )
    assert "edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)" not in out
    assert "(A;CI;RPLCLORC;;;AU)" in out  # Authenticated Users may still read
    assert "(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;S-1-5-21-1-2-3-1111)" in out
    assert out.endswith("S:AI(AU;SA;WP;;;WD)")


def test_parse_gplink_keeps_attribute_order_and_options() -> None:
    value = (
        "[LDAP://cn={6ac1786c-016f-11d2-945f-00c04fb984f9},cn=policies,cn=system,DC=x;2]"
        "[LDAP://CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=x;1]"
    )
    assert parse_gplink(value) == [
        ("{6AC1786C-016F-11D2-945F-00C04FB984F9}", 2),
        ("{31B2F340-016D-11D2-945F-00C04FB984F9}", 1),
    ]


def test_objects_ldif() -> None:
    base = "DC=lab,DC=test"
    assert som_dn("Servers/Tier1", base) == "OU=Tier1,OU=Servers,DC=lab,DC=test"
    assert som_dn("", base) == base
    spec = DomainSpec(
        ous=("Domain Controllers", "Servers"),
        groups=("G",),
        users=("auditor",),
        computers=(ComputerSpec("SRV1", "Servers", groups=("G",)),),
    )
    add, mod = objects_ldif(spec, base, "lab.test")
    assert "OU=Domain Controllers" not in add  # exists after provisioning
    assert "dn: CN=SRV1,OU=Servers,DC=lab,DC=test\n" in add
    assert "sAMAccountName: SRV1$\n" in add and "dNSHostName: srv1.lab.test\n" in add
    pw = add.split("unicodePwd:: ")[1].split("\n")[0]
    assert base64.b64decode(pw).decode("utf-16-le").startswith('"')
    assert "dn: CN=G,CN=Users,DC=lab,DC=test\nchangetype: modify\nadd: member\n" in mod

"""The domain view end to end over a fake directory and SYSVOL (no sockets)."""

from __future__ import annotations

import pytest
from ad_fakes import AU, DOMAIN, Lab, ace, link, sd

from smbsign.ad.security import APPLY_GROUP_POLICY
from smbsign.ad.view import audit_domain
from smbsign.catalog import load_catalog
from smbsign.model import Finding, Status

CONTROL = "smb-server-signing-required"
A, B, C, D = (
    f"{n}0000000-0000-0000-0000-000000000000"[:8] + "-0000-0000-0000-00000000000" + n
    for n in "1234"
)
OU_P = f"OU=Servers,{DOMAIN}"
OU_C = f"OU=Tier1,{OU_P}"


@pytest.fixture(scope="module")
def catalog() -> object:
    return load_catalog()


def run(lab: Lab, catalog: object) -> dict[str, Finding]:
    _, results = audit_domain(lab.d, lab.fs, catalog)  # type: ignore[arg-type]
    out: dict[str, Finding] = {}
    for r in results:
        for f in r.findings:
            if f.control == CONTROL:
                out[r.computer.dns_name.split(".")[0]] = f
    return out


def gpo_of(f: Finding) -> tuple[str, str, bool] | None:
    g = f.source.gpo if f.source is not None else None
    return None if g is None else (g.guid, g.link, g.enforced)


def test_child_ou_link_wins_over_parent_and_domain(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "dom-off", 0)
    lab.gpo(B, "parent-off", 0)
    lab.gpo(C, "child-on", 1)
    lab.ou(DOMAIN, link(A))
    lab.ou(OU_P, link(B))
    lab.ou(OU_C, link(C))
    lab.computer("s1", OU_C)
    lab.computer("s2", OU_P)
    got = run(lab, catalog)
    assert got["s1"].status is Status.PASS and gpo_of(got["s1"]) == (C, OU_C, False)
    assert got["s1"].roles == ("member_server",)
    assert any("parent-off" in n for n in got["s1"].notes)
    assert got["s2"].status is Status.FAIL and gpo_of(got["s2"]) == (B, OU_P, False)


def test_link_order_1_is_the_last_gplink_entry_and_wins(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "order-2", 0)
    lab.gpo(B, "order-1", 1)
    lab.ou(OU_P, link(A), link(B))  # samba-tool setlink B, then A: A is prepended
    lab.computer("s1", OU_P)
    f = run(lab, catalog)["s1"]
    assert f.status is Status.PASS and gpo_of(f) == (B, OU_P, False)
    assert any("'order-2'" in n and "link order 2" in n for n in f.notes)


def test_enforced_domain_link_beats_child_ou_and_survives_block(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "dom-enforced-on", 1)
    lab.gpo(B, "child-off", 0)
    lab.ou(DOMAIN, link(A, 2))
    lab.ou(OU_P, link(B), block=True)
    lab.computer("s1", OU_P)
    f = run(lab, catalog)["s1"]
    assert f.status is Status.PASS and gpo_of(f) == (A, DOMAIN, True)


def test_block_inheritance_drops_parent_non_enforced(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "dom-on", 1)
    lab.ou(DOMAIN, link(A))
    lab.ou(OU_P, block=True)
    lab.computer("s1", OU_P)
    lab.computer("s2", f"CN=Computers,{DOMAIN}")
    got = run(lab, catalog)
    assert gpo_of(got["s1"]) is None and got["s1"].source is not None
    assert got["s1"].source.layer.value == "default"
    assert gpo_of(got["s2"]) == (A, DOMAIN, False)


def test_disabled_link_and_computer_settings_disabled_do_not_apply(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "disabled-link", 0)
    lab.gpo(B, "computer-off", 0, flags=2)
    lab.gpo(C, "on", 1)
    lab.ou(OU_P, link(A, 1), link(B), link(C))
    lab.computer("s1", OU_P)
    f = run(lab, catalog)["s1"]
    assert f.status is Status.PASS and gpo_of(f) == (C, OU_P, False)


def test_security_filtering_and_wmi_filter(catalog: object) -> None:
    lab = Lab()
    servers = lab.group(f"CN=SigningServers,{DOMAIN}", 3000)
    only_servers = sd(ace(5, 0x100, servers, APPLY_GROUP_POLICY), ace(0, 0x20094, AU))
    lab.gpo(A, "filtered-on", 1, sd_=only_servers)
    lab.gpo(B, "base-off", 0)
    lab.ou(OU_P, link(B), link(A))
    lab.computer("member", OU_P, groups=[f"CN=SigningServers,{DOMAIN}".lower()])
    lab.computer("other", OU_P)
    got = run(lab, catalog)
    assert gpo_of(got["member"]) == (A, OU_P, False) and got["member"].status is Status.PASS
    assert gpo_of(got["other"]) == (B, OU_P, False) and got["other"].status is Status.FAIL
    lab2 = Lab()
    lab2.gpo(A, "wmi-on", 1, wmi="[lab.test;{ABC};0]")
    lab2.gpo(B, "base-off", 0)
    lab2.ou(OU_P, link(B), link(A))
    lab2.computer("s1", OU_P)
    f = run(lab2, catalog)["s1"]
    assert f.status is Status.UNKNOWN and "WMI filter" in f.reason and gpo_of(f) == (A, OU_P, False)


def test_bad_input_gpo_folder_missing_and_unreadable_template(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "gone", 1)
    lab.gpo(B, "denied", 1)
    lab.fs.files = {k: v for k, v in lab.fs.files.items() if A.lower() not in k}
    lab.fs.denied.add(next(k for k in lab.fs.files if B.lower() in k and k.endswith(".inf")))
    lab.ou(OU_P, link(A), link(B))
    lab.computer("s1", OU_P)
    _, results = audit_domain(lab.d, lab.fs, catalog)  # type: ignore[arg-type]
    (r,) = list(results)
    errs = [f for f in r.findings if f.status is Status.ERROR]
    assert any("'gone'" in f.reason and "folder is missing" in f.reason for f in errs)
    assert any("'denied'" in f.reason and "access denied" in f.reason for f in errs)
    main = next(f for f in r.findings if f.control == CONTROL)
    assert main.status is not Status.PASS  # an unreadable GPO may hold the value


def test_dc_role_and_computers_stream(catalog: object) -> None:
    lab = Lab()
    lab.computer("dc1", f"OU=Domain Controllers,{DOMAIN}", uac=0x82000, pg=516)
    got = run(lab, catalog)
    assert got["dc1"].roles == ("domain_controller",)


def test_computers_of_one_shape_get_the_same_verdicts_under_their_own_names(
    catalog: object,
) -> None:
    lab = Lab()
    lab.gpo(A, "on", 1)
    lab.ou(OU_P, link(A))
    for n in ("s1", "s2", "s3"):
        lab.computer(n, OU_P)
    lab.computer("w1", OU_P, os="Windows 11 Enterprise")
    _, results = audit_domain(lab.d, lab.fs, catalog)  # type: ignore[arg-type]
    by_host = {r.computer.dns_name: r.findings for r in results}
    assert all(f.host == h for h, fs in by_host.items() for f in fs)
    strip = [
        [(f.control, f.status, f.reason, f.source) for f in by_host[f"{n}.lab.test"]]
        for n in ("s1", "s2", "s3")
    ]
    assert strip[0] == strip[1] == strip[2]
    w1 = {f.control: f for f in by_host["w1.lab.test"]}
    assert w1[CONTROL].roles == ("workstation",)


def test_unreadable_gpo_object_and_several_linked_sites_make_verdicts_unknown(
    catalog: object,
) -> None:
    from ad_fakes import CONFIG

    lab = Lab()
    lab.ou(OU_P, link(A))  # A's object is not readable: no groupPolicyContainer for it
    lab.computer("s1", OU_P)
    lab.gpo(B, "site-on", 1)
    lab.d.add(f"CN=Branch,CN=Sites,{CONFIG}", "site", gPLink=link(B))
    _, results = audit_domain(lab.d, lab.fs, catalog)  # type: ignore[arg-type]
    (r,) = list(results)
    errs = [f.reason for f in r.findings if f.status is Status.ERROR]
    assert any(A in e and "could not be read" in e for e in errs)
    assert any("site GPOs were not considered" in e for e in errs)
    main = next(f for f in r.findings if f.control == CONTROL)
    assert main.status is Status.UNKNOWN and main.source is not None and main.source.gpo is None


def test_jsonl_output_streams_to_a_file_atomically(catalog: object, tmp_path: object) -> None:
    import json
    from pathlib import Path

    from smbsign.cli.ad_cmd import _run

    lab = Lab()
    lab.gpo(A, "on", 1)
    lab.ou(OU_P, link(A))
    lab.computer("s1", OU_P)
    lab.computer("s2", OU_P)
    out = Path(str(tmp_path)) / "ad.jsonl"
    passing = _run(lab.d, lab.fs, catalog, "jsonl", out, spool=None)  # type: ignore[arg-type]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert not passing and len(lines) >= 2
    assert {ln["host"] for ln in lines} == {"s1.lab.test", "s2.lab.test"}
    assert not list(out.parent.glob(".*partial"))


def test_gpos_that_set_the_value_but_do_not_apply_are_explained(catalog: object) -> None:
    lab = Lab()
    lab.gpo(A, "dom-on", 1)
    lab.gpo(B, "link-disabled-on", 1)
    lab.gpo(C, "computer-off-on", 1, flags=2)
    lab.ou(DOMAIN, link(A))
    lab.ou(OU_P, link(B, 1), link(C), block=True)
    lab.computer("s1", OU_P)
    f = run(lab, catalog)["s1"]
    assert f.status is Status.FAIL and gpo_of(f) is None  # the default decides
    text = " | ".join(f.notes)
    assert "'dom-on'" in text and "blocks inheritance" in text
    assert "'link-disabled-on'" in text and "link is disabled" in text
    assert "'computer-off-on'" in text and "computer settings are disabled" in text


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_every_findings_format_renders_the_domain_view(
    catalog: object, tmp_path: object, fmt: str
) -> None:
    from pathlib import Path

    from smbsign.cli.ad_cmd import _run
    from smbsign.runspool import FindingSpool

    lab = Lab()
    lab.gpo(A, "on", 1)
    lab.ou(OU_P, link(A))
    lab.computer("s1", OU_P)
    out = Path(str(tmp_path)) / f"ad.{fmt}"
    spool = FindingSpool()
    _run(lab.d, lab.fs, catalog, fmt, out, spool=spool)  # type: ignore[arg-type]
    text = out.read_text()
    assert "s1.lab.test" in text and spool.count > 0
    assert {r.host for r in spool.rows()} == {"s1.lab.test"}
    spool.close()


def test_a_version_mismatch_of_the_deciding_gpo_is_a_note_on_its_findings(
    catalog: object,
) -> None:
    lab = Lab()
    lab.gpo(A, "on", 1)
    lab.ou(OU_P, link(A))
    lab.computer("s1", OU_P)
    key = next(k for k in lab.fs.files if k.endswith("gpt.ini"))
    lab.fs.files[key] = b"[General]\r\nVersion=7\r\n"
    f = run(lab, catalog)["s1"]
    assert f.status is Status.PASS and any("version in the directory 1" in n for n in f.notes)

"""The lab's ground truth: derived from smb.conf, checked against reference.md §4.3/§4.6 and
testparm.

The tables below are transcribed from docs/reference.md §4.6 (Samba 4.17.12 wire bits observed per
configuration) so a wrong derivation rule fails here before any lab runs. The testparm test
runs Debian's real ``testparm`` on every catalog host's generated smb.conf.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from smbsign.errors import LabError
from smbsign.lab.check import compare, expected_fields, expected_reason
from smbsign.lab.hosts import (
    CATALOG,
    HostKind,
    LabHost,
    Protocol,
    Signing,
    catalog_host,
    derive_truth,
    parse_config,
    parse_protocol,
    parse_signing,
)
from smbsign.lab.samba import prepare_workdir, render_conf
from smbsign.model import ScanStatus, Smb1Signing


def _host(**conf: str) -> LabHost:
    return LabHost(
        "x", HostKind.SAMBA, 99, tuple((k.replace("_", " "), v) for k, v in conf.items())
    )


# docs/reference.md §4.6: (configuration, SMB2 SecurityMode or None for "connection closed",
#                 SMB1 `NT LM 0.12` only: None for DialectIndex 0xFFFF, else SecurityMode)
DOMAIN_4_6 = [
    ({}, 0x01, None),
    ({"server_signing": "disabled"}, 0x01, None),
    ({"server_signing": "auto"}, 0x01, None),
    ({"server_signing": "desired"}, 0x01, None),
    ({"server_signing": "mandatory"}, 0x03, None),
    ({"server_min_protocol": "NT1"}, 0x01, 0x03),
    ({"server_min_protocol": "NT1", "server_signing": "disabled"}, 0x01, 0x03),
    ({"server_min_protocol": "NT1", "server_signing": "auto"}, 0x01, 0x07),
    ({"server_min_protocol": "NT1", "server_signing": "desired"}, 0x01, 0x07),
    ({"server_min_protocol": "NT1", "server_signing": "mandatory"}, 0x03, 0x0F),
    ({"server_min_protocol": "NT1", "server_max_protocol": "NT1"}, None, 0x03),
    (
        {"server_min_protocol": "NT1", "server_max_protocol": "NT1", "server_signing": "auto"},
        None,
        0x07,
    ),
]


@pytest.mark.parametrize(("conf", "smb2_mode", "smb1_mode"), DOMAIN_4_6)
def test_derived_bits_match_domain_4_6(
    conf: dict[str, str], smb2_mode: int | None, smb1_mode: int | None
) -> None:
    truth = derive_truth(_host(**conf))
    assert truth.status is ScanStatus.OK
    assert truth.smb2_security_mode == smb2_mode
    assert truth.smb1_security_mode == smb1_mode
    assert truth.smb1_offered is (smb1_mode is not None)
    required = bool((smb2_mode or 0) & 0x02 or (smb1_mode or 0) & 0x08)
    assert truth.signing_required is required
    assert truth.relayable is (not required)


@pytest.mark.parametrize(
    ("word", "parsed"),
    [
        ("default", Signing.DEFAULT),
        *[(w, Signing.OFF) for w in ("No", "False", "0", "Off", "disabled")],
        *[
            (w, Signing.IF_REQUIRED)
            for w in ("if_required", "Yes", "True", "1", "On", "enabled", "auto", "AUTO")
        ],
        ("desired", Signing.DESIRED),
        *[
            (w, Signing.REQUIRED)
            for w in ("required", "mandatory", "force", "forced", "enforced", " Mandatory ")
        ],
    ],
)
def test_signing_words_domain_4_3(word: str, parsed: Signing) -> None:
    assert parse_signing(word) is parsed


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(LabError, match="server signing"):
        parse_signing("bogus")
    with pytest.raises(LabError, match="protocol"):
        parse_protocol("SMB4", default=Protocol.SMB2_02)
    with pytest.raises(LabError, match="above"):
        parse_config({"server min protocol": "SMB3", "server max protocol": "SMB2"})
    with pytest.raises(LabError, match="smb ports"):
        parse_config({"smb ports": "445 x"})
    with pytest.raises(LabError, match="smb ports"):
        parse_config({"smb ports": "0"})


def test_dc_role_is_refused() -> None:
    """smbd will not run an AD DC standalone (reference.md §4.5), so the lab cannot fake one."""
    with pytest.raises(LabError, match="standalone only"):
        parse_config({"server role": "active directory domain controller"})


def test_protocol_aliases_follow_smb_conf_5() -> None:
    assert parse_protocol("SMB3", default=Protocol.NT1) is Protocol.SMB3_11
    assert parse_protocol("smb2", default=Protocol.NT1) is Protocol.SMB2_10
    assert parse_protocol("default", default=Protocol.SMB2_02) is Protocol.SMB2_02


def test_parameter_names_are_case_and_space_insensitive() -> None:
    cfg = parse_config({"Server   SIGNING": "mandatory", "SERVER MIN PROTOCOL": "NT1"})
    assert cfg.signing is Signing.REQUIRED
    assert cfg.smb1_offered


def test_dialect_is_clamped_to_max_protocol() -> None:
    assert derive_truth(_host(server_max_protocol="SMB2_10")).smb2_dialect == "2.1"
    assert derive_truth(_host(server_max_protocol="SMB3_02")).smb2_dialect == "3.0.2"
    assert derive_truth(_host(server_min_protocol="SMB3_00")).smb2_dialect == "3.1.1"
    assert (
        derive_truth(_host(server_min_protocol="NT1", server_max_protocol="NT1")).smb2_dialect
        is None
    )


def test_dialect_on_port_139_follows_the_netbios_offer() -> None:
    """On 139 smbsign offers 2.0.2-3.0.2, then 3.1.1 only if nothing else fits
    (reference.md §5.1)."""
    assert derive_truth(_host(), (139,)).smb2_dialect == "3.0.2"
    assert derive_truth(_host(server_min_protocol="SMB3_11"), (139,)).smb2_dialect == "3.1.1"
    assert derive_truth(_host(server_max_protocol="SMB2_10"), (139,)).smb2_dialect == "2.1"


def test_port_fallback_and_unreached_hosts() -> None:
    p139 = catalog_host("port139-mandatory")
    assert derive_truth(p139).status is ScanStatus.CLOSED
    assert derive_truth(p139).signing_required is None
    t = derive_truth(p139, (445, 139))
    assert (t.status, t.port, t.signing_required, t.smb2_security_mode) == (
        ScanStatus.OK,
        139,
        True,
        0x03,
    )
    closed = derive_truth(catalog_host("closed"), (445, 139))
    assert (closed.status, closed.reason, closed.relayable) == (ScanStatus.CLOSED, "closed", False)
    filtered = derive_truth(catalog_host("filtered"))
    assert (filtered.status, filtered.signing_required) == (ScanStatus.FILTERED, None)
    assert filtered.expected_label == "filtered"


def test_catalog_covers_issue_2_item_5() -> None:
    """Every server the issue names is in the catalog, with the expected derived verdict."""
    want = {
        "default": (False, None),
        "mandatory": (True, None),
        "smb1-disabled": (False, Smb1Signing.DISABLED),
        "smb1-only": (False, Smb1Signing.DISABLED),
        "smb1-only-mandatory": (True, Smb1Signing.REQUIRED),
        "smb3-only": (False, None),
        "smb311-mandatory": (True, None),
        "smb1-auto": (False, Smb1Signing.ENABLED),
    }
    for name, (required, smb1) in want.items():
        t = derive_truth(catalog_host(name))
        assert (t.signing_required, t.smb1_signing) == (required, smb1), name
    assert derive_truth(catalog_host("port139-mandatory"), (139,)).signing_required is True
    kinds = {h.kind for h in CATALOG}
    assert kinds == {HostKind.SAMBA, HostKind.CLOSED, HostKind.FILTERED}
    assert len({h.octet for h in CATALOG}) == len(CATALOG)
    assert derive_truth(catalog_host("smb3-only")).smb2_dialect == "3.1.1"
    assert parse_config(catalog_host("smb3-only").conf_map).min_protocol is Protocol.SMB3_00
    assert parse_config(catalog_host("smb311-mandatory").conf_map).min_protocol is Protocol.SMB3_11


ISSUE_FIELDS = {  # issue #2 item 6: what each lab record is held to
    "status",
    "port",
    "signing_required",
    "reason",
    "smb1.offered",
    "smb1.signing",
}


@pytest.mark.parametrize("host", [h.name for h in CATALOG])
def test_lab_comparison_covers_every_issue_field(host: str) -> None:
    """compare() fixes every field the issue names (SMB2 dialect/mode/required or smb2 null;
    the reason in full, or its token for unreached hosts), and any change is a mismatch."""
    truth = derive_truth(catalog_host(host), (445, 139))
    want = expected_fields(truth)
    if truth.status is ScanStatus.OK:
        assert set(want) >= ISSUE_FIELDS
        assert {"smb2.dialect", "smb2.security_mode", "smb2.signing_required"} <= set(want) or (
            want["smb2"] is None
        )
    else:
        assert set(want) >= {"status", "port", "signing_required", "reason_token"}
    record: dict[str, Any] = {"smb1": {}, "smb2": {}}
    for path, value in want.items():
        if path == "reason_token":
            record["reason"] = f"{value}: detail"
            continue
        *parents, leaf = path.split(".")
        node = record
        for part in parents:
            node = node[part]
        node[leaf] = value
    assert compare(record, truth) == []
    for path in want:
        broken = json.loads(json.dumps(record))
        if path == "reason_token":
            broken["reason"] = "error: detail"
        elif "." in path:
            parent, leaf = path.split(".")
            broken[parent][leaf] = "changed"
        else:
            broken[path] = "changed"
        assert compare(broken, truth) != [], path


def test_expected_reason_wording() -> None:
    """The SMB2 part then the SMB1 part, as docs/protocol.md "Verdict mapping" words them."""
    reasons = {h.name: expected_reason(derive_truth(h, (445, 139))) for h in CATALOG[:9]}
    assert reasons == {
        "default": "SMB2 3.1.1 signing not required; SMB1 not offered",
        "mandatory": "SMB2 3.1.1 signing required; SMB1 not offered",
        "smb1-disabled": "SMB2 3.1.1 signing not required; SMB1 offered with signing disabled",
        "smb1-only": "no SMB2 (SMB1 only); SMB1 offered with signing disabled",
        "smb1-only-mandatory": "no SMB2 (SMB1 only); SMB1 offered with signing required",
        "smb3-only": "SMB2 3.1.1 signing not required; SMB1 not offered",
        "smb311-mandatory": "SMB2 3.1.1 signing required; SMB1 not offered",
        "port139-mandatory": "SMB2 3.0.2 signing required; SMB1 not offered",
        "smb1-auto": (
            "SMB2 3.1.1 signing not required; SMB1 offered with signing enabled but not required"
        ),
    }


def test_render_conf_rejects_injection(tmp_path: Path) -> None:
    with pytest.raises(LabError):
        render_conf(tmp_path, "x", {"server signing": "auto\n[evil]"})


_TESTPARM_SIGNING = {
    Signing.DEFAULT: "default",
    Signing.OFF: "No",
    Signing.IF_REQUIRED: "if_required",
    Signing.DESIRED: "desired",
    Signing.REQUIRED: "required",
}
_TESTPARM_PROTOCOL = {p: p.name for p in Protocol} | {
    Protocol.SMB3_11: "SMB3",
    Protocol.SMB2_10: "SMB2",
}


def _testparm(conf: Path, name: str) -> str:
    proc = subprocess.run(
        ["testparm", "-s", f"--parameter-name={name}", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()  # stdout only (docs/reference.md §4.4)


@pytest.mark.skipif(
    shutil.which("testparm") is None, reason="testparm (Debian samba) not installed"
)
@pytest.mark.parametrize(
    "host", [h for h in CATALOG if h.kind is HostKind.SAMBA], ids=lambda h: h.name
)
def test_testparm_agrees_with_parse_config(host: LabHost, tmp_path: Path) -> None:
    """Real testparm reads each generated smb.conf the way derive_truth assumes."""
    prepare_workdir(tmp_path)
    conf = tmp_path / "smb.conf"
    conf.write_text(render_conf(tmp_path, host.name, dict(host.conf)))
    cfg = parse_config(host.conf_map)
    assert _testparm(conf, "server signing") == _TESTPARM_SIGNING[cfg.signing]
    assert _testparm(conf, "server min protocol") == _TESTPARM_PROTOCOL[cfg.min_protocol]
    assert _testparm(conf, "server max protocol") == _TESTPARM_PROTOCOL[cfg.max_protocol]
    assert _testparm(conf, "smb ports").split() == [str(p) for p in cfg.ports]
    assert _testparm(conf, "server role") == "standalone server"

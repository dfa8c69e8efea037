"""`smbsign audit` of real Samba 4.17 servers: the config's verdict checked against the wire.

Each server runs in its own network namespace (smbsign.lab); the real CLI runs as a separate
process, either in the lab's client namespace (evidence = the server's smb.conf, plus
``--probe`` of its address) or inside the server's namespace with ``--local`` (smb.conf +
the real testparm + a probe of 127.0.0.1/::1). The wire answer is cross-checked with the
independent raw probe (tests/lab/rawprobe.py, shares no code with smbsign), and the config on
disk is made to disagree with the running smbd by editing it without a reload (reference.md §4.5).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from lab_helpers import rawprobe, require_lab

from smbsign.lab.hosts import HostKind, LabHost
from smbsign.lab.lab import Lab, smbsign_argv

pytestmark = pytest.mark.lab

CONTROL = "smb-server-signing-required"
HOSTS = (
    LabHost("audit-mandatory", HostKind.SAMBA, 40, (("server signing", "mandatory"),)),
    LabHost("audit-auto", HostKind.SAMBA, 41, (("server signing", "auto"),)),
    LabHost("audit-default", HostKind.SAMBA, 42, ()),
    LabHost("audit-stale", HostKind.SAMBA, 43, ()),
)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require_lab()
    with Lab(HOSTS) as built:
        yield built


def _audit(lab: Lab, ns: str, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = lab.run_in(ns, [*smbsign_argv(), "audit", *args, "--format", "json"], timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    findings = {f["control"]: f for f in json.loads(proc.stdout)["findings"]}
    return proc.returncode, findings, proc.stderr


def _from_client(lab: Lab, name: str) -> tuple[int, dict[str, Any]]:
    code, findings, _ = _audit(
        lab,
        lab.client_ns,
        str(lab.conf_path(name)),
        "--host",
        lab.address(name),
        "--probe",
        "--controls",
        CONTROL,
    )
    return code, findings[CONTROL]


def _wire_requires(lab: Lab, name: str) -> bool:
    """The independent probe's reading of the SMB2 REQUIRED bit (docs/reference.md §5.5)."""
    [raw] = rawprobe(lab, [(lab.address(name), 445)])
    return bool(raw["smb2"]["security_mode"] & 0x02)


@pytest.mark.parametrize(
    ("name", "config_value", "status"),
    [
        ("audit-mandatory", "required", "pass"),
        ("audit-auto", "if_required", "fail"),
        ("audit-default", "absent", "fail"),  # standalone: default means off (reference.md §3.3)
    ],
)
def test_config_and_wire_agree(lab: Lab, name: str, config_value: str, status: str) -> None:
    code, f = _from_client(lab, name)
    assert f["status"] == status
    assert (status == "pass") is _wire_requires(lab, name)
    assert f["source"]["kind"] == "wire" and f["source"]["layer"] == "wire"
    assert f["source"]["path"] == f"{lab.address(name)}:445"
    assert f["observed"] == ("required" if status == "pass" else "not required")
    assert any(n.startswith("the configuration agrees") for n in f["notes"]), f["notes"]
    assert any(("line" in n) or ("default(" in n) for n in f["notes"])
    assert code == (0 if status == "pass" else 1)


def test_without_probe_the_config_decides(lab: Lab) -> None:
    code, findings, _ = _audit(
        lab, lab.client_ns, str(lab.conf_path("audit-mandatory")), "--controls", CONTROL
    )
    f = findings[CONTROL]
    assert f["status"] == "pass" and f["source"]["kind"] == "smbconf"
    assert f["observed"] == "required" and code == 0


def test_local_audit_inside_the_server_namespace(lab: Lab) -> None:
    """--local: smb.conf + real testparm (effective) + probe of the local smbd on loopback."""
    for name, status in (("audit-mandatory", "pass"), ("audit-auto", "fail")):
        code, findings, _ = _audit(
            lab,
            lab.namespace(name),
            "--local",
            "--samba-conf",
            str(lab.conf_path(name)),
            "--host",
            name,
            "--controls",
            f"{CONTROL},smb-server-signing-enabled,smb1-server-disabled",
        )
        f = findings[CONTROL]
        assert f["host"] == name and f["status"] == status
        assert f["source"]["kind"] == "wire"
        assert f["source"]["path"] in ("127.0.0.1:445", "[::1]:445")
        # testparm is the effective view; it agrees with the wire here.
        assert any("testparm" in n for n in f["notes"]), f["notes"]
        smb1 = findings["smb1-server-disabled"]
        assert smb1["status"] == "pass" and smb1["observed"] == "SMB1 not offered"
        # The SMB1-only setting: SMB1 is off on the wire, so it changes nothing.
        assert findings["smb-server-signing-enabled"]["status"] == "not_applicable"
        assert code == (0 if status == "pass" else 1)


def test_config_on_disk_not_reloaded_is_explained_then_reload_fixes_it(lab: Lab) -> None:
    name = "audit-stale"
    conf = lab.conf_path(name)
    text = conf.read_text()
    assert "server signing" not in text
    conf.write_text(text.replace("[global]\n", "[global]\n    server signing = mandatory\n", 1))

    code, f = _from_client(lab, name)  # smbd still runs the old config
    assert not _wire_requires(lab, name)
    assert f["status"] == "fail" and f["source"]["layer"] == "wire"
    assert code == 1
    [why] = [n for n in f["notes"] if n.startswith("the configuration says required")]
    assert "smb.conf line 3" in why and "not required on the wire" in why
    assert "reload-config" in why

    lab.reload(name)  # SIGHUP: the parent re-reads smb.conf; new connections see it
    code, f = _from_client(lab, name)
    assert _wire_requires(lab, name)
    assert f["status"] == "pass" and code == 0
    assert any(n.startswith("the configuration agrees") for n in f["notes"])


def test_nothing_listening_leaves_the_config_to_decide(lab: Lab) -> None:
    """A probe of an address where no smbd answers proves nothing: a note, not a verdict."""
    code, findings, _ = _audit(
        lab,
        lab.client_ns,
        str(lab.conf_path("audit-mandatory")),
        "--host",
        "audit-mandatory",
        "--probe",
        "--address",
        "10.213.0.250",  # in the lab subnet, no host there
        "--controls",
        CONTROL,
    )
    f = findings[CONTROL]
    assert f["status"] == "pass" and f["source"]["kind"] == "smbconf"
    assert any(n.startswith("wire probe of 10.213.0.250:445") for n in f["notes"]), f["notes"]
    assert code == 0


def test_local_audit_where_no_smbd_runs(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    """--local on a machine with Samba configured but no smbd running (the lab's client
    namespace): testparm decides, the loopback probe is a note (closed), no traceback."""
    conf = tmp_path_factory.mktemp("nosmbd") / "smb.conf"
    conf.write_text("[global]\n\tworkgroup = LAB\n\tserver signing = mandatory\n")
    code, findings, _ = _audit(
        lab, lab.client_ns, "--local", "--samba-conf", str(conf), "--host", "nosmbd"
    )
    f = findings[CONTROL]
    assert f["status"] == "pass" and f["source"]["kind"] == "testparm"
    assert f["source"]["layer"] == "effective" and f["observed"] == "required"
    probes = [n for n in f["notes"] if n.startswith("wire probe of")]
    assert "wire probe of 127.0.0.1:445: closed: connection refused" in probes, f["notes"]
    assert all(n.count("closed") == 1 for n in probes)
    smb1 = findings["smb1-server-disabled"]  # SMB2_02 floor by default; nothing on the wire
    assert smb1["status"] == "pass" and smb1["source"]["kind"] == "testparm"
    assert code == 1  # client signing = default is not required: a failing control

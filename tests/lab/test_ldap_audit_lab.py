"""The LDAP signing control audited against a real Samba 4.17 AD DC (issue #12 item 3).

One DC per ``ldap server require strong auth`` value. ``smbsign scan --protocols
smb,ldap,ldaps`` runs in the lab's client namespace (packets stay in the lab); ``smbsign audit``
then reads that DC's own smb.conf with the scan's records as ``--wire`` evidence. The
configuration and the wire must agree, and the finding must be decided by the wire with the
verdict the setting means (docs/reference.md §11.4): ``yes`` and ``allow_sasl_over_tls`` pass,
``no`` fails. The channel-binding control is Windows-only: ``not_applicable`` on Samba.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import require_addc, require_lab

from smbsign.lab.addc import AdLab
from smbsign.lab.adprovision import DcSpec

pytestmark = pytest.mark.timeout(600)
SMBSIGN = [sys.executable, "-c", "from smbsign.cli import main; main()"]


@pytest.fixture(scope="module", params=["yes", "no", "allow_sasl_over_tls"])
def dc(request: pytest.FixtureRequest) -> Iterator[tuple[str, AdLab]]:
    require_lab()
    require_addc()
    with AdLab(DcSpec(strong_auth=request.param)) as ad:
        yield request.param, ad


def _scan(ad: AdLab, out: Path) -> Path:
    records = out / "scan.json"
    argv = [*SMBSIGN, "scan", ad.address, "--protocols", "smb,ldap,ldaps"]
    argv += ["--user", f"{ad.spec.domain}\\Administrator"]
    argv += ["--password-file", str(ad.password_file), "--format", "json", "-o", str(records)]
    argv += ["--no-store", "-q"]
    proc = ad.run_client(argv, timeout=180)
    assert records.is_file(), proc.stderr[-2000:]
    return records


def test_audit_with_the_scan_as_wire_evidence(
    dc: tuple[str, AdLab], tmp_path_factory: pytest.TempPathFactory
) -> None:
    setting, ad = dc
    out = tmp_path_factory.mktemp("ldapaudit")
    out.chmod(0o755)
    records = _scan(ad, out)
    conf = out / "smb.conf"
    conf.write_text(ad.dc.conf_path.read_text())
    assert f"ldap server require strong auth = {setting}" in conf.read_text()
    argv = [*SMBSIGN, "audit", str(conf), "--host", "dc1", "--wire", str(records)]
    argv += ["--format", "json", "--no-store"]
    proc = ad.run_client(argv, timeout=180)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    found: dict[str, Any] = {
        f["control"]: f for f in json.loads(proc.stdout)["findings"] if f["host"] == "dc1"
    }
    sign = found["ldap-server-signing-required"]
    want = "fail" if setting == "no" else "pass"
    assert sign["status"] == want, sign
    assert sign["source"]["layer"] == "wire" and sign["source"]["path"] == f"{ad.address}:389"
    assert not any("not been applied" in n for n in sign["notes"]), sign["notes"]  # they agree
    assert found["ldap-server-channel-binding"]["status"] == "not_applicable"
    assert found["smb-server-signing-required"]["status"] == "pass"
    secret = ad.password_file.read_text().strip()
    assert secret and secret not in proc.stdout + proc.stderr + records.read_text()

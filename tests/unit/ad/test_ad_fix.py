"""``fix --from`` domain findings: per OU, the GPO to change or link (issue #9 item 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ad_fakes import DOMAIN, Lab, link

from smbsign.ad.view import audit_domain
from smbsign.catalog import load_catalog
from smbsign.remediate.gpo_plan import gpo_actions
from smbsign.serialize import finding_to_dict

CLI = [sys.executable, "-c", "from smbsign.cli import main; main()"]
CONTROL = "smb-server-signing-required"
OFF, ON, ENF = (f"{n}0000000-0000-0000-0000-00000000000{n}" for n in "123")
OU_A, OU_B, OU_C = (f"OU={n},{DOMAIN}" for n in ("Alpha", "Bravo", "Charlie"))
OU_B1 = f"OU=Sub,{OU_B}"


def domain_findings() -> list[dict[str, object]]:
    """Alpha: 'Alpha Off' decides (change it); Bravo/Sub: the enforced 'Bravo Enforced Off'
    on the parent beats the child's 'Sub On' (change the enforced one, not the child's);
    Charlie: no GPO sets it (link one); Bravo/Sub also has a passing computer's OU."""
    lab = Lab()
    lab.gpo(OFF, "Alpha Off", 0)
    lab.gpo(ON, "Sub On", 1)
    lab.gpo(ENF, "Bravo Enforced Off", 0)
    lab.ou(OU_A, link(OFF))
    lab.ou(OU_B, link(ENF, 2))
    lab.ou(OU_B1, link(ON))
    lab.ou(OU_C)
    lab.computer("a1", OU_A)
    lab.computer("a2", OU_A)
    lab.computer("b1", OU_B1)
    lab.computer("c1", OU_C)
    _, results = audit_domain(lab.d, lab.fs, load_catalog())  # type: ignore[arg-type]
    return [finding_to_dict(f) for r in results for f in r.findings]


def test_gpo_actions_name_the_winning_gpo_per_ou() -> None:
    settings = {CONTROL: "RequireSecuritySignature = 1"}
    acts = {(a.container, a.action): a for a in gpo_actions(domain_findings(), settings)}
    alpha = acts[(OU_A, "change")]
    assert alpha.gpo is not None and alpha.gpo.name == "Alpha Off" and alpha.gpo.link == OU_A
    assert alpha.hosts == ("a1.lab.test", "a2.lab.test")
    sub = acts[(OU_B1, "change")]
    assert sub.gpo is not None and sub.gpo.name == "Bravo Enforced Off" and sub.gpo.enforced
    assert sub.gpo.link == OU_B and "enforced link" in sub.text
    charlie = acts[(OU_C, "link")]
    assert charlie.gpo is None and f"to {OU_C}" in charlie.text
    assert len(acts) == 3


def test_fix_from_domain_findings_plan_json_and_gpo_readme(tmp_path: Path) -> None:
    src = tmp_path / "domain.json"
    src.write_text(json.dumps({"schema_version": "1.1", "findings": domain_findings()}))
    out = tmp_path / "fix"
    proc = subprocess.run(
        [*CLI, "fix", "--from", str(src), "--format", "gpo", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "gpo      change: change GPO 'Alpha Off'" in proc.stdout
    plan = json.loads((out / "plan.json").read_text())
    by = {(a["container"], a["action"]): a for a in plan["gpo_actions"]}
    assert by[(OU_A, "change")]["gpo"]["name"] == "Alpha Off"
    sub = by[(OU_B1, "change")]["gpo"]
    assert ENF.upper() in sub["guid"].upper()
    assert (sub["name"], sub["link"], sub["enforced"]) == ("Bravo Enforced Off", OU_B, True)
    assert by[(OU_C, "link")]["gpo"] is None
    readme = next(out.rglob("README.txt")).read_text(encoding="utf-8")
    assert "Where it belongs, per OU" in readme and "'Alpha Off'" in readme


def test_fix_from_plain_audit_findings_has_no_gpo_actions() -> None:
    plain = [{"host": "h", "control": CONTROL, "status": "fail", "source": None}]
    assert gpo_actions(plain, {CONTROL: "x"}) == ()

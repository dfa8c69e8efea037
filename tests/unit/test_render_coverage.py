"""Every format is generated for every control of the catalog that has a desired state.

The catalog is enumerated, not listed: a control added later without output in some format
fails here. Each control is rendered alone, for every target kind it applies to, and its
output is read back by the project's own collectors (``.reg``, GptTmpl.inf, Registry.pol,
real ``testparm`` for smb.conf) and evaluated by the engine, which must say ``pass``; the
script and playbook formats are parsed (YAML, PowerShell rows) and compared with the
catalog's desired state. Enforcing controls must have a desired state for every platform
they apply to.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from smbsign.catalog import load_catalog
from smbsign.catalog.schema import Control
from smbsign.cli.fix_cmd import _context
from smbsign.collect import gpttmpl, regfile, registrypol
from smbsign.collect.base import CollectResult
from smbsign.collect.testparm import effective_samba
from smbsign.engine.evaluate import evaluate
from smbsign.model import HostFacts, OsFamily, Role, Status
from smbsign.regpath import setting_id
from smbsign.remediate.plan import Plan, TargetKind, build_plan
from smbsign.remediate.render import FORMATS, formats_for
from smbsign.remediate.render._common import at_least, ps_quote, typed_data
from smbsign.remediate.render.ansible import role_name
from smbsign.remediate.render.powershell import ps_literal

CATALOG = load_catalog()
CONTROLS = list(CATALOG.controls.values())
ROLE_OF = {
    TargetKind.WINDOWS_CLIENT: Role.WORKSTATION,
    TargetKind.WINDOWS_SERVER: Role.MEMBER_SERVER,
    TargetKind.DOMAIN_CONTROLLER: Role.DOMAIN_CONTROLLER,
    TargetKind.SAMBA: Role.STANDALONE,
}
# Windows controls that no Policy CSP node covers (the Intune README lists them as such).
NO_INTUNE_CSP = {
    "smb-server-spn-hardening": "no LocalPoliciesSecurityOptions node (reference.md §6.5)",
    "ldap-server-signing-required": "no Domain controller node in any CSP (reference.md §11.5)",
    "ldap-server-channel-binding": "no Domain controller node in any CSP (reference.md §11.5)",
}


def cases() -> list[tuple[str, str]]:
    """(control id, target) for every target kind each control with a desired state fits."""
    out = []
    for control in CONTROLS:
        for target in TargetKind:
            plan = build_plan(CONTROLS, target, control_ids=[control.id])
            if plan.changes:
                out.append((control.id, target.value))
    return out


CASES = cases()


def single(control_id: str, target: str) -> tuple[Control, Plan]:
    plan = build_plan(CONTROLS, TargetKind(target), control_ids=[control_id])
    (change,) = plan.changes
    return change.control, plan


def render(fmt: str, plan: Plan) -> dict[str, bytes]:
    return FORMATS[fmt].render(plan, _context(CATALOG, ""))


def passes(control: Control, target: TargetKind, result: CollectResult) -> bool:
    """The engine's verdict on the read-back output: ``pass`` (or, for an SMB1-only setting
    with SMB1 off by default, ``not_applicable`` with that reason, docs/reference.md §2.1)."""
    assert not result.errors, result.errors
    family = OsFamily.SAMBA if target is TargetKind.SAMBA else OsFamily.WINDOWS
    role = ROLE_OF[target]
    if control.applies_to.roles == ("domain_controller",):  # LDAP: a Samba AD DC too
        role = Role.DOMAIN_CONTROLLER
    facts = HostFacts("h", os_family=family, build=26100, role=role)
    found = {f.control: f for f in evaluate(result.values, [], facts, CATALOG)}[control.id]
    if found.status is Status.NOT_APPLICABLE and control.check.smb1_only:
        return "SMB1" in found.reason
    return found.status is Status.PASS


def test_the_enumeration_covers_every_control_with_a_desired_state() -> None:
    covered = {cid for cid, _ in CASES}
    for control in CONTROLS:
        desired = control.desired
        if desired.registry or desired.samba:
            assert control.id in covered, f"{control.id} has a desired state but no target"
        if control.enforces_signing:
            for family in control.applies_to.os_families:
                state = desired.samba if family == "samba" else desired.registry
                assert state, f"enforcing control {control.id} has no {family} desired state"
    assert len(CASES) >= len(covered) >= 10


@pytest.mark.parametrize(("control_id", "target"), CASES)
def test_every_format_of_the_platform_carries_the_control(control_id: str, target: str) -> None:
    control, plan = single(control_id, target)
    kind = TargetKind(target)
    names = formats_for(kind.is_windows)
    assert names == (
        ["powershell", "ansible", "gpo", "reg", "intune", "dsc"] if kind.is_windows else ["smbconf"]
    )
    for fmt in names:
        out = render(fmt, plan)
        assert out, f"{fmt} wrote nothing for {control_id}"
        CHECKS[fmt](control, kind, out)


def check_reg(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    result = regfile.collect(out["smbsign-fix.reg"], "smbsign-fix.reg", "h")
    assert {v.setting for v in result.values} == {
        setting_id(r.key, r.value) for r in control.desired.registry
    }
    assert passes(control, kind, result)


def check_gpo(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    values: list = []
    readers = {"GptTmpl.inf": gpttmpl.collect, "Registry.pol": registrypol.collect}
    for gpo_file, collect in readers.items():
        want = {
            setting_id(r.key, r.value) for r in control.desired.registry if r.gpo_file == gpo_file
        }
        paths = [rel for rel in out if rel.endswith(gpo_file)]
        assert len(paths) == (1 if want else 0), (gpo_file, sorted(out))
        for rel in paths:
            got = collect(out[rel], rel, "h")
            assert not got.errors
            assert {v.setting for v in got.values} == want
            values += got.values
    assert passes(control, kind, CollectResult(values=tuple(values)))


def check_powershell(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    fix = out["smbsign-fix.ps1"].decode("utf-8-sig")
    rows = re.findall(
        r"\[pscustomobject\]@\{ Key = ('(?:[^']|'')*'); Name = ('(?:[^']|'')*'); "
        r"Type = ('[A-Z_]+'); Data = (.+?); AtLeast = (\$true|\$false) \}",
        fix,
    )
    assert rows == [
        (
            ps_quote(short(r.key)),
            ps_quote(r.value),
            ps_quote(r.type),
            ps_literal(typed_data(r)),
            ps_literal(at_least(control, r)),
        )
        for r in control.desired.registry
    ]
    cmdlet = control.desired.cmdlet
    if cmdlet is not None:
        assert f"Cmdlet    = {ps_quote(cmdlet.cmdlet)}" in fix
        assert f"Parameter = {ps_quote(cmdlet.parameter)}" in fix
        assert f"Value     = {ps_literal(cmdlet.value)}" in fix
    else:
        assert "Cmdlet    = $null" in fix
    rollback = out["smbsign-rollback.ps1"].decode("utf-8-sig")
    assert "Restore-State $values $cmdlets" in rollback


def short(key: str) -> str:
    return key if key.upper().startswith("HKLM\\") else "HKLM\\" + key.split("\\", 1)[1]


MODULE_TYPES = {"REG_DWORD": "dword", "REG_MULTI_SZ": "multistring", "REG_SZ": "string"}


def check_ansible(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    role = role_name(control.id)
    tasks = yaml.safe_load(out[f"roles/{role}/tasks/main.yml"])
    defaults = yaml.safe_load(out[f"roles/{role}/defaults/main.yml"])
    writes = [t["ansible.windows.win_regedit"] for t in tasks if t["name"].startswith("Set ")]
    assert len(writes) == len(control.desired.registry)
    for args, reg in zip(writes, control.desired.registry, strict=True):
        assert args["type"] == MODULE_TYPES[reg.type]  # never the module's default `string`
        assert args["name"] == reg.value
        assert args["path"].lower().endswith(reg.key.split("\\", 1)[1].lower())
        var = re.fullmatch(r"\{\{ (\w+) \}\}", args["data"])
        assert var is not None
        data = typed_data(reg)
        assert defaults[var.group(1)] == (list(data) if isinstance(data, tuple) else data)
    playbook = yaml.safe_load(out["playbooks/smbsign_fix.yml"])
    assert playbook[0]["roles"] == [{"role": f"smbsign.remediation.{role}"}]
    readme = out[f"roles/{role}/README.md"].decode()
    for reg in control.desired.registry:
        assert f"- **Value Name**: `{reg.value}`" in readme


def check_intune(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    profile = json.loads(out["smbsign-intune.json"])
    readme = out["README.txt"].decode()
    intune = control.desired.intune
    if intune is None:
        assert control.id in NO_INTUNE_CSP, f"{control.id} has no Intune (Policy CSP) mapping"
        assert profile["omaSettings"] == []
        assert f"  {control.id}" in readme.split("Not covered by a Policy CSP setting")[1]
        return
    assert control.id not in NO_INTUNE_CSP
    (setting,) = profile["omaSettings"]
    assert setting["omaUri"] == intune.oma_uri
    assert setting["value"] == (int(intune.value) if intune.format == "int" else intune.value)


def check_dsc(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    text = out["SmbsignSigning.ps1"].decode("utf-8-sig")
    option = control.desired.security_option
    if option is not None:
        assert f"            {option.dsc_name} = {ps_quote(option.dsc_value)}\r\n" in text
        assert "Import-DscResource -ModuleName 'SecurityPolicyDsc'" in text
        return
    for reg in control.desired.registry:
        data = typed_data(reg)
        items = data if isinstance(data, tuple) else (str(data),)
        assert f"ValueName  = {ps_quote(reg.value)}" in text or (
            f"ValueName = {ps_quote(reg.value)}" in text
        )
        assert "ValueData  = @(" + ", ".join(ps_quote(i) for i in items) + ")" in text or (
            "ValueData = @(" + ", ".join(ps_quote(i) for i in items) + ")" in text
        )


def check_smbconf(control: Control, kind: TargetKind, out: dict[str, bytes]) -> None:
    if shutil.which("testparm") is None:
        pytest.skip("testparm not installed (scripts/bootstrap installs samba)")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "smb.conf"
        conf.write_bytes(out["smbsign-global.conf"])
        result = effective_samba(conf, "h")
    assert passes(control, kind, result)


CHECKS = {
    "reg": check_reg,
    "gpo": check_gpo,
    "powershell": check_powershell,
    "ansible": check_ansible,
    "intune": check_intune,
    "dsc": check_dsc,
    "smbconf": check_smbconf,
}


def test_a_control_without_output_would_fail_the_enumeration() -> None:
    """Negative control: a Windows control whose desired state is dropped is caught."""
    control = CATALOG.controls["smb-server-signing-required"]
    bare = control.model_copy(
        update={"desired": control.desired.model_copy(update={"registry": ()})}
    )
    plan = build_plan([bare], TargetKind.WINDOWS_SERVER, control_ids=[bare.id])
    assert plan.empty  # skipped "has no registry desired state": the coverage test fails
    assert "no registry desired state" in plan.skipped[0].reason

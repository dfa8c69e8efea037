"""What each renderer produces means what the catalog says, read back with real parsers.

The project's own collectors (``.reg``, GptTmpl.inf, Registry.pol), ``json``, YAML and the
real ``testparm`` read the output; no renderer is checked against its own code. PowerShell
and DSC cannot run here (no PowerShell on this machine): their checks are structural.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from smbsign.catalog import load_catalog
from smbsign.catalog.schema import DesiredRegistry
from smbsign.cli.fix_cmd import _context
from smbsign.codecs.registrypol import decode_registry_pol
from smbsign.collect import gpttmpl, regfile
from smbsign.regpath import setting_id
from smbsign.remediate.apply.smbconf_edit import ParamEdit
from smbsign.remediate.plan import Plan, TargetKind, build_plan
from smbsign.remediate.render import FORMATS
from smbsign.remediate.render._common import ps_quote, typed_data
from smbsign.remediate.render.gpo import REGISTRY_CSE, SECURITY_CSE

WINDOWS_IDS = [
    c.id for c in load_catalog().controls.values() if "windows" in c.applies_to.os_families
]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return build_plan(
        list(load_catalog().controls.values()), TargetKind.WINDOWS_SERVER, control_ids=WINDOWS_IDS
    )


def render(fmt: str, plan: Plan) -> dict[str, bytes]:
    return FORMATS[fmt].render(plan, _context(load_catalog(), ""))


def regs(plan: Plan) -> list[DesiredRegistry]:
    return [r for ch in plan.changes for r in ch.registry]


def crlf_only(text: str) -> bool:
    return "\n" not in text.replace("\r\n", "")


def test_reg_file_reads_back_as_the_desired_values(plan: Plan) -> None:
    data = render("reg", plan)["smbsign-fix.reg"]
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n") and crlf_only(text)
    parsed = regfile.collect(data, "smbsign-fix.reg", "h")
    assert not parsed.errors
    got = {v.setting: (v.value, v.value_type) for v in parsed.values}
    want = {setting_id(r.key, r.value): (typed_data(r), r.type) for r in regs(plan)}
    assert got == want


def test_gpo_files_hold_each_value_in_the_right_file_with_the_right_type(plan: Plan) -> None:
    out = render("gpo", plan)
    inf_path = next(p for p in out if p.endswith("GptTmpl.inf"))
    pol_path = next(p for p in out if p.endswith("Registry.pol"))
    guid = inf_path.split("/")[0]
    assert re.fullmatch(r"\{[0-9A-F-]{36}\}", guid)
    assert inf_path == f"{guid}/Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf"
    inf = out[inf_path]
    assert inf[:2] == b"\xff\xfe" and crlf_only(inf[2:].decode("utf-16-le"))
    text = inf[2:].decode("utf-16-le")
    assert text.startswith("[Unicode]\r\nUnicode=yes\r\n")
    assert '[Version]\r\nsignature="$CHICAGO$"\r\nRevision=1\r\n' in text
    assert (
        "MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters\\"
        "RequireSecuritySignature=4,1\r\n" in text
    )
    inf_values = {
        v.setting: (v.value, v.value_type) for v in gpttmpl.collect(inf, inf_path, "h").values
    }
    pol_values = {setting_id(e.key, e.value): e for e in decode_registry_pol(out[pol_path])}
    for r in regs(plan):
        sid = setting_id(r.key, r.value)
        if r.gpo_file == "GptTmpl.inf":
            assert inf_values[sid] == (typed_data(r), r.type)
            assert sid not in pol_values
        else:
            assert sid in pol_values and sid not in inf_values
            assert pol_values[sid].type == {"REG_DWORD": 4, "REG_MULTI_SZ": 7}[r.type]
    assert (
        out[f"{guid}/gpt.ini"]
        == b"[General]\r\nVersion=1\r\ndisplayName=smbsign windows-server\r\n"
    )
    assert out["gPCMachineExtensionNames.txt"] == (REGISTRY_CSE + SECURITY_CSE + "\r\n").encode()
    script = out["Import-SmbsignGpo.ps1"].decode("utf-8-sig")
    assert ps_quote(REGISTRY_CSE + SECURITY_CSE) in script
    assert "already exists; nothing changed" in script  # never overwrites a GPO


def test_gpo_without_registry_pol_lists_only_the_security_extension() -> None:
    plan = build_plan(
        list(load_catalog().controls.values()),
        TargetKind.WINDOWS_SERVER,
        control_ids=["smb-server-signing-required"],
    )
    out = render("gpo", plan)
    assert not any(p.endswith("Registry.pol") for p in out)
    assert out["gPCMachineExtensionNames.txt"] == (SECURITY_CSE + "\r\n").encode()


def test_intune_profile_is_graph_ready_json(plan: Plan) -> None:
    profile = json.loads(render("intune", plan)["smbsign-intune.json"])
    assert profile["@odata.type"] == "#microsoft.graph.windows10CustomConfiguration"
    by_uri = {s["omaUri"]: s for s in profile["omaSettings"]}
    for ch in plan.changes:
        intune = ch.control.desired.intune
        if intune is None:
            continue
        setting = by_uri[intune.oma_uri]
        if intune.format == "int":
            assert setting["@odata.type"] == "#microsoft.graph.omaSettingInteger"
            assert setting["value"] == int(intune.value) and isinstance(setting["value"], int)
        else:
            assert setting["@odata.type"] == "#microsoft.graph.omaSettingString"
            assert setting["value"] == intune.value
        assert set(setting) == {"@odata.type", "displayName", "description", "omaUri", "value"}


def test_dsc_configuration_uses_each_resource_once_per_control(plan: Plan) -> None:
    text = render("dsc", plan)["SmbsignSigning.ps1"].decode("utf-8-sig")
    assert crlf_only(text) and text.count("{") == text.count("}")
    for ch in plan.changes:
        option = ch.control.desired.security_option
        if option is not None:
            assert f"{option.dsc_name} = '{option.dsc_value}'" in text
        else:
            for r in ch.registry:
                assert f"ValueName  = '{r.value}'" in text
    assert "Import-DscResource -ModuleName 'SecurityPolicyDsc'" in text
    assert "Import-DscResource -ModuleName 'GPRegistryPolicyDsc'" in text
    assert "RefreshRegistryPolicy" in text
    assert "-ModuleName 'PSDscResources'" not in text  # every value here has a policy home


def test_powershell_script_carries_every_typed_value_and_the_safety_features(plan: Plan) -> None:
    out = render("powershell", plan)
    fix = out["smbsign-fix.ps1"].decode("utf-8-sig")
    rollback = out["smbsign-rollback.ps1"].decode("utf-8-sig")
    for text in (fix, rollback):
        assert crlf_only(text)
        assert "[CmdletBinding(SupportsShouldProcess = $true)]" in text
        assert text.count("{") == text.count("}") and text.count("(") == text.count(")")
    for r in regs(plan):
        data = typed_data(r)
        literal = (
            "@(" + ", ".join(ps_quote(d) for d in data) + ")"
            if isinstance(data, tuple)
            else str(data)
        )
        assert f"Name = {ps_quote(r.value)}; Type = {ps_quote(r.type)}; Data = {literal};" in fix
    # snapshot before change, verify after, exit codes documented
    assert fix.index("Save-Snapshot $SnapshotDir") < fix.index("Set-CmdletValue $c.Cmdlet")
    assert "[System.IO.FileMode]::CreateNew" in fix
    assert "exit 1" in fix and "exit 2" in fix and "exit 3" in fix
    assert "-PropertyType $script:KindOf[$Type]" in fix  # typed writes only


def test_powershell_quoting_survives_hostile_titles() -> None:
    control = load_catalog().controls["smb-server-signing-required"]
    odd = control.model_copy(update={"title": "It's \u2019quoted\u2019 #> done"})
    plan = build_plan([odd], TargetKind.WINDOWS_SERVER)
    fix = render("powershell", plan)["smbsign-fix.ps1"].decode("utf-8-sig")
    assert "Title     = 'It''s \u2019\u2019quoted\u2019\u2019 #> done'" in fix
    assert "#> done" not in fix.split("#>")[0]  # the help comment block is not closed early


def test_ansible_yaml_is_valid_and_always_typed(plan: Plan) -> None:
    out = render("ansible", plan)
    for rel, data in out.items():
        if rel.endswith(".yml") or rel == ".ansible-lint":
            assert yaml.safe_load(data) is not None, rel
    for ch in plan.changes:
        role = ch.id.replace("-", "_")
        tasks = yaml.safe_load(out[f"roles/{role}/tasks/main.yml"])
        writes = [t["ansible.windows.win_regedit"] for t in tasks if t["name"].startswith("Set ")]
        assert len(writes) == len(ch.registry)
        for task, r in zip(writes, ch.registry, strict=True):
            assert task["type"] == {"REG_DWORD": "dword", "REG_MULTI_SZ": "multistring"}[r.type]
            assert task["name"] == r.value and task["path"].endswith(r.key.split("\\", 1)[1])
        defaults = yaml.safe_load(out[f"roles/{role}/defaults/main.yml"])
        assert all(k.startswith(f"{role}_") for k in defaults)
        own = ("allow_reboot", "rollback_key")
        assert [v for k, v in defaults.items() if not k.endswith(own)] == [
            list(d) if isinstance(d := typed_data(r), tuple) else d for r in ch.registry
        ]
        readme = out[f"roles/{role}/README.md"].decode()
        for heading in (
            "## Role Variables",
            "## Compliance",
            "## Registry Details",
            "## Verification",
            "## Idempotency",
            "## Notes",
        ):
            assert heading in readme
    playbook = yaml.safe_load(out["playbooks/smbsign_fix.yml"])
    assert [r["role"] for r in playbook[0]["roles"]] == [
        f"smbsign.remediation.{ch.id.replace('-', '_')}" for ch in plan.changes
    ]


@pytest.mark.skipif(shutil.which("testparm") is None, reason="testparm not installed")
def test_smbconf_fragment_is_valid_smb_conf(tmp_path: Path) -> None:
    ids = [c.id for c in load_catalog().controls.values() if "samba" in c.applies_to.os_families]
    plan = build_plan(list(load_catalog().controls.values()), TargetKind.SAMBA, control_ids=ids)
    conf = tmp_path / "smb.conf"
    conf.write_bytes(render("smbconf", plan)["smbsign-global.conf"])
    for ch in plan.changes:
        check = ch.control.check.samba
        for s in ch.samba:
            proc = subprocess.run(
                ["testparm", "-s", "--parameter-name", s.parameter, str(conf)],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr
            got = proc.stdout.strip()
            accept = frozenset(check.passing) if check and check.parameter == s.parameter else ()
            assert ParamEdit(s.parameter, s.value, frozenset(accept)).acceptable(got), got


def test_ansible_never_lowers_a_minimum_level() -> None:
    """The SPN level passes at >= 1: the write is skipped when the recorded value is higher.

    The task's ``when`` and the verification's expression are evaluated with Jinja2 (what
    Ansible uses) against ``win_reg_stat`` results of the documented shape.
    """
    import jinja2

    plan = build_plan(
        list(load_catalog().controls.values()),
        TargetKind.WINDOWS_SERVER,
        control_ids=["smb-server-spn-hardening"],
    )
    out = render("ansible", plan)
    tasks = yaml.safe_load(out["roles/smb_server_spn_hardening/tasks/main.yml"])
    (write,) = [t for t in tasks if t["name"].startswith("Set ")]
    (verify,) = [t for t in tasks if t["name"].startswith("Verify ")]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)  # as Ansible: no silent blanks
    var = "smb_server_spn_hardening_smb_server_name_hardening_level"
    writes = env.compile_expression(write["when"])
    checks = [env.compile_expression(c) for c in verify["ansible.builtin.assert"]["that"]]

    def stat(value: int | None) -> dict[str, object]:
        if value is None:
            return {"exists": False}
        return {"exists": True, "type": "REG_DWORD", "value": value}

    for before, should_write in ((None, True), (0, True), (1, False), (2, False)):
        ctx = {"smb_server_spn_hardening_before": stat(before), var: 1}
        assert bool(writes(**ctx)) is should_write, before
    for after, ok in ((1, True), (2, True), (0, False)):
        ctx = {"smb_server_spn_hardening_after": stat(after), var: 1}
        assert all(c(**ctx) for c in checks) is ok, after
    # an exact control has no such condition: it is always written to the desired data
    exact = render(
        "ansible", build_plan(list(load_catalog().controls.values()), TargetKind.WINDOWS_SERVER)
    )
    for rel, data in exact.items():
        if rel.endswith("tasks/main.yml"):
            for task in yaml.safe_load(data):
                assert "when" not in task or not task["name"].startswith("Set ")

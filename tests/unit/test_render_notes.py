"""Impact notes are filtered by target (#11 item 18).

Each catalog consideration names the OS families (``targets``) and roles it concerns; a plan
for a target carries only the notes for that target, so every format rendered for it shows
no note meant for another one (no Exchange DAG, DDCP or Windows 24H2 note in an smb.conf
snippet, no "smbcontrol" in a PowerShell script). Every control is rendered alone in every
format of its platform, for every target kind it applies to.
"""

from __future__ import annotations

import pytest

from smbsign.catalog import load_catalog
from smbsign.catalog.schema import Consideration, Control
from smbsign.cli.fix_cmd import _context
from smbsign.remediate.plan import _TARGET_ROLES, TargetKind, build_plan
from smbsign.remediate.render import FORMATS

CATALOG = load_catalog()
CONTROLS = list(CATALOG.controls.values())
CTX = _context(CATALOG, "")
# Words that only a note for the other platform would bring into an output.
FOREIGN = {
    True: ("smbcontrol", "smb.conf", "Samba:", "smbstatus", "winbindd"),
    False: (
        "Exchange",
        "Default Domain Controllers",
        "DDCP",
        "24H2",
        "Set-SmbServerConfiguration",
        "LanmanServer",
        "GPO",
        "Windows Server 2003",
    ),
}


def _family(target: TargetKind) -> str:
    return "windows" if target.is_windows else "samba"


def _meant_for(k: Consideration, control: Control, target: TargetKind) -> bool:
    families = k.targets or control.applies_to.os_families
    roles = k.roles or control.applies_to.roles
    return _family(target) in families and bool(_TARGET_ROLES[target] & set(roles))


def _texts(files: dict[str, bytes]) -> str:
    out = []
    for data in files.values():
        if data.startswith(b"\xff\xfe"):
            text = data[2:].decode("utf-16-le", "replace")
        else:
            text = data.decode("utf-8-sig", "replace")
        out.append(" ".join(text.replace("''", "'").split()))
    return "\n".join(out)


def _cases() -> list[tuple[str, TargetKind, str]]:
    out = []
    for control in CONTROLS:
        for target in TargetKind:
            if build_plan(CONTROLS, target, control_ids=[control.id]).changes:
                out += [
                    (control.id, target, fmt)
                    for fmt, spec in FORMATS.items()
                    if spec.windows is target.is_windows
                ]
    return out


@pytest.mark.parametrize(("cid", "target", "fmt"), _cases())
def test_every_format_shows_only_the_notes_for_its_target(
    cid: str, target: TargetKind, fmt: str
) -> None:
    control = CATALOG.controls[cid]
    plan = build_plan(CONTROLS, target, control_ids=[cid])
    text = _texts(FORMATS[fmt].render(plan, CTX))
    for k in control.considerations:
        words = " ".join(k.text.split())
        if not _meant_for(k, control, target):
            assert words[:60] not in text, f"{cid} {fmt} {target.value}: note for another target"
    for word in FOREIGN[target.is_windows]:
        assert word not in text, f"{cid} {fmt} {target.value}: {word!r} in the output"


def test_plan_impacts_are_filtered_by_family_and_role() -> None:
    def topics(target: TargetKind) -> str:
        plan = build_plan(CONTROLS, target, control_ids=["smb-server-signing-required"])
        return "\n".join(i.text for i in plan.impacts)

    samba, server, dc = (
        topics(TargetKind.SAMBA),
        topics(TargetKind.WINDOWS_SERVER),
        topics(TargetKind.DOMAIN_CONTROLLER),
    )
    assert "smbcontrol smbd reload-config" in samba and "Exchange" not in samba
    assert "Default Domain Controllers" not in samba and "smbcontrol" not in server
    assert "Default Domain Controllers" in dc and "Default Domain Controllers" not in server
    assert "Exchange" in server and "Clients that cannot sign" in samba


def test_samba_plan_has_no_windows_build_or_restart_note() -> None:
    plan = build_plan(CONTROLS, TargetKind.SAMBA, control_ids=["smb1-server-disabled"])
    assert plan.changes
    assert not [i for i in plan.impacts if "Windows build" in i.text or "reboot" in i.text]


def test_catalog_refuses_a_note_for_a_family_the_control_lacks() -> None:
    from smbsign.catalog.integrity import _control_problems

    control = CATALOG.controls["smb-server-spn-hardening"]  # windows only
    bad = control.model_copy(
        update={"considerations": (Consideration(topic="other", text="x", targets=("samba",)),)}
    )
    problems = _control_problems(bad, CATALOG.defaults)
    assert any("outside applies_to" in p for p in problems), problems

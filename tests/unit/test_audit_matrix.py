"""The outcome matrix: every control x every collector that can hold it x every encoding.

``tests/fixtures/matrix/<control>/<source>.<outcome>.<ext>`` (written by ``make_matrix.py``
there; a case may be a directory holding the evidence file and an ``smb1-on.*`` helper). For
each case ``smbsign audit`` must give the control the outcome in the name, decided by the
file under test, read by the collector the name says. Which cases must exist is derived from
the catalog, so a new control, or a new place a control's setting can live, fails here until
its fixtures are written. The cases themselves are derived from each control's YAML (check,
desired state, allowed values; no per-control Python): the committed files are what
``make_matrix.py`` writes from the catalog, and a control added to a copy of the catalog gets
its cases with no edit of Python. Windows evidence is hand-made (no Windows host runs in these
tests); the hives are written by hivex.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from smbsign.audit import Auditor, PathsSource
from smbsign.catalog import Catalog, load_catalog
from smbsign.catalog.schema import Control
from smbsign.cli import app
from smbsign.serialize import finding_to_dict

MATRIX = Path(__file__).resolve().parents[1] / "fixtures" / "matrix"
sys.path.insert(0, str(MATRIX))
import make_matrix  # noqa: E402

SCHEMA = json.loads(
    (resources.files("smbsign") / "schemas" / "finding.schema.json").read_text(encoding="utf-8")
)
DOC_SCHEMA = {**SCHEMA, "$ref": "#/$defs/document"}
#: ``<source>`` prefix -> collector kind (docs/collectors.md "Sources").
KINDS = {
    "reg": "regfile",
    "GptTmpl": "gpttmpl",
    "secedit": "secedit",
    "registrypol": "registrypol",
    "winreg": "winreg",
    "hive": "hive",
    "pwsh": "pwsh_json",
    "smbconf": "smbconf",
}
HELPER = "smb1-on"


def expected_sources(control: Control) -> set[str]:
    """Every ``<source>`` a control's setting can come from (docs/reference.md §1.1-1.3, §6)."""
    chk, out = control.check, set()
    if chk.registry is not None:
        out |= {"reg-utf16le", "reg-utf8", "reg-utf8bom", "reg-regedit4-ansi"}
        out |= {"registrypol", "winreg-utf8"}
        for key in (chk.registry.key, chk.registry.policy_key):
            if key is not None:
                hive = "software" if key.upper().startswith("HKLM\\SOFTWARE") else "system"
                out.add(f"hive-{hive}")
        if chk.registry.policy_key:  # the Parameters value, e.g. Set-Smb*Configuration's
            out |= {"reg-param-utf8", "winreg-param-utf8"}
        if any(d.gpo_file == "GptTmpl.inf" for d in control.desired.registry):  # Security Option
            out |= {"GptTmpl-utf16le", "GptTmpl-ansi", "secedit-utf16le", "secedit-ansi"}
    if chk.cmdlet is not None:
        out |= {"pwsh-utf8", "pwsh-utf8bom", "pwsh-utf16le"}
    if chk.samba is not None:
        out.add("smbconf-utf8")
    return out


def _cases(control_dir: Path) -> list[Path]:
    return sorted(p for p in control_dir.iterdir() if p.suffix != ".args")


def split_name(case: Path) -> tuple[str, str]:
    """``(source, outcome)`` from a case name."""
    source, _, rest = case.name.partition(".")
    return source, rest.partition(".")[0]


def case_args(case: Path) -> list[str]:
    args = case.with_name(case.name + ".args")
    return shlex.split(args.read_text()) if args.is_file() else []


def run_audit(cases: list[Path], args: list[str]) -> dict[str, list[dict[str, Any]]]:
    """One ``smbsign audit`` over several cases (each file or directory is one host)."""
    res = CliRunner().invoke(
        app, ["audit", *map(str, cases), *args, "--format", "json", "--no-store"]
    )
    assert res.exit_code in (0, 1), (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    jsonschema.validate(doc, DOC_SCHEMA)
    hosts: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        hosts.setdefault(f["host"], []).append(f)
    return hosts


def problems(case: Path, control: str, findings: list[dict[str, Any]]) -> list[str]:
    """What is wrong with the audit of ``case`` (empty when it meets its name)."""
    source, want = split_name(case)
    kind = KINDS.get(source.split("-")[0])
    if kind is None or want not in ("pass", "fail"):
        return [f"{case.name}: name is not <source>.<pass|fail>.<ext>"]
    errors = [f for f in findings if f["status"] == "error"]
    if errors:
        return [f"{case.name}: {e['control']}: {e['reason']}" for e in errors]
    [f] = [f for f in findings if f["control"] == control] or [None]
    if f is None:
        return [f"{case.name}: no finding for {control}"]
    out = []
    why = f"{f['status']} — {f['reason']} {f['notes']}"
    if f["status"] != want:
        out.append(f"{case.name}: {control} is {why}, the name says {want}")
    src = f["source"] or {}
    if src.get("kind") != kind:
        out.append(f"{case.name}: decided by {src.get('kind')}, not by {kind}: {why}")
    elif not Path(src["path"]).name.startswith(source) or HELPER in src["path"]:
        out.append(f"{case.name}: decided by {src['path']}, not by the file under test")
    if f["observed"] in (None, "absent", "deleted"):
        out.append(f"{case.name}: observed {f['observed']!r}: the value was not read")
    return out


@cache
def audited(control: str) -> dict[str, list[dict[str, Any]]]:
    """Findings per case name of one control's matrix (one audit run per control)."""
    cases = _cases(MATRIX / control)
    args = {tuple(case_args(c)) for c in cases}
    assert len(args) == 1, f"{control}: the cases of one control share their .args"
    hosts = run_audit(cases, list(args.pop()))
    return {c.name: hosts.get(c.stem if c.is_file() else c.name, []) for c in cases}


ALL_CASES = [
    (d.name, c.name) for d in sorted(p for p in MATRIX.iterdir() if p.is_dir()) for c in _cases(d)
]


@pytest.mark.parametrize(("control", "name"), ALL_CASES, ids=[f"{c}/{n}" for c, n in ALL_CASES])
def test_matrix_case(control: str, name: str) -> None:
    found = audited(control)[name]
    assert found, f"{name}: no finding names this host"
    assert problems(MATRIX / control / name, control, found) == []


def test_matrix_covers_every_control_source_encoding_and_outcome() -> None:
    catalog = load_catalog()
    assert {p.name for p in MATRIX.iterdir() if p.is_dir()} == set(catalog.controls)
    for cid, control in catalog.controls.items():
        have = {split_name(c) for c in _cases(MATRIX / cid)}
        want = {(s, o) for s in expected_sources(control) for o in ("pass", "fail")}
        assert have == want, f"{cid}: missing {sorted(want - have)}, extra {sorted(have - want)}"


def test_matrix_holds_every_encoding() -> None:
    """The text encodings are what the names say (BOMs, UTF-16, cp1252 bytes)."""
    for path in MATRIX.rglob("*"):
        source = path.name.partition(".")[0]
        if not path.is_file() or source == HELPER or path.suffix in (".args", ".py"):
            continue
        data = path.read_bytes()
        if source.endswith("utf16le"):
            assert data.startswith(b"\xff\xfe") and data[3:4] == b"\x00", path
        elif source.endswith("utf8bom"):
            assert data.startswith(b"\xef\xbb\xbf"), path
            data[3:].decode("utf-8")
        elif source.endswith("utf8"):
            assert not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe")), path
            data.decode("utf-8")
        elif source.endswith("ansi"):
            assert not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe")), path
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")  # cp1252 bytes of a non-ASCII value: not UTF-8
        elif source.startswith("hive"):
            assert data[:4] == b"regf", path
        elif source == "registrypol":
            assert data[:8] == b"PReg\x01\x00\x00\x00", path


# ------------------------------------------------------------------ the check can fail


@pytest.mark.parametrize(
    ("control", "src", "renamed", "complaint"),
    [
        # a passing file named as failing
        ("smb-server-signing-required", "reg-utf16le.pass.reg", "reg-utf16le.fail.reg",
         "the name says fail"),
        # the SMB1-only control: its "fail" is a failure only with SMB1 on; without the
        # helper file the verdict is unknown, which is not the named outcome
        ("smb-server-signing-enabled", "GptTmpl-ansi.fail/GptTmpl-ansi.inf",
         "GptTmpl-ansi.fail.inf", "the name says fail"),
        # a .reg named as a Registry.pol
        ("smb1-client-disabled", "reg-utf8.pass.reg", "registrypol.pass.reg",
         "not by registrypol"),
        # a secedit export (not a GptTmpl name, not in a GPO) named as a GPO template
        ("smb-client-plaintext-password-disabled", "secedit-ansi.pass.inf",
         "GptTmpl-ansi.pass/export.inf", "not by gpttmpl"),
    ],
)  # fmt: skip
def test_a_wrongly_named_fixture_is_reported(
    tmp_path: Path, control: str, src: str, renamed: str, complaint: str
) -> None:
    target = tmp_path / renamed
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MATRIX / control / src, target)
    case = tmp_path / renamed.split("/")[0]
    hosts = run_audit([case], case_args(MATRIX / control / src.split("/")[0]))
    found = hosts[case.stem if case.is_file() else case.name]
    assert any(complaint in p for p in problems(case, control, found)), problems(
        case, control, found
    )


# ------------------------------------------------------------- derived from the YAML


needs_hivex = pytest.mark.skipif(shutil.which("hivexsh") is None, reason="needs hivexsh")


@needs_hivex
def test_committed_matrix_is_what_each_controls_yaml_gives(tmp_path: Path) -> None:
    """Every committed case file is byte for byte what make_matrix.py derives from the YAML."""
    make_matrix.write_matrix(load_catalog(), tmp_path)
    mine = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(MATRIX)
        for p in MATRIX.rglob("*")
        if p.is_file() and p.parent != MATRIX and "__pycache__" not in p.parts
    }
    assert mine == committed
    for rel in sorted(mine):
        assert (tmp_path / rel).read_bytes() == (MATRIX / rel).read_bytes(), rel


#: Two controls the catalog does not have, written only as YAML: a server Security Option with
#: a cmdlet property and an smb.conf parameter, and a client setting that only matters on SMB1
#: (whose failing cases need SMB1 on, taken from smb1-client-disabled).
SYNTHETIC = {
    "synthetic-server-reject-unencrypted": """\
title: "Synthetic: server rejects unencrypted access"
rationale: A control that exists only in this test.
severity: medium
weight: 4
applies_to:
  os_families: [windows, samba]
side: server
protocol: smb
check:
  registry:
    key: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters'
    value: RejectUnencryptedAccess
    type: REG_DWORD
    expected: {equals: 1}
    allowed:
      - {value: 0, meaning: accepted}
      - {value: 1, meaning: rejected}
  samba:
    parameter: server smb encrypt
    passing: [required]
    allowed:
      - {value: 'No', meaning: 'off'}
      - {value: if_required, meaning: offered}
      - {value: desired, meaning: offered}
      - {value: required, meaning: required}
  cmdlet:
    cmdlet: Get-SmbServerConfiguration
    property: RejectUnencryptedAccess
    expected: {equals: true}
    allowed:
      - {value: false, meaning: accepted}
      - {value: true, meaning: rejected}
desired:
  registry:
    - key: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters'
      value: RejectUnencryptedAccess
      data: 1
      gpo_file: GptTmpl.inf
  samba:
    - parameter: server smb encrypt
      value: required
  cmdlet:
    cmdlet: Set-SmbServerConfiguration
    parameter: RejectUnencryptedAccess
    value: true
""",
    "synthetic-client-smb1-offer": """\
title: "Synthetic: client offers something on SMB1"
rationale: A control that exists only in this test.
severity: low
weight: 2
applies_to:
  os_families: [windows]
side: client
protocol: smb1
check:
  registry:
    key: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters'
    policy_key: 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation'
    value: SyntheticOffer
    type: REG_DWORD
    expected: {at_least: 2}
    allowed:
      - {value: 0, meaning: never}
      - {value: 1, meaning: sometimes}
      - {value: 2, meaning: often}
      - {value: 3, meaning: always}
  cmdlet:
    cmdlet: Get-SmbClientConfiguration
    property: SyntheticOffer
    expected: {at_least: 2}
    allowed:
      - {value: 0, meaning: never}
      - {value: 1, meaning: sometimes}
      - {value: 2, meaning: often}
      - {value: 3, meaning: always}
  smb1_only: true
desired:
  registry:
    - key: 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation'
      value: SyntheticOffer
      data: 3
      gpo_file: Registry.pol
  cmdlet:
    cmdlet: Set-SmbClientConfiguration
    parameter: SyntheticOffer
    value: 3
""",
}


def _synthetic_catalog(root: Path) -> Catalog:
    """A copy of the packaged catalog with the SYNTHETIC controls, mapped by one requirement."""
    packaged = Path(str(resources.files("smbsign.catalog")))
    for part in ("controls", "frameworks"):
        shutil.copytree(packaged / part, root / part)
    shutil.copy(packaged / "defaults.yaml", root / "defaults.yaml")
    for cid, text in SYNTHETIC.items():
        (root / "controls" / f"{cid}.yaml").write_text(text)
    with (root / "frameworks" / "edca.yaml").open("a") as f:
        f.write(f"  - id: SYNTHETIC-1\n    controls: [{', '.join(SYNTHETIC)}]\n")
    return load_catalog(root)


@needs_hivex
def test_a_new_control_gets_its_matrix_cases_from_its_yaml_alone(tmp_path: Path) -> None:
    """Controls added as YAML only: make_matrix.py writes every case the catalog asks of them
    (sources x encodings x pass/fail), and an audit with that catalog meets each case's name."""
    catalog = _synthetic_catalog(tmp_path / "catalog")
    out = tmp_path / "matrix"
    make_matrix.write_matrix(catalog, out, SYNTHETIC)
    for cid in SYNTHETIC:
        cases = _cases(out / cid)
        have = {split_name(c) for c in cases}
        want = {(s, o) for s in expected_sources(catalog.controls[cid]) for o in ("pass", "fail")}
        assert have == want, f"{cid}: missing {sorted(want - have)}, extra {sorted(have - want)}"
        assert not any(c.name.endswith(".args") for c in (out / cid).iterdir())
        results = Auditor(catalog, controls=[cid]).audit([PathsSource(tuple(cases))])
        hosts = {r.host: [finding_to_dict(f) for f in r.findings] for r in results}
        for case in cases:
            found = hosts.get(case.stem if case.is_file() else case.name, [])
            assert found, f"{cid}/{case.name}: no finding names this host"
            assert problems(case, cid, found) == []
    offer = out / "synthetic-client-smb1-offer"
    assert (offer / "reg-utf8.fail.reg").read_text().count("mrxsmb10") == 1  # SMB1 on, in-file
    assert (offer / "pwsh-utf8.fail" / "smb1-on.reg").is_file()  # SMB1 on, beside the file
    assert (offer / "reg-param-utf8.pass.reg").is_file()  # the policy value's other key


def test_a_control_whose_cases_cannot_be_derived_is_one_clear_error(tmp_path: Path) -> None:
    catalog = load_catalog()
    spn = catalog.controls["smb-server-spn-hardening"]
    reg = spn.check.registry
    assert reg is not None
    check = spn.check.model_copy(update={"registry": reg.model_copy(update={"allowed": ()})})
    bare = spn.model_copy(update={"check": check})
    with pytest.raises(make_matrix.MatrixError, match="no passing and failing registry data"):
        make_matrix.case_for(bare, catalog.controls.values())

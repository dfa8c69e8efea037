"""The packaged catalog loads, and the loader rejects every kind of broken catalog.

Broken catalogs are small edits of a copy of the real one in ``tmp_path``, so each test
proves one check fires with a one-line message naming the file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import smbsign.catalog
from smbsign.catalog import Catalog, load_catalog
from smbsign.errors import CatalogError

CATALOG_DIR = Path(smbsign.catalog.__file__).parent
REPO = CATALOG_DIR.parents[2]

REQUIRED_CONTROLS = {
    "smb-server-signing-required",
    "smb-server-signing-enabled",
    "smb-client-signing-required",
    "smb-client-signing-enabled",
    "smb-client-plaintext-password-disabled",
    "smb-server-spn-hardening",
    "smb1-server-disabled",
    "smb1-client-disabled",
    "smb-server-audit-unsigned-clients",
    "smb-client-audit-unsigned-servers",
    "samba-client-ipc-signing-required",
}
REQUIRED_FRAMEWORKS = {
    "cis-windows-10",
    "cis-windows-11",
    "cis-windows-server-2016",
    "cis-windows-server-2019",
    "cis-windows-server-2022",
    "cis-windows-server-2025",
    "cis-controls-v8",
    "nist-800-53",
    "pci-dss-3.2.1",
    "pci-dss-4.0",
    "hipaa",
    "cmmc-2.0",
    "anssi",
    "bsi",
    "disa-stig",
    "microsoft-baseline",
    "wazuh-sca",
    "edca",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_packaged_catalog_has_the_issue_controls_and_frameworks(catalog: Catalog) -> None:
    assert set(catalog.controls) >= REQUIRED_CONTROLS
    assert set(catalog.frameworks) >= REQUIRED_FRAMEWORKS
    for cid, control in catalog.controls.items():
        assert control.id == cid
        assert (CATALOG_DIR / "controls" / f"{cid}.yaml").is_file()


def test_packaged_catalog_is_cached_and_read_only(catalog: Catalog) -> None:
    assert load_catalog() is catalog
    with pytest.raises(TypeError):
        catalog.controls["x"] = catalog.controls["smb1-server-disabled"]  # type: ignore[index]


def test_control_files_never_carry_an_id() -> None:
    for path in (CATALOG_DIR / "controls").glob("*.yaml"):
        assert not re.search(r"^id:", path.read_text(), re.M), path.name


def test_key_facts_of_the_signing_controls(catalog: Catalog) -> None:
    srv = catalog.controls["smb-server-signing-required"]
    assert srv.check.registry is not None and srv.check.registry.value == "RequireSecuritySignature"
    assert "lanmanserver" in srv.check.registry.key.lower()
    assert srv.check.registry.expected.equals == 1
    assert srv.check.samba is not None and srv.check.samba.passing == ("required",)
    assert srv.check.wire == "smb_server_signing_required"
    assert srv.desired.registry[0].gpo_file == "GptTmpl.inf"
    assert [s.value for s in srv.desired.samba] == ["mandatory"]
    assert srv.stage == "enforce" and srv.enforces_signing
    cli = catalog.controls["smb-client-signing-required"]
    assert cli.check.registry is not None and "lanmanworkstation" in cli.check.registry.key.lower()
    assert [s.value for s in cli.desired.samba] == ["required"]
    ipc = catalog.controls["samba-client-ipc-signing-required"]
    assert ipc.enforces_signing and ipc.applies_to.os_families == ("samba",)
    for cid in ("smb-server-signing-enabled", "smb-client-signing-enabled"):
        assert catalog.controls[cid].check.smb1_only
        assert not catalog.controls[cid].enforces_signing
    for cid in ("smb-server-audit-unsigned-clients", "smb-client-audit-unsigned-servers"):
        c = catalog.controls[cid]
        assert c.stage == "audit" and c.applies_to.min_build == 26100
        assert c.check.registry is not None and c.check.registry.policy_key is not None
        assert c.check.registry.policy_key.startswith(
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Lanman"
        )  # the policy; Set-Smb*Configuration writes the Parameters key (#11 item 6)
        assert c.check.registry.key.startswith("HKLM\\SYSTEM\\CurrentControlSet\\Services\\Lanman")
        assert c.check.registry.key.endswith("\\Parameters")
        assert c.desired.registry[0].gpo_file == "Registry.pol"
    smb1c = catalog.controls["smb1-client-disabled"]
    assert {(r.value, r.restart) for r in smb1c.desired.registry} == {
        ("Start", "reboot"),
        ("DependOnService", "reboot"),
    }
    stages = {c.stage for c in catalog.controls.values() if not c.enforces_signing}
    assert stages <= {"audit", "harden"}


def test_mappings_for_and_framework_controls(catalog: Catalog) -> None:
    pairs = catalog.mappings_for("smb-server-signing-required")
    assert ("cis-windows-11", "2.3.9.2") in {(f.id, r.id) for f, r in pairs}
    assert catalog.mappings_for("no-such-control") == []
    assert catalog.framework_controls("edca")[:2] == [
        "smb-server-signing-required",
        "smb-client-signing-required",
    ]
    with pytest.raises(KeyError):
        catalog.framework_controls("nope")


# ------------------------------------------------------------------ broken catalogs


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR / "controls", root / "controls")
    shutil.copytree(CATALOG_DIR / "frameworks", root / "frameworks")
    shutil.copy(CATALOG_DIR / "defaults.yaml", root / "defaults.yaml")
    return root


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count))


def _error(root: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    message = str(info.value)
    assert "\n" not in message
    return message


SRV = "controls/smb-server-signing-required.yaml"

BROKEN: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "unknown top-level key",
        lambda r: _edit(r / SRV, "severity: high", "severity: high\nseverty: high"),
        r"smb-server-signing-required\.yaml: severty: Extra inputs are not permitted",
    ),
    (
        "unknown nested key",
        lambda r: _edit(
            r / SRV, "    type: REG_DWORD\n    expected", "    typ: REG_DWORD\n    expected"
        ),
        r"check\.registry\.typ: Extra inputs are not permitted",
    ),
    (
        "unknown key in a framework file",
        lambda r: _edit(
            r / "frameworks/edca.yaml", "version: 42d85b7", "version: 42d85b7\nvesion: x"
        ),
        r"frameworks/edca\.yaml: vesion: Extra inputs are not permitted",
    ),
    (
        "unknown key in a framework requirement",
        lambda r: _edit(
            r / "frameworks/edca.yaml",
            "    controls: [smb1-server-disabled]",
            "    controls: [smb1-server-disabled]\n    control: [smb1-client-disabled]",
        ),
        r"frameworks/edca\.yaml: requirements\.\d+\.control: Extra inputs are not permitted",
    ),
    (
        "unknown key in defaults.yaml",
        lambda r: _edit(r / "defaults.yaml", "version: 1\n", "version: 1\nentires: {}\n"),
        r"defaults\.yaml: entires: Extra inputs are not permitted",
    ),
    (
        "weight above 10",
        lambda r: _edit(r / SRV, "weight: 9", "weight: 11"),
        r"weight: Input should be less than or equal to 10",
    ),
    (
        "weight below 1",
        lambda r: _edit(r / SRV, "weight: 9", "weight: 0"),
        r"weight: Input should be greater than or equal to 1",
    ),
    (
        "missing rationale",
        lambda r: _edit(r / SRV, "rationale: >-", "rationale_: >-"),
        r"rationale: Field required",
    ),
    (
        "bad severity",
        lambda r: _edit(r / SRV, "severity: high", "severity: severe"),
        r"severity: Input should be",
    ),
    (
        "id written in the YAML",
        lambda r: _edit(
            r / SRV, "severity: high", "id: smb-server-signing-required\nseverity: high"
        ),
        r"remove the 'id' key",
    ),
    (
        "duplicate YAML key",
        lambda r: _edit(r / SRV, "weight: 9", "weight: 9\nweight: 8"),
        r"smb-server-signing-required\.yaml \(line \d+\): duplicate key 'weight'",
    ),
    (
        "malformed YAML",
        lambda r: _edit(r / SRV, "weight: 9", "weight: [9"),
        r"smb-server-signing-required\.yaml \(line \d+\)",
    ),
    (
        "document is a list",
        lambda r: (r / SRV).write_text("- a\n- b\n"),
        r"must be a mapping",
    ),
    (
        "file name is not an id",
        lambda r: (r / SRV).rename(r / "controls" / "Bad_Name.yaml"),
        r"controls/Bad_Name\.yaml: file name is not a valid id",
    ),
    (
        ".yml extension",
        lambda r: shutil.copy(r / SRV, r / "controls" / "extra.yml"),
        r"controls/extra\.yml: use the \.yaml extension",
    ),
    (
        "dangling control in a framework",
        lambda r: _edit(
            r / "frameworks/edca.yaml",
            "[smb1-server-disabled]",
            "[smb1-server-disabled, smb-no-such-control]",
        ),
        r"frameworks/edca\.yaml: requirement 'EDCA-SEC-023': unknown control 'smb-no-such-control'",
    ),
    (
        "duplicate requirement id",
        lambda r: _edit(r / "frameworks/edca.yaml", "id: EDCA-SEC-023", "id: EDCA-SEC-043"),
        r"frameworks/edca\.yaml: duplicate requirement id 'EDCA-SEC-043'",
    ),
    (
        "control named twice in a requirement",
        lambda r: _edit(
            r / "frameworks/edca.yaml",
            "[smb1-server-disabled]",
            "[smb1-server-disabled, smb1-server-disabled]",
        ),
        r"requirement 'EDCA-SEC-023' names 'smb1-server-disabled' twice",
    ),
    (
        "unmapped control",
        lambda r: shutil.copy(r / SRV, r / "controls" / "smb-unmapped-copy.yaml"),
        r"controls/smb-unmapped-copy\.yaml: not mapped by any framework",
    ),
    (
        "enforcing control without desired state",
        lambda r: _write_no_desired(r),
        r"samba-client-ipc-signing-required\.yaml: enforces_signing without a desired state",
    ),
    (
        "expect with two fields",
        lambda r: _edit(r / SRV, "expected: {equals: 1}", "expected: {equals: 1, at_least: 1}"),
        r"check\.registry\.expected must set exactly one",
    ),
    (
        "desired value fails its own check",
        lambda r: _edit(r / SRV, "      value: mandatory", "      value: auto"),
        r"desired\.samba server signing = auto fails its own check",
    ),
    (
        "desired registry data fails its own check",
        lambda r: _edit(r / SRV, "      data: 1", "      data: 0"),
        r"desired\.registry data 0 fails its own check",
    ),
    (
        "passing lists default",
        lambda r: _edit(r / SRV, "passing: [required]", "passing: [required, default]"),
        r"must not list 'default'",
    ),
    (
        "unknown default_key",
        lambda r: _edit(
            r / SRV,
            "default_key: 'windows:lanmanserver:requiresecuritysignature'",
            "default_key: 'windows:nope'",
        ),
        r"default_key 'windows:nope' is not in defaults\.yaml",
    ),
    (
        "default_key for another setting",
        lambda r: _edit(
            r / SRV,
            "default_key: 'windows:lanmanserver:requiresecuritysignature'",
            "default_key: 'windows:lanmanserver:enablesecuritysignature'",
        ),
        r"defaults entry 'windows:lanmanserver:enablesecuritysignature' is for .*"
        r"not the checked value",
    ),
    (
        "framework detail value not a string",
        lambda r: _edit(
            r / "frameworks/edca.yaml", "severity_weight: '8'", "severity_weight: 8", 2
        ),
        r"frameworks/edca\.yaml: requirements\.0\.detail\.severity_weight: "
        r"Input should be a valid string",
    ),
    (
        "control without applicability for its samba family",
        lambda r: _edit(
            r / "controls/smb-server-spn-hardening.yaml",
            "  os_families: [windows]",
            "  os_families: [windows, samba]",
        ),
        r"smb-server-spn-hardening\.yaml: applies to samba but has no check\.samba",
    ),
    (
        "defaults counterpart dangling",
        lambda r: _edit(
            r / "defaults.yaml",
            "counterparts: {samba: 'samba:server signing'}",
            "counterparts: {samba: 'samba:nope'}",
        ),
        r"defaults\.yaml: entry 'windows:lanmanserver:requiresecuritysignature': counterpart samba",
    ),
    (
        "defaults rule with both value and unknown",
        lambda r: _edit(
            r / "defaults.yaml",
            "      - value: desired\n",
            "      - value: desired\n        unknown: x\n",
        ),
        r"defaults\.yaml: .*exactly one of 'value' and 'unknown'",
    ),
    (
        "defaults label with an unknown placeholder",
        lambda r: _edit(
            r / "defaults.yaml", "default(samba {samba_version}/{role})", "default({edtion})"
        ),
        r"unknown placeholder",
    ),
    (
        "controls directory missing",
        lambda r: shutil.rmtree(r / "controls"),
        r"controls/: directory missing",
    ),
    (
        "defaults file missing",
        lambda r: (r / "defaults.yaml").unlink(),
        r"defaults\.yaml: file missing",
    ),
    # side, protocol and allowed values (#8 item 4): the catalog says them, integrity checks them
    (
        "side missing",
        lambda r: _edit(r / SRV, "\nside: server\n", "\n"),
        r"smb-server-signing-required\.yaml: side: Field required",
    ),
    (
        "unknown protocol",
        lambda r: _edit(r / SRV, "protocol: smb\n", "protocol: smb2\n"),
        r"protocol: Input should be 'smb', 'smb1' or 'ldap'",
    ),
    (
        "server control on the client's key",
        lambda r: _edit(r / SRV, "side: server", "side: client"),
        r"side client but HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters "
        r"is a server-side key",
    ),
    (
        "client control with a server cmdlet",
        lambda r: _edit(
            r / "controls/smb-client-signing-required.yaml",
            "cmdlet: Get-SmbClientConfiguration",
            "cmdlet: Get-SmbServerConfiguration",
        ),
        r"side client but Get-SmbServerConfiguration configures the other side",
    ),
    (
        "Samba-only control on the other side's parameter",
        lambda r: _edit(
            r / "controls/samba-client-ipc-signing-required.yaml", "side: client", "side: server"
        ),
        r"side server but 'client ipc signing' is a client-side parameter",
    ),
    (
        "SMB1-only check that claims every dialect",
        lambda r: _edit(
            r / "controls/smb-server-signing-enabled.yaml", "protocol: smb1", "protocol: smb"
        ),
        r"an SMB1-only check needs protocol smb1, not smb",
    ),
    (
        "allowed values missing",
        lambda r: _edit(
            r / "controls/smb-server-spn-hardening.yaml",
            "    allowed:\n      - {value: 0, meaning: 'off'}\n"
            "      - {value: 1, meaning: 'accept if provided by the client'}\n"
            "      - {value: 2, meaning: 'required from the client'}\n  cmdlet:",
            "  cmdlet:",
        ),
        r"spn-hardening\.yaml: check\.registry\.allowed is missing",
    ),
    (
        "allowed values the check cannot fail",
        lambda r: _edit(
            r / "controls/smb1-server-disabled.yaml",
            "      - {value: 1, meaning: 'SMB1 server on (where the SMB1 component is "
            "installed)'}\n",
            "",
        ),
        r"smb1-server-disabled\.yaml: check\.registry\.expected must pass some allowed values "
        r"and fail others",
    ),
    (
        "desired data outside allowed",
        lambda r: _edit(
            r / "controls/smb1-client-disabled.yaml",
            "      - {value: 4, meaning: 'disabled'}\n",
            "      - {value: 5, meaning: 'no such start type'}\n",
        ),
        r"smb1-client-disabled\.yaml: desired\.registry data 4 is not in allowed",
    ),
    (
        "allowed value of the wrong type",
        lambda r: _edit(
            r / SRV,
            "      - {value: 0, meaning: 'signing not required'}",
            "      - {value: '0', meaning: 'signing not required'}",
        ),
        r"check\.registry\.allowed holds a value that is not REG_DWORD",
    ),
    (
        "Samba passing value outside allowed",
        lambda r: _edit(r / SRV, "    passing: [required]", "    passing: [required, bogus]"),
        r"check\.samba value 'bogus' is not in check\.samba\.allowed",
    ),
    (
        "cmdlet desired value outside allowed",
        lambda r: _edit(
            r / "controls/smb-server-spn-hardening.yaml",
            "    parameter: SmbServerNameHardeningLevel\n    value: 1",
            "    parameter: SmbServerNameHardeningLevel\n    value: 7",
        ),
        r"desired\.cmdlet value 7 is not in allowed",
    ),
]


def _write_no_desired(root: Path) -> None:
    path = root / "controls" / "samba-client-ipc-signing-required.yaml"
    _edit(
        path,
        "desired:\n  samba:\n    - parameter: client ipc signing\n      value: required\n",
        "desired: {}\n",
    )


@pytest.mark.parametrize(
    ("edit", "pattern"), [(e, p) for _, e, p in BROKEN], ids=[n for n, _, _ in BROKEN]
)
def test_broken_catalog_is_rejected(
    tmp_path: Path, edit: Callable[[Path], None], pattern: str
) -> None:
    root = _copy(tmp_path)
    edit(root)
    assert re.search(pattern, _error(root)), _error(root)


def test_unmodified_copy_loads(tmp_path: Path) -> None:
    copy = load_catalog(_copy(tmp_path))
    assert set(copy.controls) == set(load_catalog().controls)
    assert copy is not load_catalog()


# ------------------------------------------------------------------ generated docs


def test_docs_controls_md_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "smbsign.catalog.docgen"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    committed = (REPO / "docs" / "controls.md").read_text()
    assert proc.stdout == committed, (
        "regenerate: python -m smbsign.catalog.docgen > docs/controls.md"
    )
    for cid in REQUIRED_CONTROLS:
        assert f"## `{cid}`" in committed

"""Citations point into the repository: a primary source or a section of docs/reference.md.

Issue #8 item 5. Three checks, each over text a user can read:

- the sources (``src/`` including the catalog YAML and the remediation templates, ``docs/``,
  ``README.md``, ``bench/``, ``scripts/``; and, separately, ``tests/``) cite no document the
  repository does not contain (the old domain notes ``DOMAIN.md``, ``ANCHORS.md``,
  ``AD-LAB.md``, the seed abbreviation ``MM-P12``, or a path into a ``shared/`` directory
  beside the checkout);
- every ``docs/reference.md §N`` citation names a section that exists, and every ``[doc KEY]``
  / ``[spec KEY]`` source key is defined in docs/reference.md §0;
- the same two rules hold for generated output: every fix format for every target and control,
  the plan printed by ``smbsign fix``, ``plan.json``, ``smbsign controls`` and
  ``controls show`` for every control, ``smbsign audit`` findings (Windows defaults and Samba
  roles), and ``smbsign report`` of that audit in every report format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbsign.catalog import load_catalog
from smbsign.cli import app

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"


class CitationProblems(AssertionError):
    """Raised for citation problems only: a crash is never taken for the expected failure."""


# A document outside the repository. ``DOMAIN`` alone only when a section number follows, so
# ``[DOMAIN\]user`` and ``USERDNSDOMAIN`` are not citations.
FOREIGN = re.compile(
    r"\b(?:DOMAIN\.md|ANCHORS\.md|AD-LAB\.md|MM-P\d+)|\bDOMAIN(?=[ \t]+§?\d)"
    r"|(?:\.\./|/work/)shared/"
)
_SECTION = r"§?\s*\d+(?:\.\d+)*"
# ``docs/reference.md §4.3``, ``§3.1, §4.1``, ``§5.7-5.9``, ``§4.3 and §4.4``, ``§6.1/6.2``; the
# first number needs ``§``. A citation may wrap onto the next line (comment markers between).
CITATION = re.compile(
    r"reference\.md[\s#*>]*(§\s*\d+(?:\.\d+)*(?:\s*(?:,|/|-|–|and)\s*" + _SECTION + r")*)"
)
SOURCE_KEY = re.compile(r"\[(?:doc|spec)\s+([A-Z][A-Za-z0-9-]*)")
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".j2", ".md", ".txt", ".json", ".ps1", ".inf", ".cfg"}


@cache
def reference_sections() -> frozenset[str]:
    """Section numbers of docs/reference.md, from its headings (``## 4.`` / ``### 4.3 ...``)."""
    text = REFERENCE.read_text(encoding="utf-8")
    found = re.findall(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", text, flags=re.MULTILINE)
    return frozenset(found)


@cache
def reference_source_keys() -> frozenset[str]:
    """Keys of the source table in docs/reference.md §0 (first column)."""
    text = REFERENCE.read_text(encoding="utf-8")
    part = text.split('<a id="s1"></a>', 1)[0]
    return frozenset(re.findall(r"^\|\s*([A-Z][A-Za-z0-9-]*)\s*\|", part, flags=re.MULTILINE))


def _cited_sections(citation: str) -> Iterator[str]:
    """Every section a citation names; both ends of a range."""
    yield from re.findall(r"\d+(?:\.\d+)*", citation)


def problems(name: str, text: str) -> list[str]:
    """Citations in ``text`` that point outside the repository or to no reference section."""
    found: list[str] = []
    for m in FOREIGN.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        snippet = text[m.start() : m.start() + 40].split("\n")[0]
        found.append(f"{name}:{line}: cites a document outside the repository: {snippet!r}")
    sections = reference_sections()
    for m in CITATION.finditer(text):
        missing = [n for n in _cited_sections(m.group(1)) if n not in sections]
        if missing:
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{name}:{line}: docs/reference.md has no section {', '.join(missing)}")
    keys = reference_source_keys()
    for m in SOURCE_KEY.finditer(text):
        key = m.group(1)
        if not (key in keys or key.startswith(("MS-", "RFC"))):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{name}:{line}: source key [{key}] is not in docs/reference.md §0")
    return found


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8", errors="replace")


def _text_files(*dirs: str) -> Iterator[Path]:
    for top in dirs:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in TEXT_SUFFIXES:
                yield path


def _source_files() -> Iterator[Path]:
    """What ships or documents: README, docs, src (catalog YAML, templates), bench, scripts."""
    yield ROOT / "README.md"
    yield from _text_files("docs", "src", "bench", "scripts")
    yield ROOT / "scripts" / "bootstrap"


def _check(found: Iterable[str]) -> None:
    items = list(found)
    if items:
        head = "\n".join(items[:60])
        more = f"\n... and {len(items) - 60} more" if len(items) > 60 else ""
        raise CitationProblems(f"{len(items)} citation problem(s):\n{head}{more}")


# --- the checker itself ----------------------------------------------------------------------


def test_reference_has_the_sections_the_code_cites() -> None:
    sections = reference_sections()
    for number in ("0", "1.1", "1.2", "1.3", "2.1", "2.6", "3", "3.1", "3.5", "4.1", "4.7"):
        assert number in sections
    for number in ("5.1", "5.10", "6.1", "6.8", "7", "8", "9", "10.1", "10.5"):
        assert number in sections
    assert "12" not in sections
    assert {"OV", "SMB1DET", "CSP-LM", "POL", "PS-SMB", "SAMBA", "PREVENT-12"} <= (
        reference_source_keys()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see DOMAIN.md 4.2, SMB1DET", "outside the repository"),
        ("(DOMAIN 4.6)", "outside the repository"),
        ("Relay wording (MM-P12): ...", "outside the repository"),
        ('Scores follow EDCA (ANCHORS.md, "EDCA")', "outside the repository"),
        ("samples in ../shared/reference/samples", "outside the repository"),
        ("docs/reference.md §4.9", "no section 4.9"),
        ("docs/reference.md §5.7-5.12", "no section 5.12"),
        ("docs/reference.md §3.1, §4.1 and §12", "no section 12"),
        ("# docs/reference.md\n# §77", "no section 77"),
        ("[doc NOPE] says", "source key [NOPE]"),
    ],
)
def test_checker_flags(text: str, expected: str) -> None:
    found = problems("x", text)
    assert len(found) == 1, found
    assert expected in found[0]


@pytest.mark.parametrize(
    "text",
    [
        "docs/reference.md §4.3 (synonyms); docs/reference.md §3.1, §4.1; §5.7-5.9",
        "reference.md §1.1 and §6.5/§6.6",
        "[MS-SMB2] 2.2.4; [doc SMB1DET]; [spec MS-CIFS 2.2.4.52.2]; [doc CSP-LM]",
        "--user [DOMAIN\\]user; $env:USERDNSDOMAIN; Role.DOMAIN_CONTROLLER",
        "Misconfiguration Manager PREVENT-12",
    ],
)
def test_checker_accepts(text: str) -> None:
    assert problems("x", text) == []


# --- the repository ----------------------------------------------------------------------------


def test_reference_itself_is_clean() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    assert problems("docs/reference.md", text) == []


def test_sources_cite_only_what_the_repository_contains() -> None:
    found: list[str] = []
    for path in _source_files():
        found += problems(str(path.relative_to(ROOT)), _decode(path.read_bytes()))
    _check(found)


def test_tests_cite_only_what_the_repository_contains() -> None:
    """Test docstrings and golden files too (goldens: regenerate, see test_render_golden.py)."""
    found: list[str] = []
    for path in _text_files("tests"):
        if path != Path(__file__).resolve():
            found += problems(str(path.relative_to(ROOT)), _decode(path.read_bytes()))
    _check(found)


# --- generated output --------------------------------------------------------------------------


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), (args, result.output)
    return result.output


def _controls_output() -> dict[str, str]:
    out = {
        "controls": _invoke("controls"),
        "controls --format json": _invoke("controls", "--format", "json"),
    }
    for cid in sorted(load_catalog().controls):
        out[f"controls show {cid}"] = _invoke("controls", "show", cid)
    return out


def _fix_output(tmp: Path) -> dict[str, str]:
    """Plan text, plan.json and every file of every format, for every target and control."""
    catalog = load_catalog()
    out: dict[str, str] = {}
    for target, family in (
        ("windows-server", "windows"),
        ("windows-client", "windows"),
        ("domain-controller", "windows"),
        ("samba", "samba"),
    ):
        ids = ",".join(
            sorted(c.id for c in catalog.controls.values() if family in c.applies_to.os_families)
        )
        for stage in ("audit", "enforce", None):
            staged = ["--stage", stage] if stage else []
            key = f"fix --target {target} {' '.join(staged)}".strip()
            out[key] = _invoke("fix", "--target", target, *staged)
        out[f"fix --target {target} --controls ALL"] = _invoke(
            "fix", "--target", target, "--controls", ids
        )
        dest = tmp / target
        _invoke("fix", "--target", target, "--controls", ids, "--format", "all", "-o", str(dest))
        files = sorted(p for p in dest.rglob("*") if p.is_file())
        assert files, f"fix --format all wrote nothing for {target}"
        for path in files:
            out[f"fix {target}: {path.relative_to(dest)}"] = _decode(path.read_bytes())
    return out


def _audit_output(tmp: Path) -> dict[str, str]:
    """Findings for Windows hosts (defaults by build/edition/role), Samba roles; all reports."""
    reg = tmp / "host.reg"
    reg.write_bytes(
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters]\r\n"
        '"EnableSecuritySignature"=dword:00000000\r\n'.encode("utf-16")
    )
    db = f"sqlite:///{tmp / 'history.sqlite'}"
    out: dict[str, str] = {}
    windows = [
        ("20348", "member_server", "ServerStandard"),
        ("20348", "domain_controller", "ServerDatacenter"),
        ("19045", "workstation", "Professional"),
        ("26100", "workstation", "Enterprise"),
        ("26100", "workstation", "Core"),
        ("26100", "member_server", "ServerStandard"),
    ]
    for build, role, edition in windows:
        args = ["--os-family", "windows", "--os-build", build, "--role", role]
        args += ["--edition", edition, "--smb1-feature", "installed"]
        key = f"audit windows {build} {role} {edition}"
        out[key] = _invoke("audit", str(reg), *args, "-f", "json", "--db", db)
    for role in ("standalone server", "active directory domain controller"):
        conf = tmp / f"{role.split()[0]}.smb.conf"
        conf.write_text(f"[global]\n\tserver role = {role}\n\tserver min protocol = NT1\n")
        out[f"audit samba {role}"] = _invoke("audit", str(conf), "-f", "json", "--db", db)
    for fmt in ("table", "json", "jsonl", "csv", "sarif", "junit", "markdown", "html"):
        out[f"report latest -f {fmt}"] = _invoke("report", "latest", "-f", fmt, "--db", db)
    return out


def test_generated_output_cites_only_what_the_repository_contains(tmp_path: Path) -> None:
    outputs = {**_controls_output(), **_fix_output(tmp_path), **_audit_output(tmp_path)}
    # The collection really covers every fix format, the plans, the controls and the reports
    # (a plain AssertionError here is a real failure, not the expected one).
    names = " ".join(outputs)
    for fmt in ("ansible/", "dsc/", "gpo/", "intune/", "powershell/", "reg/", "smbconf/"):
        assert fmt in names, fmt
    assert "plan.json" in names
    assert any(text.startswith("Plan for samba") for text in outputs.values())
    assert '"findings"' in outputs["audit samba standalone server"]
    assert "<testsuite" in outputs["report latest -f junit"]
    found: list[str] = []
    for name, text in outputs.items():
        found += problems(name, text)
    _check(found)

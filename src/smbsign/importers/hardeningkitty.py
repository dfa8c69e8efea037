"""HardeningKitty finding lists (scipag/HardeningKitty ``lists/*.csv``; docs/reference.md §10.3).

Columns ``ID, Category, Name, Method, MethodArgument, RegistryPath, RegistryItem, ClassName,
Namespace, Property, DefaultValue, RecommendedValue, Operator, Severity``; ``RegistryPath`` in
PowerShell form (``HKLM:\\System\\...``). ``ID`` is a CIS id, a STIG V-id or a Microsoft
baseline number: never used to map (docs/reference.md §1.2), the registry value is.

Absent values: HardeningKitty substitutes the list's ``DefaultValue`` when the value (or its
key) is missing and compares that with ``RecommendedValue`` (``HardeningKitty.psm1``,
``Method -eq 'Registry'``: ``catch { $Result = $Finding.DefaultValue }``), so an absent value
passes exactly when the list's default satisfies the recommendation; an empty default fails.
"""

from __future__ import annotations

from smbsign.importers import expect
from smbsign.importers.model import Absent, ImportedCheck, ImportedPolicy, Target
from smbsign.importers.tables import Row, csv_rows, header_cells
from smbsign.regpath import setting_id, split_hive

KIND = "hardeningkitty"
LABEL = "HardeningKitty finding list"
HEADER = (
    "ID",
    "Category",
    "Name",
    "Method",
    "MethodArgument",
    "RegistryPath",
    "RegistryItem",
)
REQUIRED = ("ID", "Name", "Method", "RegistryPath", "RegistryItem", "DefaultValue",
            "RecommendedValue", "Operator")  # fmt: skip
#: File-name fragments -> platform keys (importers.platforms); the CSV names no platform.
_PLATFORM_HINTS = (
    ("windows_11_24h2", "win11_24h2"),
    ("windows_11_enterprise_23h2", "win11_23h2"),
    ("windows_11", "win11"),
    ("windows_10", "win10"),
    ("windows_server_2025", "ws2025"),
    ("windows_server_2022", "ws2022"),
    ("windows_server_2019", "ws2019"),
    ("windows_server_2016", "ws2016"),
    ("windows_server_2012_r2", "ws2012r2"),
)


def sniff(data: bytes, name: str) -> bool:
    """The header row starts with HardeningKitty's first seven columns."""
    return header_cells(data)[: len(HEADER)] == tuple(h.lower() for h in HEADER)


def platform_of(name: str) -> str:
    """Platform key from the list's file name (``finding_list_cis_..._windows_11_...``)."""
    low = name.lower().replace("-", "_")
    return next((key for hint, key in _PLATFORM_HINTS if hint in low), "")


def _target(row: Row) -> tuple[Target | None, list[str]]:
    problems: list[str] = []
    key = (row.get("RegistryPath") or "").strip()
    item = (row.get("RegistryItem") or "").strip()
    if not key or not item:
        return None, ["Registry method without RegistryPath/RegistryItem"]
    if not split_hive(key)[0]:
        problems.append(f"registry path without a hive: {key!r}")
    sid = setting_id(key, item)
    op = (row.get("Operator") or "").strip()
    rec_text = (row.get("RecommendedValue") or "").strip()
    rec = expect.parse_int(rec_text)
    pred = expect.compare(op, rec) if rec is not None else None
    written = f"{op} {rec_text}".strip()
    if pred is None:
        problems.append(f"not a numeric test: Operator {op!r}, RecommendedValue {rec_text!r}")
        exp = expect.other(written)
    else:
        exp = expect.from_predicate(pred, sid, written, mentioned=(rec or 0,))
    default_text = (row.get("DefaultValue") or "").strip()
    default = expect.parse_int(default_text)
    if default_text and default is None:
        problems.append(f"DefaultValue {default_text!r} is not a number")
    if pred is None:
        absent = Absent.UNKNOWN
    else:
        absent = Absent.PASS if default is not None and pred(default) else Absent.FAIL
    return Target(key, item, sid, exp, absent, stated_default=default), problems


def _check(row: Row, number: int) -> ImportedCheck:
    method = (row.get("Method") or "").strip()
    targets: tuple[Target, ...] = ()
    problems: list[str] = []
    if method.lower() == "registry":
        target, problems = _target(row)
        targets = (target,) if target is not None else ()
    cid = (row.get("ID") or "").strip()
    return ImportedCheck(
        check_id=cid or f"row {number}",
        title=(row.get("Name") or "").strip(),
        location=f"row {number}",
        targets=targets,
        cis_id=cid if cid[:1].isdigit() and "." in cid else "",
        problems=tuple(problems),
    )


def parse(data: bytes, name: str) -> ImportedPolicy:
    """Import a finding list; :class:`ParseError` if it is not one at all."""
    rows = csv_rows(data, name, REQUIRED, "HardeningKitty finding list")
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    return ImportedPolicy(
        kind=KIND,
        label=LABEL,
        policy_id=stem.rsplit(".", 1)[0],
        name=stem,
        platform=platform_of(stem),
        checks=tuple(_check(row, n) for n, row in rows),
    )

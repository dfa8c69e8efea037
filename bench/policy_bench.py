"""Checklist benchmark: import + lint a full-size Wazuh policy, import a large dashboard export.

Builds, in memory, a Wazuh policy of ``--checks`` checks (the 4.14.7 Windows 11 sample's checks
repeated with fresh ids: a real cis_win11_enterprise.yml has about 500) and an export of
``--rows`` rows (the sample export's rows repeated), then times import, lint and the
Wazuh-results-as-findings step. Usage: ``.venv/bin/python bench/policy_bench.py``.
Needs shared/reference/samples beside the repository.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from smbsign.catalog import load_catalog
from smbsign.importers import ImportedPolicy, load
from smbsign.importers.lint import lint
from smbsign.importers.results import result_findings
from smbsign.model import HostFacts, OsFamily

T = TypeVar("T")
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "samples"


def big_policy(checks: int) -> bytes:
    text = (SAMPLES / "wazuh_sca_cis_win11_enterprise_v4.14.7_smb.yml").read_text("utf-8")
    head, body = text.split("checks:\n", 1)
    per = body.count("- id: ")
    copies = [
        re.sub(r"- id: (\d+)", rf"- id: \g<1>{i:03d}", body) for i in range(max(1, checks // per))
    ]
    return (head + "checks:\n" + "".join(copies)).encode()


def big_export(rows: int) -> bytes:
    text = (SAMPLES / "wazuh_sca_export_win11_smb_subset.csv").read_text("utf-8")
    head, body = text.split("\n", 1)
    per = body.count("\n,")  # every row starts with an empty Reason cell
    return (head + "\n" + body * max(1, rows // max(per, 1))).encode()


def timed(label: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    out = fn()
    print(f"{label:<40} {time.perf_counter() - start:8.3f} s")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=500)
    ap.add_argument("--rows", type=int, default=1000)
    args = ap.parse_args()
    if not SAMPLES.is_dir():
        print(f"samples not found at {SAMPLES}", file=sys.stderr)
        return 2
    catalog = load_catalog()
    data = big_policy(args.checks)
    policy = timed(f"import policy ({len(data) // 1024} KiB)", lambda: load(data, "p.yml"))
    assert isinstance(policy, ImportedPolicy)
    found = timed(f"lint {len(policy.checks)} checks", lambda: lint(policy, catalog))
    print(f"  {len(found)} lint findings (copies of the same checks are duplicates)")
    export = big_export(args.rows)
    rows = timed(f"import export ({len(export) // 1024} KiB)", lambda: load(export, "x.csv"))
    assert isinstance(rows, ImportedPolicy)
    facts = HostFacts("h", os_family=OsFamily.WINDOWS, build=22631, edition="Enterprise")
    got = timed(
        f"results as findings, {len(rows.checks)} rows",
        lambda: result_findings(rows, "x.csv", "h", facts, catalog, catalog.controls),
    )
    print(f"  {len(got[0])} findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`smbsign ad audit` against a real lab Samba AD DC holding a large domain (issue #9 item 9).

Run as root from the repository: ``nice .venv/bin/python bench/ad_bench.py`` (``--help``).

* The domain is :func:`smbsign.lab.adstandard.bench_domain`: 10,000 computers in 200 OUs with
  50 GPOs (``--computers/--ous/--gpos``), created through the DC's own tools (``ldbadd`` into
  the DC's ``sam.ldb``, ``samba-tool gpo create / setlink / setinheritance``, GptTmpl.inf over
  SMB) plus the low-privilege ``auditor``. Building it takes minutes, so the built DC's tree is
  saved once (``AdLab.save_tree``) under the lab cache (``$SMBSIGN_LAB_CACHE`` or
  ``/var/cache/smbsign-lab``, ``ad-bench-<computers>-<ous>-<gpos>``) and later runs start the
  DC from it (``AdLab(seed=...)``); ``--rebuild`` builds again.
* Measured, in the lab's client namespace, each a whole process under ``/usr/bin/time -v``
  (wall time, CPU time, peak RSS = "Maximum resident set size"): ``smbsign ad audit -f jsonl
  --no-store``, ``-f json --no-store`` (the document, also written finding by finding), ``-f
  jsonl --db`` (the run stored in SQLite: its findings kept serialized, then written),
  and as a floor the same directory read by Samba's own ``ldbsearch`` (paged, the computer
  attributes ``ad audit`` asks for; it resolves nothing).
* Checked: every computer of the domain has a ``smb-server-signing-required`` finding, and the
  one of computer 0 names the GPO the spec makes decide it.

Results: a table on stdout, ``bench/results/ad.json`` and ``ad.md`` (``--quick``: 300
computers in 20 OUs with 10 GPOs, results in ``ad-quick.*``; a smoke CI could run). Never in
the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from smbsign import __version__
from smbsign.lab.adprovision import cache_root
from smbsign.lab.adstandard import AUDITOR, bench_domain
from smbsign.lab.lab import lab_unavailable_reason, smbsign_argv

RESULTS = Path(__file__).with_name("results")
BUILT = "built.json"
CONTROL = "smb-server-signing-required"
LIMIT_S, LIMIT_MB = 60.0, 300.0
COMPUTER_ATTRS = (
    "dNSHostName",
    "operatingSystem",
    "operatingSystemVersion",
    "userAccountControl",
    "primaryGroupID",
    "objectSid",
    "memberOf",
)


def parse_time_v(stderr: str) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, user+system CPU seconds) from GNU time -v's report."""
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if not wall or not rss:
        raise RuntimeError(f"no /usr/bin/time report in: {stderr[-800:]}")
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", stderr))
    return seconds, int(rss.group(1)) / 1024, cpu


def timed(ad: Any, label: str, argv: list[str], env: list[str] | None = None) -> dict[str, Any]:
    cmd = ["env", *(env or []), "/usr/bin/time", "-v", *argv]
    proc = ad.run_client(cmd, timeout=3600)
    wall, rss, cpu = parse_time_v(proc.stderr)
    row = {
        "cpu_s": round(cpu, 2),
        "tool": label,
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss, 1),
    }
    print(
        f"{label:<48} exit {proc.returncode:>3}  {wall:8.2f} s  (CPU {cpu:7.2f} s)  {rss:8.1f} MiB",
        flush=True,
    )
    if proc.returncode not in (0, 1):
        print(proc.stderr[-1500:], file=sys.stderr)
    return row


def build_or_seed(args: argparse.Namespace, cache: Path) -> tuple[Any, Any, dict[str, float]]:
    """A running AdLab with the bench domain: from the saved tree, or built and saved first."""
    from smbsign.lab.addc import AdLab
    from smbsign.lab.addomain import BuiltDomain, build_domain

    spec = dataclasses.replace(bench_domain(args.computers, args.ous, args.gpos), users=(AUDITOR,))
    timings: dict[str, float] = {}
    if args.rebuild or not (cache / BUILT).is_file():
        began = time.monotonic()
        with AdLab() as ad:
            built = build_domain(ad, spec, local=True)
            timings["build_s"] = round(time.monotonic() - began, 1)
            print(f"built {args.computers} computers in {timings['build_s']} s", flush=True)
            ad.save_tree(cache, {BUILT: built.to_json()})
    began = time.monotonic()
    ad = AdLab(seed=cache)
    ad.start()
    timings["seeded_start_s"] = round(time.monotonic() - began, 1)
    return ad, BuiltDomain.from_json((cache / BUILT).read_bytes()), timings


def expected_gpo(args: argparse.Namespace) -> str:
    """The GPO that decides computer B00000: it sits in the first OU, ``Bench0`` (no parent
    OU, no block), whose link order 1 is ``Bench GPO 0``, enforced; the domain links only the
    Default Domain Policy, which does not set the value."""
    spec = bench_domain(args.computers, args.ous, args.gpos)
    first = [lk for lk in spec.links if lk.som == spec.computers[0].ou]
    assert first and first[0].enforced, "bench_domain changed: update expected_gpo"
    return first[0].gpo


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="300 computers, 20 OUs, 10 GPOs")
    ap.add_argument("--computers", type=int, default=10_000)
    ap.add_argument("--ous", type=int, default=200)
    ap.add_argument("--gpos", type=int, default=50)
    ap.add_argument("--rebuild", action="store_true", help="build the domain even if cached")
    args = ap.parse_args()
    if args.quick:
        args.computers, args.ous, args.gpos = 300, 20, 10
    why = lab_unavailable_reason()
    if why:
        print(f"cannot run the lab: {why}", file=sys.stderr)
        return 2
    from smbsign.lab.addomain import user_password_file

    cache = cache_root() / f"ad-bench-{args.computers}-{args.ous}-{args.gpos}"
    ad, built, timings = build_or_seed(args, cache)
    rows: list[dict[str, Any]] = []
    try:
        pw = user_password_file(ad, AUDITOR)
        user = f"{ad.spec.domain}\\{AUDITOR}"
        out_dir = Path(tempfile.mkdtemp(prefix="ad-bench-", dir=pw.parent))
        base = [*smbsign_argv(), "ad", "audit", "--dc", ad.address, "--user", user]
        base += ["--password-file", str(pw), "--no-store", "--timeout", "120"]
        jsonl = out_dir / "audit.jsonl"
        rows.append(
            timed(
                ad, "smbsign ad audit -f jsonl (streamed)", [*base, "-f", "jsonl", "-o", str(jsonl)]
            )
        )
        rows.append(
            timed(
                ad,
                "smbsign ad audit -f json (document)",
                [*base, "-f", "json", "-o", str(out_dir / "audit.json")],
            )
        )
        stored = [a for a in base if a != "--no-store"]
        stored += ["--db", f"sqlite:///{out_dir / 'runs.db'}"]
        rows.append(
            timed(
                ad,
                "smbsign ad audit -f jsonl --db (run stored)",
                [*stored, "-f", "jsonl", "-o", str(out_dir / "stored.jsonl")],
            )
        )
        floor = ["ldbsearch", "-H", ad.ldap_url, "-U", user, "--use-kerberos=off"]
        floor += ["--controls=paged_results:1:500", "-b", built.base_dn]
        floor += ["(objectClass=computer)", *COMPUTER_ATTRS]
        rows.append(
            timed(ad, "ldbsearch computers (floor, no resolution)", floor, [f"PASSWD_FILE={pw}"])
        )
        hosts: dict[str, dict[str, Any]] = {}
        with jsonl.open() as fh:
            for line in fh:
                f = json.loads(line)
                if f["control"] == CONTROL:
                    hosts[f["host"].split(".")[0].upper()] = f
        statuses: dict[str, int] = {}
        for f in hosts.values():
            statuses[f["status"]] = statuses.get(f["status"], 0) + 1
        bench_hosts = [h for h in hosts if re.fullmatch(r"B\d{5}", h)]
        first = hosts.get("B00000", {})
        got = ((first.get("source") or {}).get("gpo") or {}).get("name")
        want = expected_gpo(args)
    finally:
        ad.close()
    audit = rows[0]
    ok = (
        len(bench_hosts) == args.computers
        and got == want
        and audit["wall_s"] < LIMIT_S
        and audit["peak_rss_mb"] < LIMIT_MB
    )
    result = {
        "smbsign": __version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.release()}",
        "domain": {"computers": args.computers, "ous": args.ous, "gpos": args.gpos},
        "timings": timings,
        "runs": rows,
        "computers_judged": len(bench_hosts),
        "statuses": statuses,
        "b00000": {"expected_gpo": want, "deciding_gpo": got},
        "limits": {"wall_s": LIMIT_S, "peak_rss_mb": LIMIT_MB},
        "within_limits": ok,
    }
    name = "ad-quick" if args.quick else "ad"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        f"# ad audit benchmark ({args.computers} computers, {args.ous} OUs, {args.gpos} GPOs)",
        "",
        f"smbsign {__version__}; {result['machine']}; DC: lab Samba AD DC (own namespace).",
        "",
        "| tool | exit | wall (s) | CPU (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|",
        *(
            f"| {r['tool']} | {r['exit']} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} |"
            for r in rows
        ),
        "",
        f"Computers judged: {len(bench_hosts)}; statuses: {statuses}; B00000 decided by "
        f"{got!r} (expected {want!r}). Limits {LIMIT_S:.0f} s / {LIMIT_MB:.0f} MB: "
        f"{'met' if ok else 'NOT met'}.",
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(md))
    print("\n".join(md[6:]))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

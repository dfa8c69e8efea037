"""The checklist linter: compare imported checks with the catalog and with themselves (pure).

Codes (docs/policy.md; the upstream defects behind them are in DOMAIN.md 8):

- ``wrong-hive``: the title names the server (client) side but the rule reads
  ``LanmanWorkstation`` (``LanManServer``), e.g. Wazuh cis_win2016 16030/16031;
- ``inverted-value``: the title says 'Enabled' ('Disabled') but the check accepts only 0 (1)
  for a 0/1 setting, e.g. cis_win2016 16028 ``EnablePlainTextPassword -> 1``;
- ``contradicts-control``: the check accepts values smbsign's control fails (Tenable's
  server ``requiresecuritysignature`` = 0): legitimate for a non-CIS policy, but say so;
- ``duplicate-target``: a later check tests the same value the same way as an earlier one;
- ``absent-passes``: an absent value passes, but on the checklist's platform an absent value
  is not compliant, or its meaning depends on facts (defaults.yaml, DOMAIN.md 3). A check that
  *fails* an absent value is strict, not wrong (configuration conformance, DOMAIN.md 3.4);
- ``default-mismatch``: the default the checklist assumes (HardeningKitty ``DefaultValue``,
  EDCA "not set (default: 0)") differs from defaults.yaml on the checklist's platform;
- ``id-drift``: the catalog's framework file maps this check id to another control than the
  one its rule reads (renumbered ids, DOMAIN.md 8);
- ``mixed-targets``: one check tests a value's presence under one key and its data under
  another (cis_win2012_non_r2 34543);
- ``compliance-mapping`` (one per file): NIST SP 800-53 ids that share nothing with the
  catalog's for the same controls (cis_win2016 maps SMB signing to CM-8, asset inventory);
- ``import-problem``: something the importer could not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from smbsign.catalog import Catalog, resolve_default
from smbsign.catalog.schema import Control
from smbsign.importers import expect
from smbsign.importers.mapping import (
    NIST_KEYS,
    MappedCheck,
    cis_control,
    map_policy,
    nist_base,
    nist_ids,
)
from smbsign.importers.model import Absent, Expectation, ImportedPolicy, Target
from smbsign.importers.platforms import Platform, platform
from smbsign.model import HostFacts

_SERVER = re.compile(r"\b(network server|lanman ?server|smb server|on the server)\b", re.I)
_CLIENT = re.compile(r"\b(network client|lanman ?workstation|smb client|on the client)\b", re.I)
_STATE = re.compile(r"is set to '(enabled|disabled)'", re.I)
#: Every code with its usual severity (absent-passes and default-mismatch vary, see above).
SEVERITY = {
    "wrong-hive": "high",
    "absent-passes": "high",
    "default-mismatch": "high",
    "inverted-value": "high",
    "mixed-targets": "high",
    "contradicts-control": "medium",
    "id-drift": "medium",
    "import-problem": "medium",
    "duplicate-target": "low",
    "compliance-mapping": "low",
}


@dataclass(frozen=True, slots=True)
class LintFinding:
    code: str
    severity: str  # high / medium / low
    check_id: str  # "" for a finding about the whole file
    location: str
    message: str
    control: str = ""
    related: tuple[str, ...] = ()


def _side(setting: str) -> str:
    low = setting.lower()
    if "\\lanmanserver" in low:
        return "server"
    if "\\lanmanworkstation" in low:
        return "client"
    return ""


def title_side(title: str) -> str:
    """``server`` / ``client`` when the title names exactly one side, else ''."""
    server, client = bool(_SERVER.search(title)), bool(_CLIENT.search(title))
    return "server" if server and not client else "client" if client and not server else ""


def _applies(control: Control, host: HostFacts) -> bool:
    app = control.applies_to
    role_ok = host.role is None or host.role.value in app.roles
    build_ok = app.min_build is None or host.build is None or host.build >= app.min_build
    return "windows" in app.os_families and role_ok and build_ok


def _default_on(catalog: Catalog, control: Control, host: HostFacts) -> tuple[int | None, str]:
    """(default value as int or None when not known, explanation) for ``host``."""
    res = resolve_default(control.default_key or "", host, table=catalog.defaults)
    return (expect.parse_int(res.value) if res.known else None), res.reason


class _Linter:
    def __init__(self, policy: ImportedPolicy, catalog: Catalog) -> None:
        self.policy = policy
        self.catalog = catalog
        self.platform: Platform = platform(policy.platform)
        self.out: list[LintFinding] = []

    def add(
        self,
        code: str,
        mc: MappedCheck | None,
        message: str,
        *,
        control: str = "",
        related: tuple[str, ...] = (),
        severity: str = "",
    ) -> None:
        self.out.append(
            LintFinding(
                code,
                severity or SEVERITY.get(code, "medium"),
                mc.check.check_id if mc else "",
                mc.check.location if mc else "",
                message,
                control,
                related,
            )
        )

    def control_expect(self, control: Control, target: Target) -> Expectation | None:
        reg = control.check.registry
        return None if reg is None else expect.control_expectation(reg.expected, target.setting)

    # ------------------------------------------------------------------ per check

    def hive(self, mc: MappedCheck) -> bool:
        side = title_side(mc.check.title)
        via_cis = cis_control(self.catalog, self.policy.platform, mc.check.cis_id)
        if not side and len(via_cis) == 1:
            reg = self.catalog.controls[via_cis[0]].check.registry
            side = _side(reg.key) if reg else ""
        for target, control in mc.targets:
            actual = _side(target.setting)
            if side and actual and actual != side:
                cis = f"; CIS {mc.check.cis_id} is {', '.join(via_cis)}" if via_cis else ""
                key = target.key.rsplit("\\", 2)[-2] if "\\" in target.key else target.key
                self.add(
                    "wrong-hive",
                    mc,
                    f"titled as a {side}-side setting but reads {key}\\{target.value} "
                    f"(the {actual} side){cis}; smbsign maps it by what it reads: "
                    f"{control or 'no control'}",
                    control=control or "",
                )
                return True
        return False

    def values(self, mc: MappedCheck) -> None:
        state = _STATE.search(mc.check.title)
        for target, cid in mc.targets:
            if cid is None or target.expect.op == "other":
                continue
            control = self.catalog.controls[cid]
            ours = self.control_expect(control, target)
            if state and expect.is_boolean(target.setting) and target.expect.op == "equals":
                want = 1 if state[1].lower() == "enabled" else 0
                if target.expect.values[0] != want:
                    self.add(
                        "inverted-value",
                        mc,
                        f"title says '{state[1]}' but the check expects {target.value} = "
                        f"{target.expect.values[0]} ('{state[1]}' is {want}); smbsign's "
                        f"{cid} expects {ours.describe() if ours else '?'}",
                        control=cid,
                    )
                    continue
            if target.expect.op == "none":
                self.add(
                    "contradicts-control",
                    mc,
                    f"no value Windows gives meaning to passes: it expects {target.value} "
                    f"{target.expect.text or '?'}",
                    control=cid,
                )
            elif ours is not None and not target.expect.passing <= ours.passing:
                extra = sorted(target.expect.passing - ours.passing)
                self.add(
                    "contradicts-control",
                    mc,
                    f"expects {target.value} {target.expect.describe()} where smbsign's {cid} "
                    f"expects {ours.describe()}: it passes {', '.join(map(str, extra))}, which "
                    "the control fails (a policy may differ from CIS on purpose; make sure it "
                    "does)",
                    control=cid,
                )

    def absent(self, mc: MappedCheck) -> None:
        for target, cid in mc.targets:
            if cid is None:
                continue
            control = self.catalog.controls[cid]
            ours = self.control_expect(control, target)
            if ours is None or not control.default_key:
                continue
            hosts = [h for h in self.platform.hosts if _applies(control, h)]
            if target.stated_default is not None:
                self.stated_default(mc, target, control, ours, hosts)
            elif target.when_absent is Absent.PASS and target.expect.passing <= ours.passing:
                bad: dict[str, list[str]] = {}
                unsure: dict[str, list[str]] = {}
                for h in hosts:
                    value, why = _default_on(self.catalog, control, h)
                    if value is None:
                        unsure.setdefault(why, []).append(h.host)
                    elif value not in ours.passing:
                        bad.setdefault(f"{value} ({why})", []).append(h.host)
                if bad or unsure:
                    where = "; ".join(
                        f"{', '.join(names)}: {why}" for why, names in {**bad, **unsure}.items()
                    )
                    self.add(
                        "absent-passes",
                        mc,
                        f"an absent {target.value} passes, but on {self.platform.name} an absent "
                        f"value means {where}",
                        control=cid,
                        severity="high" if bad else "medium",
                    )

    def stated_default(
        self,
        mc: MappedCheck,
        target: Target,
        control: Control,
        ours: Expectation,
        hosts: Iterable[HostFacts],
    ) -> None:
        stated = target.stated_default
        differ = []
        false_pass = False
        for h in hosts:
            value, _why = _default_on(self.catalog, control, h)
            if value is not None and value != stated:
                differ.append(f"{h.host} default {value}")
                false_pass = false_pass or (stated in ours.passing and value not in ours.passing)
        if differ:
            effect = (
                "passes hosts that are not compliant"
                if false_pass
                else ("fails hosts that are compliant by default")
            )
            self.add(
                "default-mismatch",
                mc,
                f"assumes an absent {target.value} is {stated}; smbsign's defaults "
                f"(DOMAIN.md 3) say otherwise on {'; '.join(differ)}: it {effect}",
                control=control.id,
                severity="high" if false_pass else "low",
            )

    def drift(self, mc: MappedCheck) -> None:
        if mc.listed and set(mc.listed) != set(mc.controls):
            self.add(
                "id-drift",
                mc,
                f"the catalog ({mc.listed_as}) maps this id to {', '.join(mc.listed)} but its "
                f"rule reads {', '.join(t.value for t, _ in mc.targets) or 'no registry value'}"
                f" ({', '.join(mc.controls) or 'no control'}): the id means something else in "
                "this file (ids drift between releases, DOMAIN.md 8); mapped by what it reads",
                related=mc.listed,
            )

    def mixed(self, mc: MappedCheck) -> None:
        """One value name under several keys where one key is only tested for presence:
        the check's presence test and its data test look at different places."""
        by_name: dict[str, list[Target]] = {}
        for t, _ in mc.targets:
            by_name.setdefault(t.value.lower(), []).append(t)
        for ts in by_name.values():
            keys = sorted({t.key for t in ts})
            if len(keys) > 1 and any(t.expect.op == "any" for t in ts):
                self.add(
                    "mixed-targets",
                    mc,
                    f"tests {ts[0].value} under {len(keys)} keys ({'; '.join(keys)}): presence "
                    "under one, data under another",
                )

    # ------------------------------------------------------------------ whole file

    def duplicates(self, mapped: list[MappedCheck]) -> None:
        first: dict[tuple[object, ...], str] = {}
        for mc in mapped:
            for t, cid in mc.targets:
                if t.expect.op == "other":
                    continue
                sig = (t.setting.lower(), t.expect.passing, t.expect.op, t.when_absent)
                if sig in first and first[sig] != mc.check.check_id:
                    self.add(
                        "duplicate-target",
                        mc,
                        f"tests {t.value} {t.expect.describe()} exactly like check {first[sig]}",
                        control=cid or "",
                        related=(first[sig],),
                    )
                first.setdefault(sig, mc.check.check_id)

    def compliance(self, mapped: list[MappedCheck]) -> None:
        odd: list[str] = []
        theirs_all: set[str] = set()
        ours_all: set[str] = set()
        for mc in mapped:
            theirs = set(mc.check.compliance_ids(*NIST_KEYS))
            ours = {i for c in mc.controls for i in nist_ids(self.catalog, c)}
            if (
                theirs
                and ours
                and not {nist_base(i) for i in theirs} & {nist_base(i) for i in ours}
            ):
                odd.append(mc.check.check_id)
                theirs_all |= theirs
                ours_all |= ours
        if odd:
            self.add(
                "compliance-mapping",
                None,
                f"checks {', '.join(odd)} map to NIST SP 800-53 {', '.join(sorted(theirs_all))}; "
                f"the catalog maps the same controls to {', '.join(sorted(ours_all))} "
                "(DOMAIN.md 8)",
                related=tuple(odd),
            )

    def run(self) -> list[LintFinding]:
        for problem in self.policy.problems:
            self.add("import-problem", None, problem)
        mapped = map_policy(self.policy, self.catalog)
        for mc in mapped:
            for problem in mc.check.problems:
                self.add("import-problem", mc, problem)
            self.mixed(mc)
            wrong = self.hive(mc)
            self.values(mc)
            self.absent(mc)
            if not wrong:
                self.drift(mc)
        self.duplicates(mapped)
        self.compliance(mapped)
        order = {mc.check.check_id: i for i, mc in enumerate(mapped)}
        return sorted(self.out, key=lambda f: (order.get(f.check_id, len(order)), f.code))


def lint(policy: ImportedPolicy, catalog: Catalog) -> list[LintFinding]:
    """Every lint finding of ``policy``: per check in file order, then file-level ones."""
    return _Linter(policy, catalog).run()

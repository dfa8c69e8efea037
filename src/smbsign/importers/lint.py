"""The checklist linter: compare imported checks with the catalog and with themselves (pure).

Codes (docs/policy.md; the upstream defects behind them are in docs/reference.md §8):

- ``wrong-hive``: the check *is* a server (client) setting by an identity the catalog knows
  (its CIS id in the platform's CIS framework file, or the Security Options name its title
  quotes, the catalog's ``security_option.dsc_name``) but reads ``LanmanWorkstation``
  (``LanManServer``), e.g. Wazuh cis_win2016 16030/16031. Sides come from the catalog only
  (each control's ``side``, and the keys its controls read or write): loose words of a title
  ("... when it connects to an SMB server") claim nothing;
- ``inverted-value``: the title says 'Enabled' ('Disabled') but the check accepts only 0 (1)
  for a 0/1 setting, e.g. cis_win2016 16028 ``EnablePlainTextPassword -> 1``;
- ``contradicts-control``: the check accepts values smbsign's control fails (Tenable's
  server ``requiresecuritysignature`` = 0): legitimate for a non-CIS policy, but say so;
- ``duplicate-target``: a later check tests the same value the same way as an earlier one;
- ``absent-passes``: an absent value passes, but on the checklist's platform an absent value
  is not compliant, or its meaning depends on facts (defaults.yaml, reference.md §3). A check that
  *fails* an absent value is strict, not wrong (configuration conformance, docs/reference.md §3.4);
- ``default-mismatch``: the default the checklist assumes (HardeningKitty ``DefaultValue``,
  EDCA "not set (default: 0)") differs from defaults.yaml on the checklist's platform;
- ``id-drift``: the catalog's framework file maps this check id to another control than the
  one its rule reads (renumbered ids, docs/reference.md §8);
- ``mixed-targets``: one check tests a value's presence under one key and its data under
  another (cis_win2012_non_r2 34543);
- ``compliance-mapping`` (one per file): NIST SP 800-53 ids that share nothing with the
  catalog's for the same controls (cis_win2016 maps SMB signing to CM-8, asset inventory);
- ``absent-key-differs``: the check scores an absent key and an absent value (key present)
  differently (``not r:KEY`` without ``not r:KEY -> VALUE``), so what an unset value scores
  depends on whether its key exists: rule logic, one finding per check and key;
- ``import-problem``: something the importer could not read (each distinct problem once).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from smbsign.catalog import Catalog
from smbsign.catalog.schema import Control
from smbsign.catalog.values import side_of_setting
from smbsign.importers import expect
from smbsign.importers.catalog_index import CatalogIndex, HostDefault, catalog_index, name_key
from smbsign.importers.lint_finding import SEVERITY, LintFinding
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
from smbsign.regpath import setting_id

__all__ = ["SEVERITY", "LintFinding", "lint", "named_controls"]

_STATE = re.compile(r"is set to '(enabled|disabled)'", re.I)
_QUOTED = re.compile(r"'([^']{8,200})'")


def named_controls(title: str, catalog: Catalog | CatalogIndex) -> tuple[str, ...]:
    """Controls whose Security Options name (``desired.security_option.dsc_name``) the title
    quotes, or is, exactly; never a guess from loose words."""
    names = (catalog if isinstance(catalog, CatalogIndex) else catalog_index(catalog)).names
    quoted = [title, *_QUOTED.findall(title)]
    return tuple(dict.fromkeys(names[k] for q in quoted if (k := name_key(q)) in names))


class _Linter:
    def __init__(self, policy: ImportedPolicy, catalog: Catalog) -> None:
        self.policy = policy
        self.catalog = catalog
        self.index = catalog_index(catalog)  # what depends on the catalog only, built once
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
        return self.index.control_expectation(control, target.setting)

    # ------------------------------------------------------------------ per check

    def claimed(self, mc: MappedCheck) -> tuple[tuple[str, ...], list[str]]:
        """Controls the check *is*, by identity, and why (CIS id, quoted setting name)."""
        why: list[str] = []
        via_cis = cis_control(self.index, self.policy.platform, mc.check.cis_id)
        named = named_controls(mc.check.title, self.index)
        if via_cis and set(via_cis) == set(named):
            why.append(f"CIS {mc.check.cis_id} and its title's setting name are {', '.join(named)}")
        else:
            if via_cis:
                why.append(f"CIS {mc.check.cis_id} is {', '.join(via_cis)}")
            if named:
                why.append(f"its title names the setting of {', '.join(named)}")
        return tuple(dict.fromkeys((*via_cis, *named))), why

    def hive(self, mc: MappedCheck) -> bool:
        """A check that is a server (client) setting but reads the other side's key. Both sides
        come from the catalog's ``side``: the claimed controls' and, for each key the check
        reads, the side of the controls that read or write that key (``key_sides``)."""
        claimed, why = self.claimed(mc)
        controls = self.catalog.controls
        sides = {controls[c].side for c in claimed if controls[c].check.registry is not None}
        if len(sides) != 1:
            return False
        side = sides.pop()
        keys = self.index.sides
        wrong = [t for t, _ in mc.targets if side_of_setting(keys, t.setting) not in (None, side)]
        if not wrong:
            return False
        actual = side_of_setting(keys, wrong[0].setting)
        reads = "; ".join(f"{t.short} -> {c or 'no smbsign control'}" for t, c in mc.targets)
        self.add(
            "wrong-hive",
            mc,
            f"{' and '.join(why)}, a {side}-side setting, but it reads "
            f"{', '.join(t.short for t in wrong)} (the {actual} side); smbsign maps it by what "
            f"it reads: {reads}",
            control=next(iter(mc.controls), ""),
        )
        return True

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
            defaults = self.index.platform_defaults(control, self.platform)
            if target.stated_default is not None:
                self.stated_default(mc, target, control, ours, defaults)
            elif target.when_absent is Absent.PASS and target.expect.passing <= ours.passing:
                bad: dict[str, list[str]] = {}
                unsure: dict[str, list[str]] = {}
                for h, value, why in defaults:
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
        defaults: Iterable[HostDefault],
    ) -> None:
        stated = target.stated_default
        differ = []
        false_pass = False
        for h, value, _why in defaults:
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
                f"(docs/reference.md §3) say otherwise on {'; '.join(differ)}: it {effect}",
                control=control.id,
                severity="high" if false_pass else "low",
            )

    def split_absent(self, mc: MappedCheck) -> None:
        """One finding per key for the targets whose absent key and absent value score
        differently (Wazuh ``not r:KEY`` without ``not r:KEY -> VALUE``)."""
        by_key: dict[tuple[str, tuple[Absent, Absent]], list[tuple[Target, str | None]]] = {}
        for t, cid in mc.targets:
            if t.absent_split is not None:
                by_key.setdefault((setting_id(t.key, ""), t.absent_split), []).append((t, cid))
        for (_key, (key_absent, value_absent)), pairs in by_key.items():
            first = pairs[0][0]
            values = ", ".join(t.value for t, _ in pairs)
            controls = tuple(dict.fromkeys(c for _, c in pairs if c))
            self.add(
                "absent-key-differs",
                mc,
                f"an absent key ({first.short.rsplit(chr(92), 1)[0]}) {key_absent.verb} but an "
                f"absent value ({values}) with the key present {value_absent.verb}: what an "
                "unset value scores depends on whether its key exists (the rules test the key "
                "and the value separately); smbsign reads it as not stated",
                control=next(iter(controls), ""),
                related=controls[1:],
            )

    def drift(self, mc: MappedCheck) -> None:
        if mc.targets and mc.listed and set(mc.listed) != set(mc.controls):
            self.add(
                "id-drift",
                mc,
                f"the catalog ({mc.listed_as}) maps this id to {', '.join(mc.listed)} but its "
                f"rule reads {', '.join(t.value for t, _ in mc.targets)}"
                f" ({', '.join(mc.controls) or 'no smbsign control'}): the id means something "
                "else in this file (ids drift between releases, reference.md §8); mapped by what "
                "it reads",
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
            ours = {i for c in mc.controls for i in nist_ids(self.index, c)}
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
                "(docs/reference.md §8)",
                related=tuple(odd),
            )

    def run(self) -> list[LintFinding]:
        for problem in dict.fromkeys(self.policy.problems):
            self.add("import-problem", None, problem)
        mapped = map_policy(self.policy, self.catalog)
        for mc in mapped:
            for problem in dict.fromkeys(mc.check.problems):
                self.add("import-problem", mc, problem)
            self.split_absent(mc)
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

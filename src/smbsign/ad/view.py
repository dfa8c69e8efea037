"""The domain view pipeline: directory + SYSVOL in, findings per computer out (streaming).

:func:`load` reads what every computer shares (domain, SOMs, GPOs, groups, the files of the
linked GPOs, Exchange/SCCM hosts) once; :func:`audit` then walks the computers one at a time
(a generator: a domain of 100,000 computers is never held whole) and for each one

1. derives host facts from its object (:mod:`smbsign.ad.facts`);
2. builds its SOM chain (its OUs, the domain, the site when there is exactly one) and the
   ordered GPO list ([MS-GPOL] 3.2.5.1.3-3.2.5.1.5, :mod:`smbsign.ad.resolve`);
3. filters each GPO ([MS-GPOL] 3.2.5.1.6: computer settings disabled, functionality version,
   empty GPO, security filtering from the ACL against the computer's groups; 3.2.5.1.7: a WMI
   filter makes it uncertain);
4. picks the deciding GPO per setting and extension, and hands those values to the engine
   (:func:`smbsign.engine.evaluate.evaluate`) as GPO-layer evidence whose provenance carries
   ``gpo`` (GUID, name, link DN, enforced) -> ``source.gpo`` of the finding;
5. turns a verdict that rests on an uncertain GPO into ``unknown`` with the reason, and adds
   ``roles`` and the precedence explanation (which other GPOs set the value) as notes.

Resolution results are cached per (SOM chain, GPO status) pair, and verdicts per (resolution,
facts, errors), so computers of one OU with the same groups and OS cost one resolution and one
evaluation. With ``observations`` (the wire, ``--scan``) each computer is judged a second
time with its NEGOTIATE records and every finding gets ``drift`` (:mod:`smbsign.ad.drift`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from smbsign.ad.directory import (
    Computer,
    Domain,
    GpoObject,
    Groups,
    Soms,
    dns_of,
    iter_computers,
    parent_dn,
    read_domain,
    read_gpos,
    read_groups,
    read_role_hosts,
    read_soms,
    som_chain,
)
from smbsign.ad.drift import unresolvable, unresolved
from smbsign.ad.explain import control_settings, not_deciding
from smbsign.ad.facts import computer_facts, extra_roles, roles_of
from smbsign.ad.finish import Context, role_notes, with_drift_all
from smbsign.ad.ldap import Searcher
from smbsign.ad.resolve import (
    AppliedLink,
    Applies,
    Decision,
    GpoStatus,
    Som,
    candidates,
    decide,
    gpo_order,
)
from smbsign.ad.security import COMPUTER_WELL_KNOWN, ENTERPRISE_DCS, Token, security_status
from smbsign.ad.sysvol import FileReader, GpoFiles, load_gpo
from smbsign.engine.evaluate import evaluate
from smbsign.engine.types import CatalogLike

if TYPE_CHECKING:
    from smbsign.ad.wire import ScanSettings
from smbsign.model import (
    CollectError,
    Finding,
    GpoRef,
    HostFacts,
    Provenance,
    Role,
    ScanRecord,
    SettingValue,
)

KIND = "ad"
COMPUTER_POLICY_DISABLED = 0x2  # [MS-GPOL] 2.2.4 flags bit 1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What every computer of the domain shares."""

    domain: Domain
    soms: Soms
    gpos: Mapping[str, GpoObject]
    files: Mapping[str, GpoFiles]
    groups: Groups
    exchange: frozenset[str]
    sccm: frozenset[str]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HostResult:
    computer: Computer
    facts: HostFacts
    findings: tuple[Finding, ...]


def linked_guids(soms: Soms) -> list[str]:
    seen: dict[str, None] = {}
    for som in (*soms.by_dn.values(), *soms.sites):
        for link in som.links:
            if link.guid:  # disabled links too: their files explain why they do not decide
                seen[link.guid] = None
    return list(seen)


def load(searcher: Searcher, reader: FileReader | None) -> Snapshot:
    """Read the shared part of the domain; ``reader`` None skips SYSVOL (tests, listing)."""
    domain = read_domain(searcher)
    soms = read_soms(searcher, domain)
    gpos = read_gpos(searcher, domain)
    groups = read_groups(searcher, domain)
    exchange, sccm, notes = read_role_hosts(searcher, domain)
    files: dict[str, GpoFiles] = {}
    if reader is not None:
        for guid in linked_guids(soms):
            if guid in gpos:
                files[guid] = load_gpo(gpos[guid], reader)
                notes.extend(files[guid].notes)
    notes.extend(f"{dn}: {err}" for dn, err in soms.errors.items())
    return Snapshot(
        domain, soms, gpos, files, groups, frozenset(exchange), frozenset(sccm), tuple(notes)
    )


def gpo_status(gpo: GpoObject | None, files: GpoFiles | None, token: Token) -> GpoStatus:
    """[MS-GPOL] 3.2.5.1.6 filter evaluation and 3.2.5.1.7 WMI filters, for one computer."""
    if gpo is None:
        return GpoStatus(Applies.UNKNOWN, "the GPO object could not be read with this account")
    if gpo.flags is not None and gpo.flags & COMPUTER_POLICY_DISABLED:
        return GpoStatus(Applies.NO, f"its computer settings are disabled (flags {gpo.flags})")
    if gpo.functionality_version is not None and gpo.functionality_version != 2:
        return GpoStatus(
            Applies.NO, f"gPCFunctionalityVersion is {gpo.functionality_version}, not 2"
        )
    fs_version = files.gpt_version if files is not None else None
    if gpo.version == 0 and fs_version == 0:
        return GpoStatus(Applies.NO, "it is empty (directory and GPT.INI versions are 0)")
    st = security_status(gpo.security_descriptor, token)
    if st.applies is not Applies.YES:
        return st
    if gpo.wql_filter:
        return GpoStatus(
            Applies.UNKNOWN,
            f"GPO {gpo.name!r} has a WMI filter ({gpo.wql_filter[:80]}); whether it applies "
            "depends on the computer ([MS-GPOL] 3.2.5.1.7)",
        )
    return GpoStatus(Applies.YES)


def token_of(computer: Computer, snap: Snapshot, dc: bool) -> Token:
    sids = set(COMPUTER_WELL_KNOWN)
    if computer.sid:
        sids.add(computer.sid)
    groups = list(computer.member_of)
    if computer.primary_group is not None and snap.domain.sid:
        primary = f"{snap.domain.sid}-{computer.primary_group}"
        sids.add(primary)
        groups.extend(snap.groups.dn_of(primary))
    sids |= snap.groups.closure(tuple(groups))
    if dc:
        sids.add(ENTERPRISE_DCS)
    return Token(frozenset(sids), snap.domain.sid, computer.dns_name)


@dataclass(frozen=True, slots=True)
class _Resolved:
    decisions: tuple[Decision, ...]
    skipped: tuple[tuple[AppliedLink, GpoStatus], ...]
    why_not: Mapping[str, tuple[str, ...]]  # canonical setting -> GPOs that set it but do not apply


def _site(snap: Snapshot) -> tuple[list[Som], str]:
    linked = [s for s in snap.soms.sites if any(not lk.disabled for lk in s.links)]
    if len(snap.soms.sites) == 1:
        return [snap.soms.sites[0]], ""
    if linked:
        names = ", ".join(s.dn for s in linked[:3])
        return [], (
            f"GPOs are linked to sites ({names}) and the computer's site is not known from the "
            "directory ([MS-GPOL] 3.2.5.1.4); site GPOs were not considered"
        )
    return [], ""


def _ref(link: AppliedLink, name: str) -> GpoRef:
    return GpoRef(link.guid, name, link.som_dn, link.enforced)


def _host_values(
    host: str, decisions: Sequence[Decision]
) -> tuple[list[SettingValue], dict[Provenance, Decision]]:
    values: list[SettingValue] = []
    by_prov: dict[Provenance, Decision] = {}
    for d in decisions:
        ref = _ref(d.winner.link, d.winner.name)
        for v in d.values:
            prov = replace(v.provenance, gpo=ref)
            values.append(replace(v, host=host, provenance=prov))
            by_prov[prov] = d
    return values, by_prov


def audit(
    snap: Snapshot,
    catalog: CatalogLike,
    computers: Iterable[Computer],
    *,
    observations: Callable[[Computer], Sequence[ScanRecord]] | None = None,
) -> Iterator[HostResult]:
    """Findings per computer, one computer at a time."""
    cache: dict[tuple[object, ...], _Resolved] = {}
    judged_cache: dict[tuple[object, ...], tuple[Finding, ...]] = {}
    site, site_note = _site(snap)
    notes_by_role = role_notes(catalog)
    settings = control_settings(catalog)
    gpo_notes = {g: files.notes for g, files in snap.files.items() if files.notes}
    wire = frozenset(c for c, ctl in catalog.controls.items() if ctl.check.wire)
    for computer in computers:
        facts = computer_facts(
            computer.dns_name,
            computer.os_name,
            computer.os_version,
            computer.uac,
            computer.primary_group,
        )
        roles = roles_of(facts, extra_roles(computer.dns_name, snap.exchange, snap.sccm))
        chain, som_errors = som_chain(computer.dn, snap.soms)
        order = gpo_order([*chain, *site])
        token = token_of(computer, snap, facts.role is Role.DOMAIN_CONTROLLER)
        status = {
            a.guid: gpo_status(snap.gpos.get(a.guid), snap.files.get(a.guid), token) for a in order
        }
        key = (
            tuple(s.dn for s in chain),
            tuple((g, s.applies, s.reason) for g, s in status.items()),
        )
        resolved = cache.get(key)
        if resolved is None:
            names = {g: o.name for g, o in snap.gpos.items()}
            vals = {g: f.values for g, f in snap.files.items()}
            kept, dropped = candidates(order, status, names, vals)
            why = not_deciding([*chain, *site], dropped, names, vals)
            resolved = _Resolved(tuple(decide(kept)), tuple(dropped), why)
            if len(cache) > 4096:
                cache.clear()
            cache[key] = resolved
        host = computer.dns_name
        values, by_prov = _host_values(host, resolved.decisions)
        errors = [CollectError(host, computer.dn, KIND, e) for e in som_errors]
        if site_note:
            errors.append(CollectError(host, snap.domain.dn, KIND, site_note))
        for a in order:
            st = status[a.guid]
            gpo = snap.gpos.get(a.guid)
            if gpo is None:
                errors.append(
                    CollectError(
                        host, a.gpo_dn, KIND, f"GPO {{{a.guid}}} linked to {a.som_dn}: {st.reason}"
                    )
                )
                continue
            files = snap.files.get(a.guid)
            if files is not None and st.applies is not Applies.NO:
                errors.extend(replace(e, host=host) for e in files.errors)
        # same resolution, facts and errors -> same policy verdicts: judge the shape once
        shape = (key, replace(facts, host=""), tuple((e.path, e.message) for e in errors))
        judged = judged_cache.get(shape)
        if judged is None:
            judged = tuple(evaluate(values, (), facts, catalog, errors))
            if len(judged_cache) > 4096:
                judged_cache.clear()
            judged_cache[shape] = judged
        ctx = Context(
            host,
            by_prov,
            roles,
            notes_by_role,
            resolved.why_not,
            settings,
            gpo_notes,
            parent_dn(computer.dn),
        )
        done = ctx.finish(judged)
        if observations is not None:
            records = observations(computer)
            lookup_failed = unresolved(records)
            if lookup_failed is not None:
                done = tuple(
                    unresolvable(p, lookup_failed) if p.control in wire else p for p in done
                )
            else:
                final = ctx.finish(evaluate(values, records, facts, catalog, errors))
                done = with_drift_all(done, final, wire, facts)
        yield HostResult(computer, facts, done)


def audit_domain(
    searcher: Searcher,
    reader: FileReader | None,
    catalog: CatalogLike,
    scan: ScanSettings | None = None,
) -> tuple[Snapshot, Iterator[HostResult]]:
    """:func:`load` then :func:`audit` over the streamed computers (probed with ``scan``)."""
    snap = load(searcher, reader)
    computers = iter_computers(searcher, snap.domain)
    if scan is None:
        return snap, audit(snap, catalog, computers)
    from smbsign.ad.wire import probed

    chunks, lookup = probed(computers, scan, dns_of(snap.domain.dn))
    return snap, audit(snap, catalog, chunks, observations=lookup)

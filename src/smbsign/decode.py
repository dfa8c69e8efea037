"""Rebuild model objects from their published JSON shapes (``smbsign.serialize``).

The inverse of ``scan_record_to_dict`` / ``finding_to_dict``, used by the store to read
runs back. Derived fields (``relayable``, ``smb2.signing_required``) are recomputed, not
trusted. Bad shapes raise ``ParseError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smbsign.errors import ParseError
from smbsign.model import (
    ChannelBinding,
    Finding,
    GpoRef,
    Layer,
    LdapObservation,
    LdapSigning,
    Provenance,
    ScanRecord,
    ScanStatus,
    Smb1Observation,
    Smb1Signing,
    Smb2Observation,
    Status,
)


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def scan_record_from_dict(d: Mapping[str, Any]) -> ScanRecord:
    try:
        smb1 = d["smb1"]
        smb2 = d.get("smb2")
        return ScanRecord(
            target=str(d["target"]),
            port=int(d["port"]),
            status=ScanStatus(d["status"]),
            signing_required=d["signing_required"],
            smb1=Smb1Observation(
                offered=smb1["offered"],
                signing=Smb1Signing(smb1["signing"]) if smb1.get("signing") else None,
                security_mode=_opt_int(smb1.get("security_mode")),
                capabilities=_opt_int(smb1.get("capabilities")),
                reason=str(smb1.get("reason") or ""),
            ),
            smb2=None
            if smb2 is None
            else Smb2Observation(
                dialect=str(smb2["dialect"]),
                dialect_revision=int(smb2["dialect_revision"]),
                security_mode=int(smb2["security_mode"]),
                capabilities=int(smb2.get("capabilities") or 0),
                server_guid=str(smb2.get("server_guid") or ""),
                cipher=smb2.get("cipher"),
                signing_algorithm=smb2.get("signing_algorithm"),
            ),
            reason=str(d.get("reason") or ""),
            hostname=d.get("hostname"),
            transport=str(d.get("transport") or "direct_tcp"),
            elapsed_ms=float(d.get("elapsed_ms") or 0.0),
            ldap=_ldap_from_dict(d.get("ldap")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParseError(f"not a scan record: {exc!r}") from None


def _ldap_from_dict(d: Mapping[str, Any] | None) -> LdapObservation | None:
    """The optional ``ldap`` object of a scan record (schema 1.1, issue #12)."""
    if d is None:
        return None
    method = str(d["method"])
    if method not in ("unauthenticated", "authenticated"):
        raise ValueError(f"ldap.method {method!r}")
    return LdapObservation(
        signing=LdapSigning(d["signing"]),
        channel_binding=ChannelBinding(d["channel_binding"]),
        method=method,
        reason=str(d.get("reason") or ""),
    )


def provenance_from_dict(d: Mapping[str, Any] | None) -> Provenance | None:
    if d is None:
        return None
    return Provenance(
        kind=str(d["kind"]),
        path=str(d["path"]),
        location=str(d["location"]),
        layer=Layer(d["layer"]),
        gpo=_gpo_from_dict(d.get("gpo")),
    )


def _gpo_from_dict(d: Mapping[str, Any] | None) -> GpoRef | None:
    if d is None:
        return None
    return GpoRef(str(d["guid"]), str(d["name"]), str(d["link"]), bool(d["enforced"]))


def finding_from_dict(d: Mapping[str, Any]) -> Finding:
    try:
        return Finding(
            host=str(d["host"]),
            control=str(d["control"]),
            status=Status(d["status"]),
            observed=d.get("observed"),
            expected=str(d.get("expected") or ""),
            source=provenance_from_dict(d.get("source")),
            reason=str(d.get("reason") or ""),
            title=str(d.get("title") or ""),
            severity=str(d.get("severity") or ""),
            weight=int(d.get("weight") or 0),
            notes=tuple(str(n) for n in d.get("notes") or ()),
            roles=tuple(str(r) for r in d.get("roles") or ()),
            drift=d.get("drift") if isinstance(d.get("drift"), bool) else None,
            container=d.get("container") if isinstance(d.get("container"), str) else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParseError(f"not a finding: {exc!r}") from None

"""``Get-SmbServerConfiguration`` / ``Get-SmbClientConfiguration`` as JSON, docs/reference.md §6.8.

Accepted shapes (docs/collectors.md gives the exact PowerShell command):

- the smbsign shape ``{"Server": {...}, "Client": {...}, "Facts": {...}}``;
- plain ``Get-Smb*Configuration | Select-Object ... | ConvertTo-Json`` output, server or
  client told apart by ``CimClass`` when present, else by properties only one cmdlet has;
- a JSON array of either (``Invoke-Command`` against several hosts adds ``PSComputerName``).

Booleans may be JSON booleans or the strings ``"True"``/``"False"``. A missing, ``null`` or
empty property is "not reported" and yields no value (older builds lack ``Audit*`` and
``Smb2Dialect*``). Setting ids: ``pwsh:Get-SmbServerConfiguration:<Property>``; layer
``effective`` (the running service's view); location is a JSON path. The host named in the
file (``PSComputerName``, ``Facts.CSName``) overrides the host derived from the file name.
Facts: ``CurrentBuild``, ``EditionID``, ``ProductName``, ``ProductType`` (1 workstation,
2 domain controller, 3 server: member unless ``PartOfDomain`` is false), docs/reference.md §3.5.
"""

from __future__ import annotations

import json
import re
from typing import Any

from smbsign.codecs.text import decode_text, text_head
from smbsign.collect.base import CollectResult, failed
from smbsign.errors import ParseError
from smbsign.model import CollectError, HostFacts, Layer, OsFamily, Provenance, Role, SettingValue

KIND = "pwsh_json"
SERVER = "Get-SmbServerConfiguration"
CLIENT = "Get-SmbClientConfiguration"

#: Properties collected by the documented command (docs/reference.md §6.8), canonical casing.
SERVER_PROPERTIES = (
    "RequireSecuritySignature", "EnableSecuritySignature", "EnableSMB1Protocol",
    "EnableSMB2Protocol", "EncryptData", "RejectUnencryptedAccess", "SmbServerNameHardeningLevel",
    "AuditClientDoesNotSupportSigning", "AuditClientDoesNotSupportEncryption", "AuditSmb1Access",
    "AuditInsecureGuestLogon", "Smb2DialectMin", "Smb2DialectMax",
    "InvalidAuthenticationDelayTimeInMs",
)  # fmt: skip
CLIENT_PROPERTIES = (
    "RequireSecuritySignature", "EnableSecuritySignature", "RequireEncryption",
    "EnableInsecureGuestLogons", "AuditServerDoesNotSupportSigning",
    "AuditServerDoesNotSupportEncryption", "AuditInsecureGuestLogon", "BlockNTLM",
    "Smb2DialectMin", "Smb2DialectMax",
)  # fmt: skip
_SERVER_ONLY = frozenset(
    p.lower() for p in (*SERVER_PROPERTIES, "AnnounceServer", "AutoShareServer", "ServerHidden",
                        "NullSessionPipes", "EnableOplocks", "Smb2CreditsMax", "EnableLeasing")
) - {p.lower() for p in CLIENT_PROPERTIES}  # fmt: skip
_CLIENT_ONLY = frozenset(
    p.lower() for p in (*CLIENT_PROPERTIES, "DirectoryCacheLifetime", "FileInfoCacheLifetime",
                        "UseOpportunisticLocking", "WindowSizeThreshold", "KeepConn")
) - {p.lower() for p in SERVER_PROPERTIES}  # fmt: skip
_CANONICAL = {p.lower(): p for p in (*SERVER_PROPERTIES, *CLIENT_PROPERTIES)}
_HOUSEKEEPING = frozenset(
    {"cimclass", "ciminstanceproperties", "cimsystemproperties", "pscomputername",
     "psshowcomputername", "runspaceid"}
)  # fmt: skip
_NAME_KEYS = ("PSComputerName", "CSName", "ComputerName")


#: A cmdlet property (or the smbsign Server/Client key) as a JSON key with a value: plain
#: ``Select-Object`` output may hold any of the properties, e.g. only the 24H2 audit ones.
_SNIFF = re.compile(
    r'"('
    + "|".join(sorted({"server", "client", *_CANONICAL, *_SERVER_ONLY, *_CLIENT_ONLY}))
    + r')"\s*:\s*[{\[tf"0-9]'
    r"|smb(server|client)configuration"
)


def sniff(data: bytes, name: str) -> bool:
    """JSON whose properties are cmdlet properties (or the smbsign Server/Client shape)."""
    head = text_head(data, 8192).lstrip("\ufeff \t\r\n")
    return head.startswith(("{", "[")) and bool(_SNIFF.search(head))


def _get(obj: dict[str, Any], name: str) -> Any:
    low = name.lower()
    for key, value in obj.items():
        if key.lower() == low:
            return value
    return None


def _scalar(value: Any) -> tuple[bool | int | str, str] | None:
    if isinstance(value, bool):
        return value, "bool"
    if isinstance(value, int):
        return value, "int"
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return text.lower() == "true", "bool"
        return (text, "str") if text else None
    return None  # null, float, nested object: not reported


def _which(obj: dict[str, Any]) -> str | None:
    cim = _get(obj, "CimClass")
    cim_text = json.dumps(cim).lower() if cim is not None else ""
    if "smbserverconfiguration" in cim_text:
        return SERVER
    if "smbclientconfiguration" in cim_text:
        return CLIENT
    keys = {k.lower() for k, v in obj.items() if v is not None}
    server, client = bool(keys & _SERVER_ONLY), bool(keys & _CLIENT_ONLY)
    if server != client:
        return SERVER if server else CLIENT
    return None


def _name(*objs: Any) -> str | None:
    for obj in objs:
        if isinstance(obj, dict):
            for key in _NAME_KEYS:
                value = _get(obj, key)
                if isinstance(value, str) and value.strip():
                    return value.strip()
    return None


def _facts(host: str, facts: dict[str, Any], where: str) -> HostFacts | None:
    build_raw = _get(facts, "CurrentBuild") or _get(facts, "CurrentBuildNumber")
    text = str(build_raw).strip()
    build = int(text) if text.isascii() and text.isdigit() else None  # not '²' (isdigit)
    edition = _get(facts, "EditionID")
    product = _get(facts, "ProductName") or _get(facts, "Caption")
    ptype = str(_get(facts, "ProductType")).strip()
    domain = _scalar(_get(facts, "PartOfDomain"))
    role = {"1": Role.WORKSTATION, "2": Role.DOMAIN_CONTROLLER}.get(ptype)
    if ptype == "3":
        role = Role.STANDALONE if domain == (False, "bool") else Role.MEMBER_SERVER
    return HostFacts(
        host=host,
        os_family=OsFamily.WINDOWS,
        build=build,
        edition=edition if isinstance(edition, str) and edition else None,
        role=role,
        product_name=product if isinstance(product, str) and product else None,
        sources=(where,),
    )


def _values(
    host: str, cmdlet: str, obj: dict[str, Any], path: str, where: str
) -> list[SettingValue]:
    out: list[SettingValue] = []
    for key, raw in obj.items():
        if key.lower() in _HOUSEKEEPING:
            continue
        scalar = _scalar(raw)
        if scalar is None:
            continue
        prop = _CANONICAL.get(key.lower(), key)
        prov = Provenance(KIND, path, f"{where}.{key}", Layer.EFFECTIVE)
        out.append(SettingValue(host, f"pwsh:{cmdlet}:{prop}", scalar[0], scalar[1], prov))
    return out


def _one(item: Any, path: str, host: str, where: str) -> tuple[str, CollectResult]:
    if not isinstance(item, dict):
        return host, failed(host, path, KIND, f"{where}: expected a JSON object")
    server, client, facts = _get(item, "Server"), _get(item, "Client"), _get(item, "Facts")
    host = _name(item, facts, server, client) or host
    values: list[SettingValue] = []
    errors: list[CollectError] = []
    if isinstance(server, dict) or isinstance(client, dict) or isinstance(facts, dict):
        for cmdlet, part, label in ((SERVER, server, "Server"), (CLIENT, client, "Client")):
            if isinstance(part, dict):
                values += _values(host, cmdlet, part, path, f"{where}.{label}")
    else:
        which = _which(item)
        if which is None:
            msg = f"{where}: cannot tell Get-SmbServerConfiguration from client output"
            errors.append(CollectError(host, path, KIND, msg))
        else:
            values += _values(host, which, item, path, where)
    fact = _facts(host, facts, f"{path} {where}.Facts") if isinstance(facts, dict) else None
    return host, CollectResult(values=tuple(values), facts=fact, errors=tuple(errors))


def collect_hosts(data: bytes, path: str, host: str) -> list[tuple[str, CollectResult]]:
    """One ``(host, result)`` per object in the file; never raises."""
    try:
        doc = json.loads(decode_text(data))
    except (ParseError, ValueError, RecursionError) as exc:
        return [(host, failed(host, path, KIND, f"not valid JSON: {str(exc)[:120]}"))]
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        return [(host, failed(host, path, KIND, "empty JSON array"))]
    return [_one(item, path, host, f"$[{i}]" if isinstance(doc, list) else "$")
            for i, item in enumerate(items)]  # fmt: skip


def collect(data: bytes, path: str, host: str) -> CollectResult:
    """All values of the file (each carries its own host); facts only if one host."""
    parts = collect_hosts(data, path, host)
    facts = [r.facts for _, r in parts if r.facts is not None]
    return CollectResult(
        values=tuple(v for _, r in parts for v in r.values),
        facts=facts[0] if len(facts) == 1 else None,
        errors=tuple(e for _, r in parts for e in r.errors),
    )

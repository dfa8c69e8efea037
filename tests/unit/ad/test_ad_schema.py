"""The additive 1.1 finding fields (source.gpo, roles, drift): serialised, validated, read back."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema

from smbsign.model import Finding, GpoRef, Layer, Provenance, Status
from smbsign.report.decode import finding_from_dict
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict

SCHEMA = json.loads(
    (resources.files("smbsign") / "schemas" / "finding.schema.json").read_text(encoding="utf-8")
)

GPO = GpoRef("31B2F340-016D-11D2-945F-00C04FB984F9", "Signing", "OU=Servers,DC=lab,DC=test", True)


def finding(gpo: GpoRef | None, roles: tuple[str, ...], drift: bool | None) -> Finding:
    src = Provenance("gpttmpl", "\\\\dc\\SysVol\\x\\GptTmpl.inf", "line 4", Layer.GPO, gpo)
    return Finding(
        "pc1",
        "smb-server-signing-required",
        Status.PASS,
        1,
        "1",
        src,
        "r",
        severity="high",
        roles=roles,
        drift=drift,
    )


def test_round_trip_and_schema() -> None:
    assert SCHEMA_VERSION == "1.1"
    for f in (finding(GPO, ("member_server", "exchange_server"), None), finding(None, (), False)):
        d = finding_to_dict(f)
        jsonschema.validate(d, SCHEMA)
        assert finding_from_dict(json.loads(json.dumps(d))) == f
    d = finding_to_dict(finding(GPO, ("domain_controller",), True))
    assert d["source"]["gpo"] == {
        "guid": GPO.guid,
        "name": "Signing",
        "link": "OU=Servers,DC=lab,DC=test",
        "enforced": True,
    }
    assert d["roles"] == ["domain_controller"] and d["drift"] is True


def test_a_1_0_finding_still_reads() -> None:
    d = finding_to_dict(finding(None, (), None))
    del d["roles"], d["drift"], d["source"]["gpo"]
    back = finding_from_dict(d)
    assert back.roles == () and back.drift is None and back.source is not None
    assert back.source.gpo is None

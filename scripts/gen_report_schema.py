"""Generate src/smbsign/schemas/report.schema.json (run from the repository root).

The scan-record and finding parts are copied from scan-record.schema.json and
finding.schema.json (their owners' published shapes) with ``additionalProperties`` lifted,
so that the report document closes them with ``unevaluatedProperties`` and the JSONL lines
can add ``type`` and ``run_id``. ``tests/unit/report`` checks the file is up to date.
"""

import copy
import json
import sys
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[1] / "src" / "smbsign" / "schemas"


IMPORTED: dict = {}


def _rewrite(node: object, prefix: str) -> object:
    if isinstance(node, dict):
        out = {k: _rewrite(v, prefix) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = "#/$defs/" + prefix + ref[len("#/$defs/") :]
        return out
    if isinstance(node, list):
        return [_rewrite(v, prefix) for v in node]
    return node


def _open_def(name: str, key: str) -> dict:
    """``key`` of ``name``.schema.json, open (no additionalProperties); its own $defs
    are imported under the prefix ``<name>.``."""
    doc = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    prefix = name + "."
    for k, v in doc["$defs"].items():
        if k not in ("document", "summary", key):
            IMPORTED[prefix + k] = _rewrite(copy.deepcopy(v), prefix)
    d = _rewrite(copy.deepcopy(doc["$defs"][key]), prefix)
    d.pop("additionalProperties", None)
    return d


NULLSTR = {"type": ["string", "null"]}
NULLINT = {"type": ["integer", "null"]}
STATUS = {"enum": ["pass", "fail", "unknown", "not_applicable", "error"]}
TS = {
    "type": "string",
    "format": "date-time",
    "pattern": "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$",
}
counts = {
    "type": "object",
    "additionalProperties": False,
    "required": ["pass", "fail", "error", "unknown", "not_applicable"],
    "properties": {
        k: {"type": "integer", "minimum": 0}
        for k in ["pass", "fail", "error", "unknown", "not_applicable"]
    },
}


def obj(props, required=None):
    return {
        "type": "object",
        "required": required if required is not None else list(props),
        "properties": props,
    }


scan_fields = _open_def("scan-record", "record")
finding_fields = _open_def("finding", "finding")
summary = {
    **obj(
        {
            "hosts": {"type": "integer", "minimum": 0},
            "smb_hosts": {"type": "integer", "minimum": 0},
            "relayable": {"type": "integer", "minimum": 0},
            "required": {"type": "integer", "minimum": 0},
            "unknown": {"type": "integer", "minimum": 0},
            "findings": {
                "type": "object",
                "propertyNames": STATUS,
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        }
    ),
    "additionalProperties": False,
}
run_fields = obj(
    {
        "id": {"type": "string", "pattern": "^[a-z][0-9a-z]{3,31}$"},
        "seq": {"type": ["integer", "null"], "minimum": 1},
        "kind": {"enum": ["scan", "audit"]},
        "started": TS,
        "finished": TS,
        "tool_version": {"type": "string"},
        "argv": {"type": "array", "items": {"type": "string"}},
        "summary": {"$ref": "#/$defs/summary"},
        "complete": {"type": "boolean"},
    }
)
score_fields = obj(
    {
        "framework": {"type": "string"},
        "name": {"type": "string"},
        "version": {"type": "string"},
        "score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
        "passed_weight": {"type": "integer", "minimum": 0},
        "scored_weight": {"type": "integer", "minimum": 0},
        "counts": {"$ref": "#/$defs/counts"},
    }
)


def closed(ref):
    return {"$ref": ref, "unevaluatedProperties": False}


def line(ref, typ, extra):
    return {
        "$ref": ref,
        "properties": {"type": {"const": typ}, **extra},
        "required": ["type", *extra],
        "unevaluatedProperties": False,
    }


RUNID = {"run_id": {"type": "string"}}
req_status = {"enum": ["pass", "fail", "unknown", "not_applicable", "error", "not_assessed"]}
change = {
    **obj(
        {
            "scope": {"enum": ["host", "control"]},
            "host": {"type": "string"},
            "item": {"type": "string"},
            "before": NULLSTR,
            "after": NULLSTR,
        }
    ),
    "additionalProperties": False,
}
schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://smbsign.invalid/schemas/report.schema.json",
    "title": "smbsign report (schema_version 1.x)",
    "description": "The JSON report of one smbsign run (smbsign report RUN --format json). "
    "$defs also describe the JSONL lines, the compliance view, history and diff documents. "
    "See docs/schema.md, section 'report'.",
    "type": "object",
    "required": ["schema_version", "run", "records", "findings", "scores"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"type": "string", "pattern": "^1\\.\\d+$"},
        "run": {"$ref": "#/$defs/run"},
        "records": {"type": "array", "items": {"$ref": "#/$defs/scan_record"}},
        "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
        "scores": {"type": "array", "items": {"$ref": "#/$defs/score"}},
    },
    "$defs": {
        "scan_record_fields": scan_fields,
        "scan_record": closed("#/$defs/scan_record_fields"),
        "finding_fields": finding_fields,
        "finding": closed("#/$defs/finding_fields"),
        "summary": summary,
        "counts": counts,
        "run_fields": run_fields,
        "run": closed("#/$defs/run_fields"),
        "score_fields": score_fields,
        "score": closed("#/$defs/score_fields"),
        "jsonl_line": {
            "oneOf": [
                line(
                    "#/$defs/run_fields",
                    "run",
                    {"schema_version": {"type": "string", "pattern": "^1\\.\\d+$"}},
                ),
                line("#/$defs/scan_record_fields", "record", RUNID),
                line("#/$defs/finding_fields", "finding", RUNID),
                line("#/$defs/score_fields", "score", RUNID),
            ]
        },
        "compliance": {
            **obj(
                {
                    "schema_version": {"type": "string"},
                    "run_id": {"type": "string"},
                    "framework": {
                        **obj(
                            {
                                "id": {"type": "string"},
                                "name": {"type": "string"},
                                "version": {"type": "string"},
                                "url": {"type": "string"},
                            }
                        ),
                        "additionalProperties": False,
                    },
                    "score": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/score"}]},
                    "requirements": {
                        "type": "array",
                        "items": {
                            **obj(
                                {
                                    "requirement": {"type": "string"},
                                    "title": {"type": "string"},
                                    "controls": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "minItems": 1,
                                    },
                                    "status": req_status,
                                    "counts": {"$ref": "#/$defs/counts"},
                                    "hosts": {
                                        "type": "array",
                                        "items": {
                                            **obj(
                                                {"host": {"type": "string"}, "status": req_status}
                                            ),
                                            "additionalProperties": False,
                                        },
                                    },
                                    "detail": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                }
                            ),
                            "additionalProperties": False,
                        },
                    },
                }
            ),
            "additionalProperties": False,
        },
        "history": {
            **obj(
                {
                    "store": {"type": "string"},
                    "runs": {"type": "array", "items": {"$ref": "#/$defs/history_run"}},
                }
            ),
            "additionalProperties": False,
        },
        "history_run": {"$ref": "#/$defs/run_fields", "unevaluatedProperties": False},
        "diff": {
            **obj(
                {
                    "a": {"type": "string"},
                    "b": {"type": "string"},
                    "worse": {"type": "boolean"},
                    "a_complete": {"type": "boolean"},
                    "b_complete": {"type": "boolean"},
                    **{
                        c: {"type": "array", "items": {"$ref": "#/$defs/change"}}
                        for c in ["regressed", "fixed", "appeared", "vanished", "changed"]
                    },
                }
            ),
            "additionalProperties": False,
        },
        "change": change,
        **IMPORTED,
    },
}
TEXT = json.dumps(schema, indent=2) + "\n"

if __name__ == "__main__":
    out = SCHEMAS / "report.schema.json"
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if out.read_text() == TEXT else 1)
    out.write_text(TEXT)

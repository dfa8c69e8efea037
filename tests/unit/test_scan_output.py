"""Scan writers, the tally behind the exit code and the relay list (smbsign.scan.output)."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from smbsign.model import ScanRecord, ScanStatus, Smb1Observation, Smb1Signing, Smb2Observation
from smbsign.scan.output import (
    CSV_COLUMNS,
    CsvWriter,
    JsonlWriter,
    JsonWriter,
    Tally,
    load_schema,
    make_writer,
    relay_list_bytes,
)
from smbsign.scan.target_spec import parse_spec
from smbsign.serialize import scan_record_to_dict

SMB1_OFF = Smb1Observation(offered=False, reason="NT LM 0.12 refused (DialectIndex 0xFFFF)")


def smb2(mode: int) -> Smb2Observation:
    return Smb2Observation(
        "3.1.1",
        0x0311,
        mode,
        0x2F,
        "6b1c2e0a-0000-0000-0000-000000000000",
        "AES-128-GCM",
        "AES-CMAC",
    )


def ok(
    target: str,
    required: bool,
    *,
    port: int = 445,
    hostname: str | None = None,
    smb1: Smb1Observation = SMB1_OFF,
    mode: int | None = None,
) -> ScanRecord:
    sec = mode if mode is not None else (0x03 if required else 0x01)
    return ScanRecord(
        target,
        port,
        ScanStatus.OK,
        required,
        smb1,
        smb2(sec),
        reason="SMB2 3.1.1 signing ...",
        hostname=hostname,
        transport="netbios" if port == 139 else "direct_tcp",
        elapsed_ms=3.25,
    )


def failed(
    target: str,
    status: ScanStatus,
    reason: str,
    *,
    hostname: str | None = None,
    smb1: Smb1Observation | None = None,
) -> ScanRecord:
    return ScanRecord(
        target,
        445,
        status,
        None,
        smb1 or Smb1Observation(offered=None),
        None,
        reason=reason,
        hostname=hostname,
    )


SMB1_ONLY_DISABLED = ScanRecord(
    "10.0.0.20",
    139,
    ScanStatus.OK,
    False,
    Smb1Observation(True, Smb1Signing.DISABLED, 0x03, 0xE3FD, "SMB1 NT LM 0.12 accepted"),
    None,
    reason="no SMB2 (SMB1 only); SMB1 offered with signing disabled",
    transport="netbios",
)

RECORDS = [
    ok("10.0.0.10", True, hostname="dc1.corp"),
    ok("10.0.0.2", False),
    ok("10.0.0.2", False, port=139),  # same host on another port: listed once
    ok("fe80::1%lo", False),
    ok("2001:db8::5", False, mode=0x00),
    SMB1_ONLY_DISABLED,
    failed("10.0.0.3", ScanStatus.CLOSED, "closed: connection refused"),
    failed("10.0.0.4", ScanStatus.FILTERED, "filtered: no answer within 2 s"),
    failed("10.0.0.5", ScanStatus.ERROR, "unreachable: No route to host"),
    failed("10.0.0.6", ScanStatus.ERROR, "read_timeout"),
    failed("10.0.0.7", ScanStatus.NOT_SMB, "not_smb: not SMB (first bytes 48545450)"),
    failed(
        "gone.corp",
        ScanStatus.ERROR,
        "resolve_failed: Name or service not known",
        hostname="gone.corp",
    ),
]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded = load_schema()
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def document_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "$ref": "#/$defs/document"})


# --------------------------------------------------------------------------- schema


def test_every_sample_record_validates(schema: dict[str, Any]) -> None:
    for rec in RECORDS:
        jsonschema.validate(scan_record_to_dict(rec), schema)


@pytest.mark.parametrize(
    "mutation",
    [
        {"relayable": True},  # an unknown host is never relayable
        {"signing_required": False},  # a verdict without status ok
        {"status": "vulnerable"},
        {"port": 0},
        {
            "smb1": {
                "offered": False,
                "signing": "disabled",
                "security_mode": 0,
                "capabilities": 0,
                "reason": "",
            }
        },
        {"extra": 1},
    ],
)
def test_schema_rejects_inconsistent_records(
    schema: dict[str, Any], mutation: dict[str, Any]
) -> None:
    data = {**scan_record_to_dict(RECORDS[6]), **mutation}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_schema_requires_relayable_for_not_required(schema: dict[str, Any]) -> None:
    data = {**scan_record_to_dict(RECORDS[1]), "relayable": False}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_docs_embed_the_same_schema() -> None:
    """docs/schema.md carries the schema file verbatim as a fenced JSON block."""
    doc = (Path(__file__).parents[2] / "docs" / "schema.md").read_text()
    start = doc.index('"$id": "https://smbsign.invalid/schemas/scan-record.schema.json"')
    block_start = doc.rindex("```json\n", 0, start) + len("```json\n")
    block = doc[block_start : doc.index("```", start)]
    assert json.loads(block) == load_schema()


# -------------------------------------------------------------------------- writers


def test_jsonl_one_valid_object_per_line_flushed(tmp_path: Path, schema: dict[str, Any]) -> None:
    path = tmp_path / "out.jsonl"
    with path.open("w") as fh:
        writer = JsonlWriter(fh)
        writer.write(RECORDS[0])
        assert json.loads(path.read_text())["target"] == "10.0.0.10"  # flushed at once
        for rec in RECORDS[1:]:
            writer.write(rec)
        writer.close(Tally().summary(complete=True))
    lines = path.read_text().splitlines()
    assert len(lines) == len(RECORDS)
    for line, rec in zip(lines, RECORDS, strict=True):
        obj = json.loads(line)
        jsonschema.validate(obj, schema)
        assert obj == scan_record_to_dict(rec)


@pytest.mark.parametrize("complete", [True, False])
def test_json_document_valid_complete_or_not(schema: dict[str, Any], complete: bool) -> None:
    out = io.StringIO()
    tally = Tally()
    writer = JsonWriter(out)
    for rec in RECORDS:
        tally.add(rec)
        writer.write(rec)
    writer.close(tally.summary(complete=complete))
    doc = json.loads(out.getvalue())
    document_validator(schema).validate(doc)
    assert doc["complete"] is complete
    assert doc["kind"] == "smbsign.scan"
    assert [r["target"] for r in doc["records"]] == [r.target for r in RECORDS]  # as completed
    assert doc["summary"]["signing_not_required"] == 5
    assert doc["summary"]["statuses"]["ok"] == 6


def test_json_document_with_no_records(schema: dict[str, Any]) -> None:
    out = io.StringIO()
    JsonWriter(out).close(Tally().summary(complete=False))
    doc = json.loads(out.getvalue())
    document_validator(schema).validate(doc)
    assert doc["records"] == []


def test_csv_columns_and_rows() -> None:
    out = io.StringIO()
    writer = CsvWriter(out)
    for rec in RECORDS:
        writer.write(rec)
    writer.close({})
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    issue_columns = [
        "target",
        "hostname",
        "port",
        "transport",
        "status",
        "signing_required",
        "smb1_offered",
        "smb1_signing",
        "smb1_security_mode",
        "smb2_dialect",
        "smb2_security_mode",
        "smb2_signing_required",
        "reason",
    ]
    assert [c for c in CSV_COLUMNS if c in issue_columns] == issue_columns
    assert len(rows) == len(RECORDS)
    first = rows[0]
    assert (first["target"], first["hostname"], first["signing_required"]) == (
        "10.0.0.10",
        "dc1.corp",
        "true",
    )
    assert (first["smb2_dialect"], first["smb2_security_mode"], first["smb1_offered"]) == (
        "3.1.1",
        "3",
        "false",
    )
    smb1_only = rows[5]
    assert smb1_only["smb1_signing"] == "disabled"
    assert smb1_only["smb2_dialect"] == ""  # smb2 null -> empty cells
    assert smb1_only["relayable"] == "true"
    closed = rows[6]
    assert closed["signing_required"] == ""  # null, never "false"
    assert closed["relayable"] == "false"


def test_csv_neutralises_formula_cells() -> None:
    out = io.StringIO()
    CsvWriter(out).write(failed("10.0.0.1", ScanStatus.ERROR, '=HYPERLINK("x")'))
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["reason"] == '\'=HYPERLINK("x")'


def test_table_lists_answering_hosts_only() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, no_color=True)
    writer = make_writer("table", out, console=console)
    for rec in RECORDS:
        writer.write(rec)
    writer.close({})
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["TARGET", "PORT", "STATUS", "SIGNING", "DIALECT", "SMB1", "REASON"]
    body = "\n".join(lines[1:])
    assert "10.0.0.10 (dc1.corp)" in body
    assert "NOT required" in body
    assert "on, signing disabled" in body
    assert "read_timeout" in body and "not_smb" in body and "resolve_failed" in body
    for dead in ("10.0.0.3", "10.0.0.4", "10.0.0.5"):  # closed, filtered, unreachable
        assert dead not in body
    assert len(lines) == 1 + len(RECORDS) - 3


def test_table_without_answers_prints_nothing() -> None:
    out = io.StringIO()
    writer = make_writer("table", out)
    writer.write(RECORDS[6])
    writer.close({})
    assert out.getvalue() == ""


# ------------------------------------------------------------- tally and relay list


def tally_of(*records: ScanRecord) -> Tally:
    tally = Tally()
    for rec in records:
        tally.add(rec)
    return tally


def test_exit_codes() -> None:
    required, not_required = RECORDS[0], RECORDS[1]
    unknown = failed("10.0.0.6", ScanStatus.ERROR, "read_timeout")
    dead = RECORDS[6:9]
    not_smb, unresolved = RECORDS[10], RECORDS[11]
    assert tally_of(required, *dead, not_smb, unresolved).exit_code() == 0
    assert tally_of(*dead).exit_code() == 0  # nothing answered: vacuously all required
    assert tally_of(required, not_required, unknown).exit_code() == 1
    assert tally_of(SMB1_ONLY_DISABLED).exit_code() == 1
    assert tally_of(required, unknown).exit_code() == 3  # never guessed as safe
    ok_unknown = ScanRecord(
        "10.0.0.9",
        445,
        ScanStatus.OK,
        None,
        Smb1Observation(None),
        smb2(0x03),
        reason="SMB2 required; SMB1 unknown (read_timeout)",
    )
    assert tally_of(required, ok_unknown).exit_code() == 3


def test_relay_list_sorted_deduplicated_no_unknowns() -> None:
    tally = tally_of(*RECORDS, ok("10.0.0.100", False))
    assert tally.relay_addresses() == [
        "10.0.0.2",
        "10.0.0.20",
        "10.0.0.100",
        "2001:db8::5",
        "fe80::1%lo",
    ]
    data = relay_list_bytes(tally.relay_addresses())
    assert data == b"10.0.0.2\n10.0.0.20\n10.0.0.100\n2001:db8::5\nfe80::1%lo\n"
    assert b"[" not in data
    assert relay_list_bytes([]) == b""


def _ntlmrelayx_target(line: str) -> tuple[str | None, int | None]:
    """What ntlmrelayx connects to for one ``-tf`` line: impacket's ``processTarget`` parses
    ``urlparse("smb://" + line)`` and ``ProtocolClient`` takes ``.hostname`` and ``.port``
    (impacket ``examples/ntlmrelayx/utils/targetsutils.py``, ``clients/__init__.py``;
    checked against impacket 0.13.1 and a real SMB connection in the lab)."""
    url = urllib.parse.urlparse(f"smb://{line}")
    return url.hostname, url.port


def test_relay_list_for_ntlmrelayx_brackets_ipv6_only() -> None:
    addresses = ["10.0.0.2", "2001:db8::5", "fe80::1%lo"]
    plain = relay_list_bytes(addresses).decode().splitlines()
    relayx = relay_list_bytes(addresses, fmt="ntlmrelayx").decode().splitlines()
    assert relayx == ["10.0.0.2", "[2001:db8::5]", "[fe80::1%lo]"]
    assert [_ntlmrelayx_target(line) for line in relayx] == [(a, None) for a in addresses]
    # the plain form is not usable there for IPv6: host "2001", port unparsable
    assert urllib.parse.urlparse(f"smb://{plain[1]}").hostname == "2001"
    for line in plain[1:]:
        with pytest.raises(ValueError, match="Port"):
            _ntlmrelayx_target(line)
    # and smbsign reads its own ntlmrelayx list back as targets (brackets accepted)
    assert [parse_spec(line) for line in relayx] == [parse_spec(a) for a in addresses]
    with pytest.raises(ValueError, match="unknown relay list format"):
        relay_list_bytes(addresses, fmt="xml")


def test_summary_counts() -> None:
    tally = tally_of(*RECORDS)
    tally.targets = 11
    summary = tally.summary(complete=True)
    assert summary["statuses"] == {"ok": 6, "closed": 1, "filtered": 1, "not_smb": 1, "error": 3}
    assert (summary["signing_required"], summary["signing_not_required"], summary["unknown"]) == (
        1,
        5,
        1,
    )
    assert "5 signing NOT required" in tally.summary_line()

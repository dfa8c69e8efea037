"""The JSON findings document is written finding by finding, byte for byte as json.dumps."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import report_samples as rs
from smbsign.output.base import Kind, Meta
from smbsign.output.json_out import render_findings
from smbsign.output.registry import render_items
from smbsign.serialize import SCHEMA_VERSION, finding_to_dict


def whole(findings: list[object]) -> bytes:
    doc = {"schema_version": SCHEMA_VERSION, "findings": [finding_to_dict(f) for f in findings]}  # type: ignore[arg-type]
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


@pytest.mark.parametrize("n", [0, 1, 3, None])
def test_streamed_document_is_the_whole_document(n: int | None) -> None:
    fs = list(rs.findings())
    fs.append(replace(fs[0], reason='a\nb \u2028 § "q" {x} [y]', notes=("n\n1", "—", "")))
    sub = fs if n is None else fs[:n]
    assert render_findings(sub) == whole(sub)
    assert render_items("json", Kind.FINDINGS, sub, Meta(run_kind="audit")) == whole(sub)

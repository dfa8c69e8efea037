"""Shared helpers of the collector tests."""

from __future__ import annotations

from pathlib import Path

from smbsign.collect.base import CollectResult
from smbsign.model import SettingValue

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "collect"
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "samples"
SRV_REQ = (
    "hklm\\system\\currentcontrolset\\services\\lanmanserver\\parameters\\requiresecuritysignature"
)
SRV_EN = (
    "hklm\\system\\currentcontrolset\\services\\lanmanserver\\parameters\\enablesecuritysignature"
)
WKS_REQ = "hklm\\system\\currentcontrolset\\services\\lanmanworkstation\\parameters\\requiresecuritysignature"  # noqa: E501


def by_id(result: CollectResult) -> dict[str, SettingValue]:
    """Values keyed by setting id (the last one wins, as in the file)."""
    return {v.setting: v for v in result.values}

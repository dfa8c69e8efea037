"""Fixtures for the report unit tests (samples live in tests/report_samples.py)."""

from __future__ import annotations

import pytest

import report_samples as rs


@pytest.fixture
def catalog() -> rs.SampleCatalog:
    return rs.catalog()

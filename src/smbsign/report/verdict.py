"""Moved to :mod:`smbsign.verdict` (one place for the relay wording); kept as an alias."""

from smbsign.verdict import RELAYABLE, SENTENCE, Verdict, verdict, wording

__all__ = ["RELAYABLE", "SENTENCE", "Verdict", "verdict", "wording"]

"""Moved to :mod:`smbsign.decode` (the store reads runs back without presentation)."""

from smbsign.decode import finding_from_dict, provenance_from_dict, scan_record_from_dict

__all__ = ["finding_from_dict", "provenance_from_dict", "scan_record_from_dict"]

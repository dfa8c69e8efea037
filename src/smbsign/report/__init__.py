"""smbsign.report."""

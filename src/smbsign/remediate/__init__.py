"""smbsign.remediate."""

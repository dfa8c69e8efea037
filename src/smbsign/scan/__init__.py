"""smbsign.scan."""

"""smbsign.engine."""

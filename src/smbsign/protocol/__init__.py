"""smbsign.protocol."""

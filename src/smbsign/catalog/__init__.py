"""smbsign.catalog."""

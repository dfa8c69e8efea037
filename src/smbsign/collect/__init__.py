"""smbsign.collect."""

"""smbsign.lab."""

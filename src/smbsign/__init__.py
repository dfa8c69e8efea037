"""smbsign: find and fix missing SMB signing across Windows and Samba fleets."""

__version__ = "0.1.0"

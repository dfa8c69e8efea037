"""The exception tree (failures inside a run are values; these are for bad input and setup).

SmbsignError
├── UsageError          bad arguments or targets (CLI exit 2)
├── ParseError          malformed bytes or files; carries where it happened
│   └── ProtocolError   malformed SMB / NetBIOS bytes
├── CatalogError        invalid control or framework data
├── LabError            the test/demo lab could not be built
└── RemediationError    a fix could not be applied (original left intact)
"""

from __future__ import annotations


class SmbsignError(Exception):
    """Base class; ``str()`` is always one line suitable for the terminal."""


class UsageError(SmbsignError):
    pass


class ParseError(SmbsignError):
    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ProtocolError(ParseError):
    pass


class CatalogError(SmbsignError):
    pass


class LabError(SmbsignError):
    pass


class RemediationError(SmbsignError):
    pass

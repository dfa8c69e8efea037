"""Host facts the operator gives (``--os-family``, ``--os-build``, ``--edition``, ``--role``,
``--smb1-feature``): text in, :class:`~smbsign.model.HostFacts` out, bad text a
:class:`~smbsign.errors.UsageError`. Merging them with the evidence is
:func:`smbsign.engine.facts.merge_facts`; this module only reads the operator's words.
"""

from __future__ import annotations

from smbsign.engine.facts import EDITION_ALIASES, ROLE_ALIASES
from smbsign.errors import UsageError
from smbsign.model import HostFacts, OsFamily, Role

#: ``--smb1-feature``: is the optional SMB1 component installed (Microsoft Learn, "How to
#: detect, enable and disable SMBv1, SMBv2, and SMBv3 in Windows")?
SMB1_FEATURE = {"installed": True, "absent": False, "not-installed": False}


def parse_role(text: str) -> Role:
    """``--role`` value to :class:`Role`; :class:`UsageError` when unknown."""
    role = ROLE_ALIASES.get(text.strip().lower().replace(" ", "_"))
    if role is None:
        choices = ", ".join(r.value for r in Role)
        raise UsageError(f"unknown role {text!r} (choose one of: {choices})")
    return role


def parse_edition(text: str) -> str:
    """``--edition`` value to an ``EditionID``; :class:`UsageError` when blank."""
    word = text.strip()
    if not word or not word.replace("_", "").replace("-", "").isalnum():
        raise UsageError(
            f"bad edition {text!r} (e.g. Enterprise, Professional, Core, ServerStandard)"
        )
    return EDITION_ALIASES.get(word.lower(), word)


def parse_os_family(text: str) -> OsFamily:
    """``--os-family`` value to :class:`OsFamily`; :class:`UsageError` when unknown."""
    try:
        return OsFamily(text.strip().lower())
    except ValueError:
        choices = ", ".join(f.value for f in OsFamily)
        raise UsageError(f"unknown OS family {text!r} (choose one of: {choices})") from None


def parse_smb1_feature(text: str) -> bool:
    """``--smb1-feature`` value: installed (True) or absent (False)."""
    value = SMB1_FEATURE.get(text.strip().lower())
    if value is None:
        raise UsageError(f"unknown --smb1-feature {text!r} (installed or absent)")
    return value


def given_facts(
    os_family: str | None = None,
    os_build: int | None = None,
    edition: str | None = None,
    role: str | None = None,
    smb1_feature: str | None = None,
) -> HostFacts | None:
    """The facts the operator gave, for every audited host (``host`` is filled per host by
    the auditor); None when none was given."""
    given = (os_family, os_build, edition, role, smb1_feature)
    if all(v is None for v in given):
        return None
    return HostFacts(
        host="",
        os_family=parse_os_family(os_family) if os_family else None,
        build=os_build,
        edition=parse_edition(edition) if edition else None,
        role=parse_role(role) if role else None,
        smb1_installed=parse_smb1_feature(smb1_feature) if smb1_feature else None,
    )

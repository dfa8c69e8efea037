"""The catalog says what code used to guess (#8 item 4): side, protocol, allowed values.

Side (server / client) is the control's ``side``, never a key name; the importers' value domains
are the checks' ``allowed`` lists; one passing and one failing datum per check follow from the
check, the desired state and ``allowed`` (``smbsign.catalog.values``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine_kit import Defaults, control, facts, reg, sv

from smbsign.catalog import load_catalog
from smbsign.catalog import values as V
from smbsign.catalog.schema import AllowedValue, Check, Control, Expect
from smbsign.engine.evaluate import evaluate
from smbsign.importers import expect
from smbsign.model import Status
from smbsign.regpath import setting_id

VENDOR = "HKLM\\SOFTWARE\\Vendor\\Smb"  # a key that names no SMB component
MRX = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\mrxsmb10"


@dataclass(frozen=True)
class _Catalog:
    controls: Mapping[str, Control]
    defaults: Defaults = field(default_factory=Defaults)


def _smb1_only(side: str) -> Control:
    return control(
        "vendor-enable",
        Check(registry=reg(VENDOR, "Sign", Expect(equals=1)), smb1_only=True),
        side=side,
        default_key="client_enable",
    )


def test_the_smb1_side_of_a_control_is_its_catalog_side_not_its_key_name() -> None:
    """A client control under a key that names no component: the SMB1 client driver being off
    makes it not applicable (the key-name guess took it for a server control: SMB1 unknown)."""
    values = [sv(VENDOR, 0, name="Sign"), sv(MRX, 4, name="Start")]
    cat = _Catalog({"vendor-enable": _smb1_only("client")})
    [f] = evaluate(values, (), facts(), cat, ())  # type: ignore[arg-type]
    assert f.status is Status.NOT_APPLICABLE, f.reason
    assert "on the client side" in f.reason and "start = 4" in f.reason
    cat = _Catalog({"vendor-enable": _smb1_only("server")})
    [f] = evaluate(values, (), facts(), cat, ())  # type: ignore[arg-type]
    assert f.status is not Status.NOT_APPLICABLE  # the client driver says nothing of the server


def test_importer_domains_are_the_catalogs_allowed_values() -> None:
    catalog = load_catalog()
    for c in catalog.controls.values():
        r = c.check.registry
        if r is None:
            continue
        want = tuple(sorted(int(a.value) for a in r.allowed))
        assert expect.domain_for(setting_id(r.key, r.value)) == want, c.id
    spn = setting_id(
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanManServer\\Parameters",
        "SmbServerNameHardeningLevel",
    )
    assert expect.from_predicate(lambda v: v >= 1, spn).op == "at_least"
    assert expect.from_predicate(lambda v: v in (1, 2), spn).op == "at_least"


def test_key_sides_follow_the_controls_that_read_or_write_each_key() -> None:
    sides = V.key_sides(load_catalog().controls.values())
    server = setting_id("HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters", "X")
    client = setting_id("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation", "Y")
    assert V.side_of_setting(sides, server) == "server"
    assert V.side_of_setting(sides, client) == "client"
    assert V.side_of_setting(sides, setting_id(VENDOR, "Z")) is None


def test_pairs_are_the_desired_value_and_the_nearest_failing_allowed_one() -> None:
    c = load_catalog().controls
    assert V.registry_pair(c["smb1-client-disabled"]) == (4, 3)  # demand start, not boot start
    assert V.registry_pair(c["smb-server-spn-hardening"]) == (1, 0)
    assert V.cmdlet_pair(c["smb1-server-disabled"]) == (False, True)
    assert V.samba_pair(c["smb-server-signing-required"]) == ("mandatory", "desired")
    assert V.samba_pair(c["smb1-server-disabled"]) == ("SMB2_02", "NT1")
    assert V.samba_pair(c["smb-client-plaintext-password-disabled"]) == ("no", "Yes")


def test_nearest_failing_prefers_the_earlier_value_on_a_tie() -> None:
    assert V.nearest_failing([0, 1, 2], [False, True, False], 1) == 0
    assert V.nearest_failing([0, 1], [True, True], 0) is None


def test_no_pair_without_allowed_values() -> None:
    bare = control("bare", Check(registry=reg(VENDOR, "Sign", Expect(equals=1))))
    assert V.registry_pair(bare) is None
    allowed = (AllowedValue(value=0, meaning="off"), AllowedValue(value=1, meaning="on"))
    undesired = control(
        "undesired", Check(registry=reg(VENDOR, "Sign", Expect(equals=1), allowed=allowed))
    )
    assert V.registry_pair(undesired) is None  # no desired data: nothing to call passing

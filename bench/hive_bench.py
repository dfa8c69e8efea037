"""Offline-hive benchmark: a realistic large SYSTEM hive and the work-budget worst cases.

1. A ~31 MiB SYSTEM hive (1,500 services, 2,000 keys of 16 KB binary data) read from disk by
   ``collect_file``: seconds and peak memory (tracemalloc).
2. The largest honest lookup the budget allows: a ``Services`` key with 49,000 subkeys.
3. Crafted hives: one leaf claiming 65,535 keys, an ``ri`` of 40,000 pointers to one empty leaf.

Usage: ``.venv/bin/python bench/hive_bench.py``. Hives come from the test builder
(``tests/unit/regf_builder.py``).
"""

from __future__ import annotations

import struct
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from regf_builder import (
    REG_BINARY,
    REG_DWORD,
    REG_SZ,
    build,
    build_hive,
    dword,
    find_nk,
    patch_u32,
    system_tree,
    sz,
)

from smbsign.audit import registry_wanted
from smbsign.catalog import load_catalog
from smbsign.collect import hive
from smbsign.collect.walk import collect_file

SRV = "Services\\LanmanServer\\Parameters"


#: What an audit asks a hive for (the catalog is loaded once, outside the timings).
WANTED = registry_wanted(load_catalog().controls.values(), desired=True)


def timed(label: str, data: bytes) -> None:
    start = time.perf_counter()
    result = hive.collect(data, "bench", "h", wanted=WANTED)
    took = time.perf_counter() - start
    first = result.errors[0].message if result.errors else "-"
    print(f"{label}: {took:.3f} s, {len(result.values)} values, first error: {first}")


def main() -> None:
    tree = system_tree(1, {1: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(1))]}})
    services = tree.key("ControlSet001\\Services")
    for i in range(1500):
        services.key(f"Svc{i:05d}\\Parameters").set("ServiceDll", REG_SZ, sz(f"C:\\s\\{i}.dll"))
    for i in range(2000):
        tree.key(f"ControlSet001\\Blobs\\B{i}").set("Data", REG_BINARY, bytes(16000))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SYSTEM"
        path.write_bytes(build_hive(tree, leaf_size=500))
        tracemalloc.start()
        start = time.perf_counter()
        result = collect_file(path, "h", wanted=WANTED)
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        size = path.stat().st_size / 2**20
        print(f"{size:.1f} MiB SYSTEM hive: {took:.3f} s, {len(result.values)} values, "
              f"{len(result.errors)} errors, peak {peak:.1f} MiB")  # fmt: skip

    wide = system_tree(1, {1: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(1))]}})
    for i in range(49000):
        wide.key(f"ControlSet001\\Services\\S{i:05d}")
    timed("49,000 services", build_hive(wide, leaf_size=500))

    small = system_tree(1, {1: {SRV: [("RequireSecuritySignature", REG_DWORD, dword(1))]}})
    data, _ = build(small)
    nk = find_nk(data, "Services")
    leaf = 4096 + 4 + struct.unpack_from("<I", data, nk + 28)[0]
    timed("leaf claiming 65,535 keys", patch_u32(data, leaf, struct.unpack("<I", b"lh\xff\xff")[0]))
    data, extra = build(small, extra_cells=(b"lh\x00\x00",))
    ri = b"ri" + struct.pack("<H", 40000) + struct.pack("<I", extra[0]) * 40000
    data, extra = build(small, extra_cells=(b"lh\x00\x00", ri))
    timed("ri of 40,000 empty leaves", patch_u32(data, nk + 28, extra[1]))


if __name__ == "__main__":
    main()

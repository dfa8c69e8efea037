"""nmap as an independent peer in the lab: the command line, and its verdicts read from -oX.

Used by the lab tests and the benchmark to set nmap's ``smb2-security-mode`` and
``smb-security-mode`` results next to smbsign's and the ground truth. The XML is our own
nmap run's output file, read with ElementTree (expat bounds entity expansion and never
fetches external entities). Wording of the script results: docs/reference.md §5.9 (nmap
``scripts/smb2-security-mode.nse``); dialect keys differ between nmap versions (reference.md §8),
so any table key is accepted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

SCRIPTS = "smb2-security-mode,smb-security-mode"


@dataclass(frozen=True, slots=True)
class NmapVerdict:
    """nmap's view of one address."""

    address: str
    ports: dict[int, str] = field(default_factory=dict)  # port -> state
    smb2_required: bool | None = None  # None: the script printed nothing
    smb1_signing: str | None = None  # "required", "supported", "disabled" or None

    @property
    def signing_required(self) -> bool | None:
        """Required on every protocol nmap saw; None when neither script answered."""
        seen = []
        if self.smb2_required is not None:
            seen.append(self.smb2_required)
        if self.smb1_signing is not None:
            seen.append(self.smb1_signing == "required")
        return all(seen) if seen else None


def nmap_argv(
    targets_file: str,
    xml_out: str,
    *,
    ports: Sequence[int] = (445,),
    connect_timeout: float = 1.0,
    host_timeout: float = 30.0,
    parallelism: int = 256,
    syn: bool = False,
) -> list[str]:
    """nmap tuned to match an smbsign run (stated in bench output and docs/lab.md).

    ``-Pn`` (no discovery, like smbsign), ``-n`` (no DNS), ``--max-retries 0`` (smbsign does
    not retry), ``--max-rtt-timeout`` = smbsign's connect timeout, ``--min-parallelism`` and
    ``--min-hostgroup`` = smbsign's concurrency, ``--host-timeout``/``--script-timeout`` =
    smbsign's per-host deadline. ``syn`` picks nmap's SYN scan (its default as root) for the
    port phase instead of a connect scan (``-sT``, the same system call smbsign uses).
    """
    ms = max(1, round(connect_timeout * 1000))
    return [
        "nmap", "-Pn", "-n", "-sS" if syn else "-sT",
        "-p", ",".join(str(p) for p in ports),
        "--max-retries", "0",
        "--initial-rtt-timeout", f"{ms}ms",
        "--max-rtt-timeout", f"{ms}ms",
        "--min-parallelism", str(parallelism),
        "--min-hostgroup", str(parallelism),
        "--host-timeout", f"{host_timeout:g}s",
        "--script-timeout", f"{host_timeout:g}s",
        "--script", SCRIPTS,
        "-iL", targets_file,
        "-oX", xml_out,
    ]  # fmt: skip


def _smb2_required(script: ET.Element) -> bool | None:
    texts = [e.text or "" for e in script.iter("elem")] or [script.get("output", "")]
    verdicts: list[bool] = []
    for text in texts:
        low = text.lower()
        if "not required" in low:
            verdicts.append(False)
        elif "required" in low or low.strip() == "message signing is disabled!":
            # 0x02 without 0x01 ("disabled!") is still required (docs/reference.md §5.9).
            verdicts.append(True)
    return all(verdicts) if verdicts else None


def parse_xml(text: str) -> dict[str, NmapVerdict]:
    """Verdicts by address from ``nmap -oX`` output."""
    root = ET.fromstring(text)  # noqa: S314 - our own nmap run's output file
    out: dict[str, NmapVerdict] = {}
    for host in root.iter("host"):
        addr_el = host.find("address")
        if addr_el is None:
            continue
        addr = addr_el.get("addr", "")
        ports: dict[int, str] = {}
        for port in host.iter("port"):
            state = port.find("state")
            ports[int(port.get("portid", "0"))] = "" if state is None else state.get("state", "")
        smb2: bool | None = None
        smb1: str | None = None
        for script in host.iter("script"):
            if script.get("id") == "smb2-security-mode":
                smb2 = _smb2_required(script)
            elif script.get("id") == "smb-security-mode":
                for elem in script.iter("elem"):
                    if elem.get("key") == "message_signing" and elem.text:
                        smb1 = elem.text.split()[0].strip().lower()
        out[addr] = NmapVerdict(addr, ports, smb2, smb1)
    return out

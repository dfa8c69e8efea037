"""A minimal, independent NEGOTIATE probe used only to check the lab itself.

Run inside a lab namespace: ``python rawprobe.py TIMEOUT HOST PORT [HOST PORT ...]`` prints
a JSON list, one object per target, with the raw SMB2 and SMB1 SecurityMode the server sent.
It is written from docs/reference.md §5.2-5.6 separately from ``smbsign.protocol``, so the lab's
ground truth is checked by code that shares nothing with the scanner under test. Standard
library only; bounded by timeouts.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

TIMEOUT = [5.0]


def _netbios_name(name: str, suffix: int) -> bytes:
    raw = name.ljust(15)[:15].encode() + bytes([suffix])
    return b"\x20" + b"".join(bytes([0x41 + (b >> 4), 0x41 + (b & 0x0F)]) for b in raw) + b"\x00"


def _connect(host: str, port: int) -> socket.socket:
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT[0])
    sock.connect(info[4])
    if port == 139:  # RFC 1002 4.3.2 SESSION REQUEST, called name *SMBSERVER<20>
        body = _netbios_name("*SMBSERVER", 0x20) + _netbios_name("SMBSIGNLAB", 0x00)
        sock.sendall(struct.pack(">BBH", 0x81, 0, len(body)) + body)
        if _recv_exact(sock, 4)[0] != 0x82:
            raise OSError("netbios session refused")
    return sock


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("eof")
        buf += chunk
    return buf


def _exchange(host: str, port: int, msg: bytes) -> bytes:
    with _connect(host, port) as sock:
        sock.sendall(struct.pack(">I", len(msg)) + msg)
        length = struct.unpack(">I", _recv_exact(sock, 4))[0] & 0x00FFFFFF
        if length > 65536:
            raise ValueError("reply too long")
        return _recv_exact(sock, length)


def smb2_negotiate() -> bytes:
    """SMB2 NEGOTIATE offering 2.0.2-3.1.1 with one PREAUTH context (reference.md §5.3, §5.4)."""
    header = b"\xfeSMB" + struct.pack(
        "<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, b"\x00" * 16
    )
    dialects = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    ctx_data = struct.pack("<HH H", 1, 32, 1) + os.urandom(32)
    ctx = struct.pack("<HHI", 1, len(ctx_data), 0) + ctx_data
    body_fixed = 36 + 2 * len(dialects)
    ctx_off = 64 + body_fixed
    pad = (8 - ctx_off % 8) % 8
    body = struct.pack(
        "<HHHHI16sIHH", 36, len(dialects), 1, 0, 0, os.urandom(16), ctx_off + pad, 1, 0
    )
    body += b"".join(struct.pack("<H", d) for d in dialects) + b"\x00" * pad + ctx
    return header + body


def smb1_negotiate() -> bytes:
    """SMB1 NEGOTIATE with only ``NT LM 0.12`` (docs/reference.md §5.6)."""
    dialects = b"\x02NT LM 0.12\x00"
    header = b"\xffSMB" + struct.pack(
        "<BIBH H8sH HHHH", 0x72, 0, 0x18, 0xC843, 0, b"\x00" * 8, 0, 0xFFFF, 0xFEFF, 0, 0
    )
    return header + struct.pack("<BH", 0, len(dialects)) + dialects


def probe(host: str, port: int) -> dict[str, object]:
    out: dict[str, object] = {"target": host, "port": port}
    try:
        r = _exchange(host, port, smb2_negotiate())
        if r[:4] != b"\xfeSMB":
            out["smb2"] = {"error": "not smb2"}
        else:
            status = struct.unpack_from("<I", r, 8)[0]
            sec, dialect = struct.unpack_from("<HH", r, 66)
            out["smb2"] = {"status": status, "security_mode": sec, "dialect": dialect}
    except (OSError, ValueError, struct.error) as exc:
        out["smb2"] = {"error": type(exc).__name__}
    if out["smb2"] in ({"error": "ConnectionRefusedError"}, {"error": "TimeoutError"}):
        out["smb1"] = out["smb2"]  # nothing listens: a second connect would say the same
        return out
    try:
        r = _exchange(host, port, smb1_negotiate())
        if r[:4] != b"\xffSMB":
            out["smb1"] = {"error": "not smb1"}
        else:
            words = r[32]
            index = struct.unpack_from("<H", r, 33)[0]
            out["smb1"] = {"dialect_index": index, "security_mode": r[35] if words == 17 else None}
    except (OSError, ValueError, struct.error, IndexError) as exc:
        out["smb1"] = {"error": type(exc).__name__}
    return out


if __name__ == "__main__":
    TIMEOUT[0] = float(sys.argv[1])
    args = sys.argv[2:]
    print(json.dumps([probe(h, int(p)) for h, p in zip(args[::2], args[1::2], strict=True)]))

"""A fake Wazuh manager API on loopback: a real HTTPS server (http.server in a thread) serving the
recorded responses of ``tests/fixtures/wazuh_api`` (README there names where each shape comes
from), paged with ``offset``/``limit`` as the manager pages them, with injectable faults.

Faults are queued per request path (without the query): ``expire`` (every issued token becomes
invalid and the call gets the 401 an expired token gets), ``500``, ``truncate`` (a
Content-Length larger than the body, then the connection closes), ``echo`` (a 500 whose
detail repeats the Authorization header and what it decodes to), ``notjson`` and ``huge``.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wazuh_api"
USER, PASSWORD = "wazuh-ro", "S3cret-Pa55!"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography); (cert, key) PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wazuh-manager test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Manager:
    """State of the fake manager; ``requests`` logs (method, path, Authorization scheme)."""

    agents: dict[str, Any] = field(default_factory=lambda: load("agents.json"))
    tokens: set[str] = field(default_factory=set)  # valid now
    issued: list[str] = field(default_factory=list)  # every token ever issued
    faults: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    logins: int = 0
    counter: Iterator[int] = field(default_factory=itertools.count)
    url: str = ""
    cafile: str = ""

    def listing(self, doc: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        """The manager's paging: ``affected_items[offset:offset+limit]``, the total kept."""
        items = list(doc["data"]["affected_items"])
        if "os.platform" in query:
            items = [a for a in items if a.get("os", {}).get("platform") == query["os.platform"][0]]
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", ["500"])[0])
        data = {**doc["data"], "affected_items": items[offset : offset + limit]}
        data["total_affected_items"] = len(items)
        return {**doc, "data": data}


def _handler(m: Manager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, doc: Any, *, raw: bytes | None = None) -> None:
            body = raw if raw is not None else json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fault(self, path: str) -> bool:
            queue = m.faults.get(path) or []
            if not queue:
                return False
            fault = queue.pop(0)
            if fault == "expire":
                m.tokens.clear()
                self._send(401, load("unauthorized_token.json"))
            elif fault == "500":
                self._send(500, load("internal_error.json"))
            elif fault == "echo":  # a server that echoes the credentials in its error text
                auth = self.headers.get("Authorization", "")
                basic = auth.startswith("Basic ")
                said = base64.b64decode(auth[6:]).decode() if basic else auth[7:]
                detail = f"cannot use {auth} ({said})"
                self._send(500, {"title": "Wazuh Internal Error", "detail": detail})
            elif fault == "notjson":
                self._send(200, None, raw=b"<html><body>502 Bad Gateway</body></html>")
            elif fault == "huge":
                self._send(200, None, raw=b" " * (2 * 2**20))
            elif fault == "truncate":
                body = json.dumps(load("agents.json")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
            return True

        def do_POST(self) -> None:
            auth = self.headers.get("Authorization", "")
            m.requests.append(("POST", self.path, auth.split(" ", 1)[0]))
            if self.path != "/security/user/authenticate":
                self._send(405, {"title": "Method Not Allowed"})
                return
            if self._fault(self.path):
                return
            want = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if auth != want:
                self._send(401, load("unauthorized_login.json"))
                return
            m.logins += 1
            doc = load("authenticate.json")
            token = f"{doc['data']['token']}.{next(m.counter)}"
            m.tokens.add(token)
            m.issued.append(token)
            self._send(200, {**doc, "data": {"token": token}})

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            m.requests.append(("GET", self.path, auth.split(" ", 1)[0]))
            if self._fault(path):
                return
            if not auth.startswith("Bearer ") or auth[7:] not in m.tokens:
                self._send(401, load("unauthorized_token.json"))
                return
            segs = path.strip("/").split("/")
            if segs == ["agents"]:
                self._send(200, m.listing(m.agents, query))
            elif len(segs) == 2 and segs[0] == "sca":
                name = FIXTURES / f"sca_{segs[1]}.json"
                doc = load(name.name) if name.is_file() else load("sca_005.json")
                self._send(200, m.listing(doc, query))
            elif len(segs) == 4 and segs[0] == "sca" and segs[2] == "checks":
                doc = load(f"checks_{segs[1]}_{segs[3]}.json")
                self._send(200, m.listing(doc, query))
            else:
                self._send(404, {"title": "Not Found"})

    return Handler


@contextmanager
def fake_manager(tmp: Path) -> Iterator[Manager]:
    """Run the fake manager on https://127.0.0.1:<free port>; ``cafile`` trusts its cert."""
    m = Manager()
    cert, key = make_cert(tmp)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(m))
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    m.url = f"https://127.0.0.1:{server.server_address[1]}"
    m.cafile = str(cert)
    try:
        yield m
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

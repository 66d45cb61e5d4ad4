"""Local stand-ins for the Kubernetes API and Prometheus: tiny HTTP servers on 127.0.0.1 that record
what the code sends and answer like the real ones do (status codes, JSON shapes)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    """Answers every request with ``status`` and ``reply`` (JSON) and records it."""

    status: int = 200
    reply: Any = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""


def _handler(state: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            state.requests.append(
                Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            )
            payload = json.dumps(state.reply).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer()

        def do_PATCH(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def serve_fake(state: FakeServer, context: ssl.SSLContext | None = None) -> Iterator[FakeServer]:
    """Serves ``state`` on 127.0.0.1 (HTTPS with ``context``) for as long as the generator is open."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    scheme = "http"
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fake_api() -> Iterator[FakeServer]:
    yield from serve_fake(FakeServer())


@pytest.fixture
def fake_prometheus() -> Iterator[FakeServer]:
    yield from serve_fake(FakeServer())


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the CA the client must be told about) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-apiserver")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "ca.crt", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def fake_tls_api(tls_files: tuple[Path, Path]) -> Iterator[FakeServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, tls_files))
    yield from serve_fake(FakeServer(), context)


STACK_FILE = """\
config:
  platform:environment: test
  platform:services:
    - name: frontend
      image: ghcr.io/example/frontend:1.0.0
    - name: backend
      image: ghcr.io/example/backend:1.0.0
      resources:
        requests: {cpu: 500m, memory: 512Mi}
        limits: {cpu: "1", memory: 1Gi}
      scaling:
        min_replicas: 5
        max_replicas: 100
        baseline_replicas: 10
        target_cpu_utilization: 60
        schedules:
          - {name: morning-peak, start: "08:00", end: "10:00", factor: 1.5}
          - {name: evening-peak, start: "18:00", end: "22:00", factor: 2.0}
        prediction: {enabled: true}
"""


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    """A stack file whose services are the seed's backend (prediction on) and frontend (plain HPA)."""
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(STACK_FILE, encoding="utf-8")
    return path

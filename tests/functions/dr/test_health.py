"""The network prober against local servers: HTTP status, refused connections, both probes at once."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from functions.dr.clock import RealClock
from functions.dr.config import HealthSettings
from functions.dr.health import NetworkProber


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[str, type[_Health]]]:
    handler = type("Handler", (_Health,), {"status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz", handler
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the with block ends: nothing listens


def test_app_up_database_up_then_app_crash_then_region(health_server: tuple[str, type[_Health]]) -> None:
    url, handler = health_server
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        db = f"127.0.0.1:{listener.getsockname()[1]}"
        prober = NetworkProber(
            HealthSettings(primary_url=url, primary_database=db, interval_seconds=2, timeout_seconds=1), RealClock()
        )
        probe = prober.probe()
        assert (probe.app_ok, probe.db_ok, probe.failed) == (True, True, False)
        handler.status = 503
        probe = prober.probe()
        assert (probe.app_ok, probe.db_ok, probe.failed, probe.scenario) == (False, True, True, "app-crash")
        assert probe.detail["app"] == "HTTP 503"
    probe = NetworkProber(
        HealthSettings(primary_url=url, primary_database=db, interval_seconds=2, timeout_seconds=1), RealClock()
    ).probe()
    assert (probe.db_ok, probe.scenario) == (False, "region")


def test_unreachable_url_fails_with_the_reason() -> None:
    settings = HealthSettings(primary_url=f"http://127.0.0.1:{_closed_port()}/", interval_seconds=2, timeout_seconds=1)
    probe = NetworkProber(settings, RealClock()).probe()
    assert probe.failed and probe.detail["app"].startswith("unreachable")

"""Loopback HTTP servers the cell runs in its own process: a stand-in for each declared service (real requests,
a real histogram), expositions for what has no Debian package here (kube-state-metrics, the kubelet's cAdvisor,
Velero), and the webhook that records what Alertmanager delivers.

The stand-in service is a program with the metrics contract every service of the stack has
(``http_requests_total{code,method}`` and the ``http_request_duration_seconds`` histogram on ``/metrics``):
a load generator sends it real requests, and its handler sleeps and fails as told (``error_rate``,
``latency``), so a fault moves the counters the way a slow, failing service would. The ``service`` label comes
from the ServiceMonitor's discovery (as on Kubernetes), not from the exposition: an exposition carrying its own
``service`` label would be renamed ``exported_service`` by Prometheus (honorLabels false).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The client libraries' default histogram buckets."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[_Server, int]:
    """Serve on 127.0.0.1, a port the kernel picks (free by construction), in a daemon thread."""
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def reply(self, status: int, body: bytes, content_type: str = "text/plain; version=0.0.4") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StandInService:
    """One service: ``/`` answers (after ``latency`` seconds, 5xx with probability ``error_rate``), ``/metrics``
    exposes what those answers were."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.error_rate = 0.0
        self.latency = 0.01
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = {}
        self._buckets = [0] * len(BUCKETS)
        self._count = 0
        self._sum = 0.0
        self._stop = threading.Event()
        self._load: list[threading.Thread] = []
        service = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self.reply(200, service.exposition().encode())
                    return
                started = time.monotonic()
                time.sleep(service.latency * random.uniform(0.9, 1.1))
                code = "500" if random.random() < service.error_rate else "200"
                service.observe(code, time.monotonic() - started)
                self.reply(int(code), b"ok\n" if code == "200" else b"error\n", "text/plain")

        self.server, self.port = serve(Handler)

    def observe(self, code: str, seconds: float) -> None:
        with self._lock:
            self._requests[(code, "GET")] = self._requests.get((code, "GET"), 0) + 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._buckets[i] += 1
            self._count += 1
            self._sum += seconds

    def exposition(self) -> str:
        with self._lock:
            lines = ["# TYPE http_requests_total counter"]
            lines += [f'http_requests_total{{code="{c}",method="{m}"}} {n}' for (c, m), n in self._requests.items()]
            lines.append("# TYPE http_request_duration_seconds histogram")
            lines += [
                f'http_request_duration_seconds_bucket{{le="{b}"}} {n}'
                for b, n in zip(BUCKETS, self._buckets, strict=True)
            ]
            lines.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {self._count}')
            lines.append(f"http_request_duration_seconds_sum {self._sum}")
            lines.append(f"http_request_duration_seconds_count {self._count}")
        return "\n".join(lines) + "\n"

    def load(self, clients: int, pause: float) -> None:
        """``clients`` threads requesting ``/`` in a loop, ``pause`` seconds between a client's requests (a
        paced load, not a wait on a condition)."""
        url = f"http://127.0.0.1:{self.port}/"

        def client() -> None:
            while not self._stop.is_set():
                with contextlib.suppress(OSError, urllib.error.HTTPError):
                    urllib.request.urlopen(url, timeout=30).read()
                self._stop.wait(pause)

        for _ in range(clients):
            thread = threading.Thread(target=client, daemon=True)
            thread.start()
            self._load.append(thread)

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


class Exposition:
    """A fixed text exposition whose body a callable renders (series nothing here can produce for real)."""

    def __init__(self, render: Callable[[], str]) -> None:
        class Handler(_Quiet):
            def do_GET(self) -> None:
                self.reply(200, render().encode())

        self.server, self.port = serve(Handler)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Webhook:
    """Records every Alertmanager notification, by the receiver named in the path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[tuple[str, dict[str, Any]]] = []
        webhook = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with webhook._lock:
                    webhook.received.append((self.path.strip("/"), json.loads(body)))
                self.reply(200, b"")

        self.server, self.port = serve(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alerts(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(receiver, alert) for every alert of every notification received so far."""
        with self._lock:
            received = list(self.received)
        for receiver, payload in received:
            for alert in payload.get("alerts", []):
                yield receiver, alert

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

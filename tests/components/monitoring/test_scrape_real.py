"""The series the Redis PodMonitor declares are what a real redis_exporter serves (Debian's
prometheus-redis-exporter against a real redis-server): a declared series the exporter does not serve would
let the provenance rule pass over a query that returns nothing."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.redis.manifests import EXPORTER_METRICS

pytestmark = pytest.mark.real

HANG_BOUND = 60.0  # seconds; every wait below polls a condition and gives up only after this


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _exposition(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


@pytest.fixture
def exporter_url(tmp_path: Path) -> Iterator[str]:
    redis_server = shutil.which("redis-server")
    exporter = shutil.which("prometheus-redis-exporter")
    if not (redis_server and exporter):
        pytest.skip("redis-server and prometheus-redis-exporter (Debian packages) are needed")
    redis_port, exporter_port = _free_port(), _free_port()
    redis = subprocess.Popen(
        [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--maxmemory", "64mb"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    served = subprocess.Popen(
        [
            exporter,
            "-redis.addr",
            f"redis://127.0.0.1:{redis_port}",
            "-web.listen-address",
            f"127.0.0.1:{exporter_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{exporter_port}/metrics"
    finally:
        for process in (served, redis):
            process.terminate()
            process.wait(timeout=30)


def test_the_exporter_serves_every_declared_series(exporter_url: str) -> None:
    assert len(EXPORTER_METRICS) > 0, "nothing declared"
    deadline = time.monotonic() + HANG_BOUND
    text = None
    while time.monotonic() < deadline:  # until the exporter answers with Redis reachable
        text = _exposition(exporter_url)
        if text and "\nredis_up 1" in text:
            break
        time.sleep(0.2)
    assert text and "\nredis_up 1" in text, "redis_exporter never reported redis_up 1"
    served = {line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    missing = sorted(set(EXPORTER_METRICS) - served)
    assert not missing, f"declared on the Redis PodMonitor but not served by redis_exporter: {missing}"

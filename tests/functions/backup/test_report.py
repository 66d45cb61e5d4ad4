"""Pushgateway metrics: a failed run must never delete the last success time; counters carry over.

Two servers: a tiny recording HTTP server that behaves like the Pushgateway (PUT replaces the group,
POST replaces only the pushed metric names, ``/api/v1/metrics`` lists groups), and the real
``prometheus-pushgateway`` binary, which proves the JSON shape and the POST semantics we rely on.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.backup.cli import run
from tests.functions.backup.conftest import free_port, stop, wait_port


@dataclass
class Recorded:
    method: str
    path: str
    body: str


@dataclass
class FakePushgateway:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    broken_get: bool = False
    groups: dict[tuple[tuple[str, str], ...], dict[str, float]] = field(default_factory=dict)


def _parse(body: str) -> dict[str, float]:
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series.split("{", 1)[0]] = float(value)
    return values


@pytest.fixture
def fake_gateway() -> Iterator[FakePushgateway]:
    state = FakePushgateway("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _group(self) -> tuple[tuple[str, str], ...]:
            parts = self.path.split("/")[2:]  # /metrics/job/backup/class/db
            return tuple(zip(parts[::2], parts[1::2], strict=True))

        def do_GET(self) -> None:
            state.requests.append(Recorded("GET", self.path, ""))
            if state.broken_get:
                self.send_error(500)
                return
            data = []
            for labels, metrics in state.groups.items():
                group: dict[str, Any] = {"labels": dict(labels)}
                for name, value in metrics.items():
                    group[name] = {"metrics": [{"labels": {**dict(labels), "instance": ""}, "value": str(value)}]}
                data.append(group)
            body = json.dumps({"status": "success", "data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _push(self, replace_group: bool) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state.requests.append(Recorded(self.command, self.path, body))
            group = self._group()
            if replace_group:
                state.groups[group] = {}
            state.groups.setdefault(group, {}).update(_parse(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_PUT(self) -> None:
            self._push(replace_group=True)

        def do_POST(self) -> None:
            self._push(replace_group=False)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _runs(tmp_path: Path, key_file: Path, gateway: str) -> tuple[list[str], list[str]]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "a").write_bytes(b"a" * 1000)
    base = ["backup", "--class", "state", "--target", f"file://{tmp_path}/s", "--pushgateway", gateway]
    good = [*base, "--source-dir", str(src), "--key-file", str(key_file)]
    bad = [*base, "--source", "postgresql://postgres@127.0.0.1:1/x", "--key-file", str(key_file)]
    return good, bad


def test_failure_posts_only_the_failure_counter_and_keeps_the_success_time(
    fake_gateway: FakePushgateway, tmp_path: Path, key_file: Path
) -> None:
    good, bad = _runs(tmp_path, key_file, fake_gateway.url)
    assert run(good)[0] == 0
    group = (("job", "backup"), ("class", "state"))
    first_success = fake_gateway.groups[group]["backup_completion_time"]
    assert fake_gateway.groups[group]["backup_failures_total"] == 0, "counter initialised at 0"
    assert run(bad)[0] == 1
    assert run(bad)[0] == 1
    pushes = [r for r in fake_gateway.requests if r.method != "GET"]
    assert {r.method for r in pushes} == {"POST"}, "never PUT: PUT would drop the other metrics of the group"
    assert {r.path for r in pushes} == {"/metrics/job/backup/class/state"}
    assert set(_parse(pushes[1].body)) == {"backup_failures_total"}, "a failure sends nothing else"
    after_failures = fake_gateway.groups[group]
    assert after_failures["backup_completion_time"] == first_success, "the last success time survives failures"
    assert after_failures["backup_failures_total"] == 2, "counted across runs from the gateway's value"
    assert run(good)[0] == 0
    final = fake_gateway.groups[group]
    assert final["backup_failures_total"] == 2 and final["backup_bytes_total"] == 2000
    assert final["backup_completion_time"] >= first_success
    assert [r.method for r in fake_gateway.requests].count("GET") == 4, "one read of the counters per run"


def test_unreadable_counters_restart_at_zero_and_warn(
    fake_gateway: FakePushgateway, tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_gateway.groups[(("job", "backup"), ("class", "state"))] = {"backup_failures_total": 5}
    fake_gateway.broken_get = True
    _, bad = _runs(tmp_path, key_file, fake_gateway.url)
    assert run(bad)[0] == 1
    assert "counters restart at 0" in capsys.readouterr().err
    assert fake_gateway.requests[-1].method == "POST"
    assert _parse(fake_gateway.requests[-1].body) == {"backup_failures_total": 1}, "a reset Prometheus handles"


def test_gateway_down_never_fails_the_backup(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, _ = _runs(tmp_path, key_file, f"http://127.0.0.1:{free_port()}")
    assert run(good)[0] == 0
    assert "warning: metrics not written" in capsys.readouterr().err


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "pushgateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "prometheus-pushgateway",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--persistence.file={tmp_path / 'pushgateway.data'}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_port(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=60) as resp:
        text = resp.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("backup_") and 'class="state"' in line:
            series, _, value = line.rpartition(" ")
            values[series.split("{", 1)[0]] = float(value)
    return values


@pytest.mark.real
def test_real_pushgateway_keeps_completion_time_after_a_failure(
    pushgateway: str, tmp_path: Path, key_file: Path
) -> None:
    good, bad = _runs(tmp_path, key_file, pushgateway)
    assert run(good)[0] == 0
    success = _scrape(pushgateway)
    assert set(success) == {
        "backup_completion_time",
        "backup_duration_seconds",
        "backup_bytes_total",
        "backup_failures_total",
    }
    assert run(bad)[0] == 1
    assert run(bad)[0] == 1
    failed = _scrape(pushgateway)
    assert failed["backup_completion_time"] == success["backup_completion_time"]
    assert failed["backup_failures_total"] == 2
    assert run(good)[0] == 0
    again = _scrape(pushgateway)
    assert again["backup_bytes_total"] == 2000 and again["backup_failures_total"] == 2
    assert again["backup_completion_time"] > success["backup_completion_time"]

"""Server processes of the cell: started on 127.0.0.1 with a log file, waited on by a condition, stopped by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HANG_SECONDS = 150.0
"""How long one wait may take before it counts as hung. Every wait polls a condition and returns as soon as it
holds: on a quiet machine the bound costs nothing, on a loaded one it keeps the run slow instead of red."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], what: str, timeout: float = HANG_SECONDS, interval: float = 0.25) -> float:
    """Poll ``ready`` (exceptions count as not yet); the seconds it took, or TimeoutError naming ``what``."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError, urllib.error.URLError):
            if ready():
                return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(interval)


def get_json(url: str, params: Mapping[str, str] | None = None, timeout: float = 10) -> Any:
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return 200 <= response.status < 300


class Process:
    """One server started by the cell; ``stop`` ends it (and only it) by PID."""

    def __init__(
        self, name: str, argv: list[str], logdir: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.name = name
        self.argv = argv
        self.log = logdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_http(self, url: str, timeout: float = HANG_SECONDS) -> float:
        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}): {self.tail()}")
            return http_ok(url)

        return wait_until(ready, f"{self.name} answers {url}", timeout)

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

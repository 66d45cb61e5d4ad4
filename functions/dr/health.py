"""Probes of the primary region from the DR side, and the consecutive-failure count that turns them into
"the primary is down".

Two probes: the application's health URL and a TCP connect to the primary database. The first says whether
users are served; the second tells a crashed application (database still answers: promoting would split the
brain for nothing) from a lost region or database (both silent).
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol

from functions.dr.clock import Clock
from functions.dr.config import HealthSettings

Scenario = Literal["region", "database-corruption", "app-crash"]


@dataclass(frozen=True)
class Probe:
    at: float
    app_ok: bool | None
    db_ok: bool | None
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Users are not served: the app probe failed, or (no app probe configured) the database did."""
        if self.app_ok is not None:
            return not self.app_ok
        return self.db_ok is False

    @property
    def scenario(self) -> Scenario:
        """What a failed probe means: the database still answering from the DR side is an app crash."""
        return "app-crash" if self.db_ok else "region"


class Prober(Protocol):
    def probe(self) -> Probe: ...


class NetworkProber:
    """HTTP GET of the health URL (2xx/3xx is up) and a TCP connect to the database, each with the timeout."""

    def __init__(self, settings: HealthSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def probe(self) -> Probe:
        """Both probes at once, so a dead region costs one timeout per probe, not two (detection stays
        within interval x threshold)."""
        at = self.clock.now()
        detail: dict[str, str] = {}
        app_ok = db_ok = None
        with ThreadPoolExecutor(max_workers=2) as pool:
            app = pool.submit(self._http, self.settings.primary_url) if self.settings.primary_url else None
            db = pool.submit(self._tcp, self.settings.primary_database) if self.settings.primary_database else None
            if app is not None:
                app_ok, detail["app"] = app.result()
            if db is not None:
                db_ok, detail["database"] = db.result()
        return Probe(at, app_ok, db_ok, detail)

    def _http(self, url: str) -> tuple[bool, str]:
        request = urllib.request.Request(url, headers={"User-Agent": "dr-controller"})
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as response:
                return response.status < 400, f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            return False, f"HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            return False, f"unreachable: {getattr(err, 'reason', err)}"

    def _tcp(self, host_port: str) -> tuple[bool, str]:
        host, _, port = host_port.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=self.settings.timeout_seconds):
                return True, "connect ok"
        except OSError as err:
            return False, f"connect failed: {err}"


class Detector:
    """Counts failed probes in a row; any success resets it, so a flapping primary never reaches the threshold."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.consecutive = 0
        self.first_failure_at: float | None = None
        self.last: Probe | None = None

    def resume(self, consecutive: int, first_failure_at: float | None) -> None:
        """Continues a count another run left (a scheduled invocation carries it to the next)."""
        if consecutive > 0 and first_failure_at is not None:
            self.consecutive, self.first_failure_at = consecutive, first_failure_at

    def observe(self, probe: Probe) -> bool:
        """True once ``threshold`` probes in a row have failed."""
        self.last = probe
        if not probe.failed:
            self.consecutive = 0
            self.first_failure_at = None
            return False
        if self.consecutive == 0:
            self.first_failure_at = probe.at
        self.consecutive += 1
        return self.consecutive >= self.threshold

"""Progress on a terminal, structured JSON log lines for jobs, and Prometheus textfile metrics."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, TextIO

METRIC_HELP = {
    "backup_completion_time": ("gauge", "Unix time of the last successful backup command."),
    "backup_failures_total": ("counter", "Backup commands that failed."),
    "backup_bytes_total": ("counter", "Bytes read from backup sources (before compression)."),
    "backup_duration_seconds": ("gauge", "Duration of the last backup command."),
}


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class Reporter:
    """Log lines as JSON (jobs) or short text (terminals); a carriage-return progress line on a tty."""

    def __init__(self, stream: TextIO | None = None, *, json_logs: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        tty = self.stream.isatty()
        self.json = (not tty) if json_logs is None else json_logs
        self.progress_enabled = tty and not self.json
        self._last = 0.0
        self._start = time.monotonic()

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.json:
            record = {"ts": dt.datetime.now(dt.UTC).isoformat(), "level": level, "event": event, **fields}
            self.stream.write(json.dumps(record, default=str) + "\n")
        else:
            detail = " ".join(f"{k}={v}" for k, v in fields.items())
            self._clear()
            self.stream.write(f"{event}: {detail}\n" if detail else f"{event}\n")
        self.stream.flush()

    def progress(self, done: int, total: int | None) -> None:
        if not self.progress_enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.25:
            return
        self._last = now
        rate = done / max(now - self._start, 1e-6)
        eta = ""
        if total and rate > 0 and total > done:
            eta = f"  ETA {int((total - done) / rate)}s"
        self.stream.write(f"\r{_human(done)}  {_human(rate)}/s{eta}   ")
        self.stream.flush()

    def _clear(self) -> None:
        if self.progress_enabled and self._last:
            self.stream.write("\r" + " " * 60 + "\r")


def _read_counters(path: Path) -> dict[str, float]:
    """Counters survive across runs by re-reading the previous textfile (one process per CronJob run)."""
    values: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    values[name] = float(value)
    return values


def write_metrics(
    path: Path | None,
    pushgateway: str | None,
    *,
    backup_class: str,
    ok: bool,
    bytes_read: int,
    duration: float,
) -> None:
    """Writes node_exporter textfile-collector format atomically and/or PUTs it to a Pushgateway."""
    labels = f'{{class="{backup_class}"}}'
    previous = _read_counters(path) if path else {}
    values = dict(previous)
    failures_key = f"backup_failures_total{labels}"
    bytes_key = f"backup_bytes_total{labels}"
    values.setdefault(failures_key, 0.0)
    values.setdefault(bytes_key, 0.0)
    values[bytes_key] += bytes_read
    if ok:
        values[f"backup_completion_time{labels}"] = time.time()
        values[f"backup_duration_seconds{labels}"] = duration
    else:
        values[failures_key] += 1
    lines: list[str] = []
    for metric, (kind, help_text) in METRIC_HELP.items():
        series = sorted(k for k in values if k.split("{", 1)[0] == metric)
        if not series:
            continue
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}"]
        lines += [f"{k} {values[k]:.17g}" for k in series]
    text = "\n".join(lines) + "\n"
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(text)
        tmp.replace(path)
    if pushgateway:
        url = f"{pushgateway.rstrip('/')}/metrics/job/backup/class/{backup_class}"
        req = urllib.request.Request(url, data=text.encode(), method="PUT")
        req.add_header("Content-Type", "text/plain; version=0.0.4")
        with urllib.request.urlopen(req, timeout=10):
            pass

"""Progress on a terminal, structured JSON log lines for jobs, and Prometheus textfile metrics."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
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


def _updated(
    previous: dict[str, float],
    labels: str,
    *,
    ok: bool,
    bytes_read: int,
    duration: float,
    init_counters: bool = True,
) -> tuple[dict[str, float], set[str]]:
    """Every series after this run, and the names of the metrics this run changed.

    With ``init_counters`` a counter missing from ``previous`` is created at 0 (so the first failure is
    an increase); without it (previous values unknown) only the counter this run changes is sent.
    """
    values = dict(previous)
    failures_key = f"backup_failures_total{labels}"
    bytes_key = f"backup_bytes_total{labels}"
    changed: set[str] = set()
    for key in (failures_key, bytes_key) if init_counters else ():
        if key not in values:
            values[key] = 0.0
            changed.add(key.split("{", 1)[0])
    if ok:
        values[bytes_key] = values.get(bytes_key, 0.0) + bytes_read
        values[f"backup_completion_time{labels}"] = time.time()
        values[f"backup_duration_seconds{labels}"] = duration
        changed |= {"backup_bytes_total", "backup_completion_time", "backup_duration_seconds"}
    else:
        values[failures_key] = values.get(failures_key, 0.0) + 1
        changed.add("backup_failures_total")
    return values, changed


def _render(values: dict[str, float], names: set[str] | None = None) -> str:
    """Text exposition format (HELP/TYPE per metric) of ``values``, limited to metric ``names``."""
    lines: list[str] = []
    for metric, (kind, help_text) in METRIC_HELP.items():
        if names is not None and metric not in names:
            continue
        series = sorted(k for k in values if k.split("{", 1)[0] == metric)
        if not series:
            continue
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}"]
        lines += [f"{k} {values[k]:.17g}" for k in series]
    return "\n".join(lines) + "\n"


def pushgateway_group_values(base_url: str, backup_class: str, timeout: float = 10) -> dict[str, float]:
    """The current series of the group ``job=backup, class=<class>`` (Pushgateway ``/api/v1/metrics``).

    A CronJob pod has no file that outlives it, so counters are carried across runs by reading them
    back from the Pushgateway, as the textfile collector path re-reads its file.
    """
    import urllib.request  # lazily: http.client + email cost ~25 ms of every run's start-up

    with urllib.request.urlopen(f"{base_url.rstrip('/')}/api/v1/metrics", timeout=timeout) as resp:
        doc = json.loads(resp.read())
    labels = f'{{class="{backup_class}"}}'
    values: dict[str, float] = {}
    for group in doc.get("data") or []:
        if group.get("labels") != {"job": "backup", "class": backup_class}:
            continue
        for metric in METRIC_HELP:
            for series in (group.get(metric) or {}).get("metrics") or []:
                with contextlib.suppress(TypeError, ValueError):
                    values[f"{metric}{labels}"] = float(series["value"])
    return values


def push_metrics(
    base_url: str, backup_class: str, *, ok: bool, bytes_read: int, duration: float, timeout: float = 10
) -> str:
    """POSTs this run's metrics to the group ``job=backup, class=<class>``; returns a warning or "".

    POST (not PUT) replaces only the metric names in the body, so a failed run, which sends
    ``backup_failures_total`` alone, leaves the last success's ``backup_completion_time`` (and the
    staleness alert built on it) in place. Counters continue from the group's current values; if those
    cannot be read the counters restart from 0, which Prometheus treats as a counter reset.
    """
    warning = ""
    known = True
    try:
        previous = pushgateway_group_values(base_url, backup_class, timeout)
    except (OSError, ValueError) as err:
        previous, known = {}, False
        warning = f"could not read previous counters from the Pushgateway ({err}); counters restart at 0"
    values, changed = _updated(
        previous,
        f'{{class="{backup_class}"}}',
        ok=ok,
        bytes_read=bytes_read,
        duration=duration,
        init_counters=known,
    )
    import urllib.request

    url = f"{base_url.rstrip('/')}/metrics/job/backup/class/{backup_class}"
    req = urllib.request.Request(url, data=_render(values, changed).encode(), method="POST")
    req.add_header("Content-Type", "text/plain; version=0.0.4")
    with urllib.request.urlopen(req, timeout=timeout):
        pass
    return warning


def write_metrics(
    path: Path | None,
    pushgateway: str | None,
    *,
    backup_class: str,
    ok: bool,
    bytes_read: int,
    duration: float,
) -> str:
    """Writes the node_exporter textfile atomically and/or pushes to a Pushgateway; returns a warning or ""."""
    if path:
        values, _ = _updated(
            _read_counters(path), f'{{class="{backup_class}"}}', ok=ok, bytes_read=bytes_read, duration=duration
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(_render(values))
        tmp.replace(path)
    if pushgateway:
        return push_metrics(pushgateway, backup_class, ok=ok, bytes_read=bytes_read, duration=duration)
    return ""

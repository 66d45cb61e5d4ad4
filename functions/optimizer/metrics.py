"""Counters for the --json report and Prometheus text format (file for node-exporter, or a Pushgateway).

A Job is short-lived, so it cannot be scraped: it writes the exposition to a file (textfile collector) or
PUTs it to a Pushgateway. Names follow Prometheus conventions (``_total`` counters, ``_seconds`` units).
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

_HELP = {
    "optimizer_files_total": ("counter", "Files processed (success or failure), by kind."),
    "optimizer_failures_total": ("counter", "Files that failed, by kind."),
    "optimizer_bytes_in_total": ("counter", "Source bytes of successfully optimized files, by kind."),
    "optimizer_bytes_out_total": ("counter", "Bytes a client downloads for the optimized result, by kind."),
    "optimizer_duration_seconds": ("summary", "Processing time per file, by kind."),
}


@dataclass
class Metrics:
    """Per-kind counters; ``record`` is called once per file."""

    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes_out: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def record(self, kind: str, *, ok: bool, bytes_in: int, bytes_out: int, seconds: float) -> None:
        """Count one file; bytes only for successes so the in/out ratio is the real reduction."""
        self.files[kind] += 1
        self.failures[kind] += 0 if ok else 1
        self.bytes_in[kind] += bytes_in if ok else 0
        self.bytes_out[kind] += bytes_out if ok else 0
        self.seconds[kind] += seconds

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def summary(self) -> dict[str, float]:
        total_in, total_out = sum(self.bytes_in.values()), sum(self.bytes_out.values())
        return {
            "files": sum(self.files.values()),
            "failures": self.failed,
            "bytes_in": total_in,
            "bytes_out": total_out,
            "bandwidth_reduction": round(1 - total_out / total_in, 4) if total_in else 0.0,
            "seconds": round(sum(self.seconds.values()), 3),
        }

    def prometheus(self) -> str:
        """Text exposition format 0.0.4 (checked with ``promtool check metrics`` in the tests)."""
        series: dict[str, dict[str, float]] = {
            "optimizer_files_total": dict(self.files),
            "optimizer_failures_total": {k: self.failures[k] for k in self.files},
            "optimizer_bytes_in_total": dict(self.bytes_in),
            "optimizer_bytes_out_total": dict(self.bytes_out),
        }
        lines: list[str] = []
        for metric, values in series.items():
            kind, text = _HELP[metric]
            lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}"]
            lines += [f'{metric}{{kind="{k}"}} {_number(v)}' for k, v in sorted(values.items())]
        kind, text = _HELP["optimizer_duration_seconds"]
        lines += [f"# HELP optimizer_duration_seconds {text}", f"# TYPE optimizer_duration_seconds {kind}"]
        for k in sorted(self.files):
            lines.append(f'optimizer_duration_seconds_sum{{kind="{k}"}} {_number(round(self.seconds[k], 6))}')
            lines.append(f'optimizer_duration_seconds_count{{kind="{k}"}} {self.files[k]}')
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def push(metrics: Metrics, gateway: str, job: str = "optimizer", timeout: float = 10.0) -> None:
    """PUT the exposition to a Pushgateway (replaces this job's group, so counts are per run)."""
    url = f"{gateway.rstrip('/')}/metrics/job/{urllib.parse.quote(job, safe='')}"
    request = urllib.request.Request(
        url,
        data=metrics.prometheus().encode(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            msg = f"pushgateway {url} answered {response.status}"
            raise OSError(msg)

"""Controller metrics: Prometheus text format to a Pushgateway and/or CloudWatch ``put_metric_data``.

All gauges (a controller run is short-lived; counters would need state it does not keep). Pushgateway group
``job=dr_controller, database_id=<id>``, sent with POST so only the names in the body are replaced: a probe
update leaves the last promotion's figures in place.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

METRICS: dict[str, tuple[str, str]] = {
    "dr_controller_primary_up": ("None", "1 when the last DR-side probe of the primary succeeded."),
    "dr_controller_consecutive_failures": ("Count", "Failed probes of the primary in a row."),
    "dr_controller_promotion_held": ("None", "1 while a confirmed outage waits for `failover --confirm`."),
    "dr_controller_promoted": ("None", "1 once the DR database is the writer."),
    "dr_controller_promotion_seconds": ("Seconds", "Promote call to a committed write, last promotion."),
    "dr_controller_rto_seconds": ("Seconds", "First failed probe to a writable promoted database, last failover."),
    "dr_controller_last_failover_timestamp_seconds": ("Seconds", "Unix time the last failover finished."),
    "dr_controller_failover_success": ("None", "1 when the last failover attempt succeeded, 0 when it failed."),
    "dr_controller_last_drill_timestamp_seconds": ("Seconds", "Unix time of the last drill."),
    "dr_controller_drill_success": ("None", "1 when every step of the last drill passed."),
    "dr_controller_standby_replay_age_seconds": (
        "Seconds",
        "Age of the last transaction the warm standby replayed, once per watch run after a heartbeat commit on the "
        "primary (so an idle primary does not age it): archive_timeout + push + restore retry when healthy.",
    ),
}


def render(values: dict[str, float]) -> str:
    """Text exposition format (HELP/TYPE per metric); unknown names are a programming error."""
    lines: list[str] = []
    for name in sorted(values):
        _, help_text = METRICS[name]
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {values[name]:.17g}"]
    return "\n".join(lines) + "\n"


class Metrics:
    """Sends each batch to every configured sink; a sink that fails becomes a warning, never an abort."""

    def __init__(
        self,
        database_id: str,
        *,
        pushgateway_url: str | None = None,
        cloudwatch: Any = None,
        namespace: str | None = None,
        timeout: float = 5,
    ) -> None:
        self.database_id = database_id
        self.pushgateway_url = pushgateway_url
        self.cloudwatch = cloudwatch
        self.namespace = namespace
        self.timeout = timeout
        self.sent: dict[str, float] = {}
        self.warnings: list[str] = []

    def send(self, values: dict[str, float], wall: float) -> None:
        unknown = set(values) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}")
        self.sent.update(values)
        if self.pushgateway_url:
            try:
                self._push(values)
            except OSError as err:
                self.warnings.append(f"pushgateway {self.pushgateway_url}: {err}")
        if self.cloudwatch is not None and self.namespace:
            try:
                self._cloudwatch(values, wall)
            except Exception as err:  # botocore errors of every kind: the failover goes on
                self.warnings.append(f"cloudwatch {self.namespace}: {err}")

    def _push(self, values: dict[str, float]) -> None:
        base = (self.pushgateway_url or "").rstrip("/")
        url = f"{base}/metrics/job/dr_controller/database_id/{urllib.parse.quote(self.database_id, safe='')}"
        request = urllib.request.Request(url, data=render(values).encode(), method="POST")
        request.add_header("Content-Type", "text/plain; version=0.0.4")
        with urllib.request.urlopen(request, timeout=self.timeout):
            pass

    def _cloudwatch(self, values: dict[str, float], wall: float) -> None:
        import datetime as dt

        stamp = dt.datetime.fromtimestamp(wall, dt.UTC)
        data = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "DatabaseId", "Value": self.database_id}],
                "Timestamp": stamp,
                "Value": float(value),
                "Unit": METRICS[name][0],
            }
            for name, value in sorted(values.items())
        ]
        for start in range(0, len(data), 1000):  # the API's per-call limit
            self.cloudwatch.put_metric_data(Namespace=self.namespace, MetricData=data[start : start + 1000])

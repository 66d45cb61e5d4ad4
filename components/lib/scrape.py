"""What Prometheus scrapes, declared by the component that runs it.

A component whose pods serve metrics returns :class:`ScrapeTarget` values (``scrape_targets()``); the
Platform hands them all to the monitoring component, which renders one ServiceMonitor or PodMonitor per
target. Each target also names the metric series it exports, so a stack-wide rule can check that every
series a query reads (alert rules, KEDA triggers, adapter rules, the forecaster, dashboards) has a
producer: the monitor carries them in the :data:`METRICS_ANNOTATION` annotation.

Series names, not family names: a histogram ``http_request_duration_seconds`` is listed as its
``_bucket``, ``_sum`` and ``_count`` series, which is what PromQL names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

METRICS_ANNOTATION = "platform.example.com/metrics"
"""Comma-separated series names the monitor's target exports (sorted)."""
PUSHED_ANNOTATION = "platform.example.com/pushed-metrics"
"""On the Pushgateway's monitor: JSON object ``{push job: [series, ...]}`` of what batch jobs push to it."""

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_PORT_NAME = r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$"
_DURATION = r"^[0-9]+(ms|s|m|h)$"


def _metric_names(values: tuple[str, ...]) -> tuple[str, ...]:
    bad = [v for v in values if not _METRIC_NAME.match(v)]
    if bad:
        raise ValueError(f"not Prometheus metric names: {', '.join(map(repr, bad))} (allowed: {_METRIC_NAME.pattern})")
    return tuple(sorted(set(values)))


class PushedJob(BaseModel):
    """Series a batch job pushes to the Pushgateway under ``job=<job>`` (a Job lives too briefly to scrape)."""

    model_config = ConfigDict(frozen=True)

    job: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_-]*$", description="Pushgateway grouping key `job`.")
    producer: str = Field(description="Who pushes (CronJob name prefix or function), for people reading the plan.")
    metrics: tuple[str, ...] = Field(min_length=1, description="Series names pushed.")

    @field_validator("metrics")
    @classmethod
    def _valid_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _metric_names(value)


class ScrapeTarget(BaseModel):
    """One thing Prometheus scrapes: the Service (or pods) selected in ``namespace``, on the named port."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=_DNS_LABEL, description="Monitor name; unique in the stack.")
    kind: Literal["ServiceMonitor", "PodMonitor"] = Field(
        description="ServiceMonitor when a Service exposes the port (target labels then carry `service`); "
        "PodMonitor for pods without one (StatefulSet sidecars)."
    )
    namespace: str = Field(pattern=_DNS_LABEL, description="Namespace of the selected Service or pods.")
    selector: Mapping[str, str] = Field(min_length=1, description="matchLabels of the Service or pods.")
    port: str = Field(pattern=_PORT_NAME, description="Name of the port serving metrics.")
    path: str = Field(default="/metrics", pattern=r"^/", description="HTTP path of the exposition.")
    interval: str = Field(default="30s", pattern=_DURATION, description="Scrape interval.")
    honor_labels: bool = Field(
        default=False, description="Keep the scraped `job`/`instance` labels (the Pushgateway only)."
    )
    labels: Mapping[str, str] = Field(
        default_factory=dict, description="Static labels added to every series of the target (relabelings)."
    )
    metrics: tuple[str, ...] = Field(min_length=1, description="Series names the target exports.")
    pushed: tuple[PushedJob, ...] = Field(default=(), description="Pushgateway only: what batch jobs push to it.")

    @field_validator("metrics")
    @classmethod
    def _valid_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _metric_names(value)

    def all_metrics(self) -> tuple[str, ...]:
        """Every series scraping this target yields: its own plus, for a Pushgateway, the pushed ones."""
        return tuple(sorted({*self.metrics, *(m for job in self.pushed for m in job.metrics)}))


def duplicate_names(targets: tuple[ScrapeTarget, ...] | list[ScrapeTarget]) -> list[str]:
    """Monitor names used by more than one target (each becomes one object: names must be unique)."""
    names = [t.name for t in targets]
    return sorted({n for n in names if names.count(n) > 1})


def selector_text(selector: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))

"""Grafana dashboards (operations, performance, disaster recovery) as plain dashboard JSON models.

Panels use the metric names of :data:`components.monitoring.component.METRICS`, the same ones the alert rules use,
and draw the alert thresholds from config as red threshold lines, so a dashboard shows exactly the line
an alert fires at. Queries are PromQL; tests evaluate every one of them with promtool against series of
the catalogued metrics, so a misspelt metric shows up as an empty panel in a test, not in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.backup.config import DataClass, DataClassSettings
from components.monitoring.config import MonitoringSettings, Thresholds
from components.monitoring.rules import P95_WINDOW, RATE_WINDOW, backup_max_age_seconds

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]
    """(PromQL, legend) pairs."""
    unit: str = "short"
    threshold: float | None = None
    kind: str = "timeseries"


def _threshold_steps(threshold: float | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
    return {"mode": "absolute", "steps": steps}


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    custom = {"thresholdsStyle": {"mode": "line"}} if panel.kind == "timeseries" and panel.threshold else {}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": 12, "h": 8},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
            for i, (expr, legend) in enumerate(panel.queries)
        ],
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "thresholds": _threshold_steps(panel.threshold), "custom": custom},
            "overrides": [],
        },
        "options": {},
    }


def dashboard(uid: str, title: str, panels: list[Panel]) -> dict[str, Any]:
    """A Grafana dashboard JSON model: two panels per row, a Prometheus datasource variable, UTC."""
    return {
        "uid": uid,
        "title": title,
        "tags": ["platform"],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            ]
        },
        "panels": [_panel(p, i + 1, (i % 2) * 12, (i // 2) * 8) for i, p in enumerate(panels)],
    }


def _error_ratio() -> str:
    return (
        f'sum by (service) (rate(http_requests_total{{code=~"5.."}}[{RATE_WINDOW}]))'
        f" / sum by (service) (rate(http_requests_total[{RATE_WINDOW}]))"
    )


def _p_latency(quantile: float) -> str:
    return (
        f"histogram_quantile({quantile:g}, sum by (service, le) "
        f"(rate(http_request_duration_seconds_bucket[{P95_WINDOW}])))"
    )


def dashboards(
    settings: MonitoringSettings, backup_classes: Mapping[DataClass, DataClassSettings]
) -> dict[str, dict[str, Any]]:
    """The three seed dashboards, keyed by the short name used for the ConfigMap and file name."""
    t = settings.thresholds
    return {
        "operations": dashboard("platform-operations", "Platform / Operations", _operations_panels(t)),
        "performance": dashboard("platform-performance", "Platform / Performance", _performance_panels(t)),
        "disaster-recovery": dashboard(
            "platform-dr", "Platform / Disaster recovery", _disaster_recovery_panels(t, backup_classes)
        ),
    }


def _operations_panels(t: Thresholds) -> list[Panel]:
    """Is it up: firing alerts, traffic, errors, replicas, cache and database reachability."""
    return [
        Panel("Firing alerts by severity", (('sum by (severity) (ALERTS{alertstate="firing"})', "{{severity}}"),)),
        Panel("Requests per second", ((f"sum by (service) (rate(http_requests_total[{RATE_WINDOW}]))", "{{service}}"),), "reqps"),
        Panel("5xx error ratio", ((_error_ratio(), "{{service}}"),), "percentunit", t.error_rate_ratio),
        Panel(
            "Available replicas",
            (("sum by (deployment) (kube_deployment_status_replicas_available)", "{{deployment}}"),
             ("sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas)",
              "hpa {{horizontalpodautoscaler}}")),
        ),
        Panel("Redis nodes up", (("sum(redis_up)", "up"),), kind="stat"),
        Panel("PostgreSQL reachable", (("min by (instance) (pg_up)", "{{instance}}"),), kind="stat", threshold=None),
    ]  # fmt: skip


def _performance_panels(t: Thresholds) -> list[Panel]:
    """Is it fast: latency percentiles, cache effectiveness and pod resources, lined against the thresholds."""
    return [
        Panel(
            "Latency p50 / p95 / p99",
            tuple((_p_latency(q), f"p{int(q * 100)} {{{{service}}}}") for q in (0.5, 0.95, 0.99)),
            "s",
            t.p95_latency_seconds,
        ),
        Panel(
            "Mean response time",
            ((f"sum by (service) (rate(http_request_duration_seconds_sum[{RATE_WINDOW}])) / sum by (service) "
              f"(rate(http_request_duration_seconds_count[{RATE_WINDOW}]))", "{{service}}"),),
            "s",
            None,  # the response-time alert reads the p95 (panel above), not the mean
        ),
        Panel(
            "Cache hit rate",
            ((f"sum by (job) (rate(redis_keyspace_hits_total[{RATE_WINDOW}])) / (sum by (job) "
              f"(rate(redis_keyspace_hits_total[{RATE_WINDOW}])) + sum by (job) "
              f"(rate(redis_keyspace_misses_total[{RATE_WINDOW}])))", "{{job}}"),),
            "percentunit",
            t.cache_hit_rate_min,
        ),
        Panel(
            "Cache memory of maxmemory",
            (("redis_memory_used_bytes / redis_memory_max_bytes and redis_memory_max_bytes > 0", "{{instance}}"),),
            "percentunit",
            t.cache_memory_ratio,
        ),
        Panel("Cache evictions per second", ((f"sum by (job) (rate(redis_evicted_keys_total[{RATE_WINDOW}]))", "{{job}}"),)),
        Panel("Redis clients", (("sum by (job) (redis_connected_clients)", "{{job}}"),)),
        Panel(
            "CPU by pod",
            ((f'sum by (pod) (rate(container_cpu_usage_seconds_total{{container!=""}}[{P95_WINDOW}]))', "{{pod}}"),),
        ),
        Panel("Memory by pod", (('sum by (pod) (container_memory_working_set_bytes{container!=""})', "{{pod}}"),), "bytes"),
    ]  # fmt: skip


def _disaster_recovery_panels(t: Thresholds, backup_classes: Mapping[DataClass, DataClassSettings]) -> list[Panel]:
    """Can we recover: backup age, failures, duration and throughput, replication lag, Velero snapshots.

    The backup-age line is the soonest a class's BackupStale alert fires.
    """
    stale_limit = min(
        (backup_max_age_seconds(c.schedule, t.backup_missed_runs) for c in backup_classes.values()), default=None
    )
    return [
        Panel("Age of last successful backup", (("time() - backup_completion_time", "{{class}}"),), "s", stale_limit),
        Panel(
            "Backup failures (24h)",
            (("sum by (class) (increase(backup_failures_total[24h]))", "{{class}}"),),
            kind="stat",
            threshold=1,
        ),
        Panel("Backup duration", (("backup_duration_seconds", "{{class}}"),), "s"),
        Panel("Backup throughput", ((f"sum by (class) (rate(backup_bytes_total[{P95_WINDOW}]))", "{{class}}"),), "Bps"),
        Panel(
            "Replication lag (RPO)",
            (("max by (instance) (pg_replication_lag_seconds)", "{{instance}}"),),
            "s",
            t.replication_lag_seconds,
        ),
        Panel("Database connections", (("sum by (instance) (pg_stat_database_numbackends)", "{{instance}}"),)),
        Panel(
            "Velero: age of last app-state snapshot",
            (("time() - velero_backup_last_successful_timestamp", "{{schedule}}"),),
            "s",
        ),
        Panel(
            "Velero failures (24h)",
            (("sum by (schedule) (increase(velero_backup_failure_total[24h]))", "{{schedule}}"),),
            kind="stat",
            threshold=1,
        ),
    ]  # fmt: skip


def panel_queries(model: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard JSON model."""
    return [target["expr"] for panel in model["panels"] for target in panel.get("targets", [])]

"""The alert rules and their windows, as plain data: what each PrometheusRule group holds.

Pure builders (no Pulumi): the component renders them into ``PrometheusRule`` objects, the dashboards read
the same windows and metric names, and the tests hand them to promtool. ``METRICS`` catalogues every metric a
rule or panel may name and what produces it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from components.backup.config import DataClass, DataClassSettings
from components.lib.k8s import app_labels
from components.monitoring.config import MonitoringSettings, Severity, Thresholds

#: Every metric a rule or a dashboard may use, and what produces it. A query naming anything else is a
#: typo or a missing exporter; tests/components/test_dashboards.py checks every panel against this.
METRICS: dict[str, str] = {
    "http_requests_total": "services (counter; labels service, code)",
    "http_request_duration_seconds_bucket": "services (histogram; labels service, le)",
    "http_request_duration_seconds_sum": "services (histogram)",
    "http_request_duration_seconds_count": "services (histogram)",
    "redis_up": "redis_exporter",
    "redis_memory_used_bytes": "redis_exporter",
    "redis_memory_max_bytes": "redis_exporter (0 when maxmemory is unset)",
    "redis_keyspace_hits_total": "redis_exporter",
    "redis_keyspace_misses_total": "redis_exporter",
    "redis_evicted_keys_total": "redis_exporter",
    "redis_connected_clients": "redis_exporter",
    "pg_up": "postgres_exporter (0 when it cannot connect)",
    "pg_replication_lag_seconds": "postgres_exporter on the replica (0 on a primary)",
    "pg_stat_database_numbackends": "postgres_exporter",
    "backup_completion_time": "backup function (gauge, unix seconds of the last success; label class)",
    "backup_failures_total": "backup function (counter; label class)",
    "backup_duration_seconds": "backup function (gauge; label class)",
    "backup_bytes_total": "backup function (counter; label class)",
    "dr_drill_last_success_timestamp_seconds": "restore drill (gauge, unix seconds of the last passing drill)",
    "velero_backup_last_successful_timestamp": "velero (label schedule)",
    "velero_backup_failure_total": "velero (label schedule)",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_job_failed": "kube-state-metrics (1 per Job and condition; label job_name)",
    "kube_job_status_start_time": "kube-state-metrics (unix seconds; label job_name)",
    "kube_horizontalpodautoscaler_status_current_replicas": "kube-state-metrics",
    "container_cpu_usage_seconds_total": "cAdvisor (kubelet)",
    "container_memory_working_set_bytes": "cAdvisor (kubelet)",
    "ALERTS": "Prometheus (one series per pending/firing alert)",
}

RATE_WINDOW = "1m"
"""Window of rate() in the alert rules: short, so the rules' ``for`` is what sets the delay (seed: 2 m, 5 m)."""
P95_WINDOW = "5m"
"""A quantile needs enough observations per bucket; 5 m is the usual minimum for a p95."""
BACKUP_FAILURE_WINDOW = "15m"
"""How long a failed backup keeps its alert firing (the counter's increase over this window)."""


@dataclass(frozen=True)
class AlertRule:
    """One Prometheus alerting rule; ``group`` names the PrometheusRule it is rendered into."""

    group: str
    alert: str
    expr: str
    severity: Severity
    summary: str
    description: str
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def rule(self, namespace: str) -> dict[str, Any]:
        body: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_:
            body["for"] = self.for_
        body["labels"] = {"severity": self.severity, "namespace": namespace, **self.labels}
        body["annotations"] = {"summary": self.summary, "description": self.description}
        return body


def _pct(ratio: float) -> str:
    return f"{ratio * 100:g}%"


def _sustained(
    group: str,
    alert: str,
    expr: str,
    for_: str,
    severity: Severity,
    *,
    summary: str,
    condition: str,
    consequence: str = "",
) -> AlertRule:
    """A rule that fires once ``expr`` has held for ``for_``, described as "<condition> for <for_><consequence>.".

    The duration the on-call reads in the description is the ``for`` Prometheus waits, written once: a
    threshold's ``*_for`` changed in config cannot leave a description quoting the old one.
    """
    return AlertRule(
        group=group,
        alert=alert,
        expr=expr,
        for_=for_,
        severity=severity,
        summary=summary,
        description=f"{condition} for {for_}{consequence}.",
    )


def schedule_interval_seconds(schedule: str, samples: int = 64) -> int:
    """The longest gap between consecutive runs of a cron schedule (over the next ``samples`` runs)."""
    from croniter import croniter

    runs = croniter(schedule, datetime(2025, 1, 1, tzinfo=UTC))
    times = [runs.get_next(float) for _ in range(samples + 1)]
    return int(max(b - a for a, b in itertools.pairwise(times)))


def backup_max_age_seconds(schedule: str, missed_runs: int) -> int:
    """Age of the last successful backup after which ``missed_runs`` scheduled runs have not succeeded."""
    return missed_runs * schedule_interval_seconds(schedule)


def alert_rules(settings: MonitoringSettings, backup_classes: Mapping[DataClass, DataClassSettings]) -> list[AlertRule]:
    """Every alert, thresholds from config. Pure: the tests render and run these through promtool."""
    t = settings.thresholds
    return [*_http_rules(t), *_cache_rules(t), *_database_rules(t), *_backup_rules(t, backup_classes)]


def _http_rules(t: Thresholds) -> list[AlertRule]:
    """What users feel, per service: 5xx ratio, the seed's p95 response time (2000 ms) and the stricter p95 API
    latency target (500 ms) as its own rule, so each has its own delay and routing."""
    http_errors = (
        f'sum by (service) (rate(http_requests_total{{code=~"5.."}}[{RATE_WINDOW}]))\n'
        f"  / sum by (service) (rate(http_requests_total[{RATE_WINDOW}]))"
    )

    def p95_over(threshold: float) -> str:
        return (
            "histogram_quantile(0.95,\n"
            f"  sum by (service, le) (rate(http_request_duration_seconds_bucket[{P95_WINDOW}]))\n"
            f") > {threshold:g}"
        )

    return [
        _sustained(
            "platform-http",
            "HighErrorRate",
            f"{http_errors}\n  > {t.error_rate_ratio:g}",
            t.error_rate_for,
            "critical",
            summary="{{ $labels.service }}: 5xx responses above " + _pct(t.error_rate_ratio),
            condition="More than " + _pct(t.error_rate_ratio) + " of {{ $labels.service }}'s requests failed with 5xx",
        ),
        _sustained(
            "platform-http",
            "HighResponseTime",
            p95_over(t.response_time_seconds),
            t.response_time_for,
            "high",
            summary=f"{{{{ $labels.service }}}}: p95 response time above {t.response_time_seconds:g}s",
            condition=(
                f"The 95th percentile of {{{{ $labels.service }}}}'s response time stayed above "
                f"{t.response_time_seconds:g}s"
            ),
        ),
        _sustained(
            "platform-http",
            "LatencyP95AboveTarget",
            p95_over(t.p95_latency_seconds),
            t.p95_latency_for,
            "high",
            summary=f"{{{{ $labels.service }}}}: p95 latency above the {t.p95_latency_seconds:g}s target",
            condition=(
                f"The 95th percentile of {{{{ $labels.service }}}}'s request duration stayed above "
                f"{t.p95_latency_seconds:g}s"
            ),
        ),
    ]


def _cache_rules(t: Thresholds) -> list[AlertRule]:
    """A Redis node down, memory near maxmemory (evictions next), a hit rate too low to shield the database."""
    return [
        _sustained(
            "platform-cache",
            "CacheNodeDown",
            # Per node (the exporter's pod label stays): a master lost to a crash is failed over by the cluster,
            # but until someone replaces it the shard runs without a replica.
            "redis_up == 0",
            t.cache_down_for,
            "high",
            summary="Redis {{ $labels.instance }}: node down",
            condition="Redis node {{ $labels.instance }} does not answer its exporter",
            consequence="; its shard has lost a copy",
        ),
        _sustained(
            "platform-cache",
            "CacheMemoryCritical",
            # maxmemory 0 (unset) makes the ratio +Inf: the `and` keeps such nodes out instead of paging.
            (
                f"redis_memory_used_bytes / redis_memory_max_bytes > {t.cache_memory_ratio:g}\n"
                "  and redis_memory_max_bytes > 0"
            ),
            t.cache_memory_for,
            "critical",
            summary="Redis {{ $labels.instance }}: memory above " + _pct(t.cache_memory_ratio) + " of maxmemory",
            condition=(
                "Redis node {{ $labels.instance }} uses more than " + _pct(t.cache_memory_ratio) + " of its maxmemory"
            ),
            consequence="; evictions follow",
        ),
        _sustained(
            "platform-cache",
            "CacheHitRateLow",
            (
                f"sum by (job) (rate(redis_keyspace_hits_total[{RATE_WINDOW}]))\n"
                f"  / (sum by (job) (rate(redis_keyspace_hits_total[{RATE_WINDOW}]))"
                f" + sum by (job) (rate(redis_keyspace_misses_total[{RATE_WINDOW}])))\n"
                f"  < {t.cache_hit_rate_min:g}"
            ),
            t.cache_hit_rate_for,
            "medium",
            summary="Redis {{ $labels.job }}: hit rate below " + _pct(t.cache_hit_rate_min),
            condition="Fewer than " + _pct(t.cache_hit_rate_min) + " of {{ $labels.job }}'s lookups hit",
        ),
    ]


def _database_rules(t: Thresholds) -> list[AlertRule]:
    """PostgreSQL unreachable, and replica lag (the data a failover would lose)."""
    return [
        _sustained(
            "platform-database",
            "DatabaseConnectionFailure",
            "pg_up == 0",
            t.database_down_for,
            "critical",
            summary="PostgreSQL {{ $labels.instance }}: connections failing",
            condition="postgres_exporter could not connect to {{ $labels.instance }}",
        ),
        _sustained(
            "platform-database",
            "ReplicationLagHigh",
            f"pg_replication_lag_seconds > {t.replication_lag_seconds:g}",
            t.replication_lag_for,
            "high",
            summary=f"Replica {{{{ $labels.instance }}}}: lag above {t.replication_lag_seconds:g}s",
            condition=f"Replica {{{{ $labels.instance }}}} is more than {t.replication_lag_seconds:g}s behind",
            consequence="; a failover now would lose that much data (RPO)",
        ),
    ]


def _backup_rules(t: Thresholds, backup_classes: Mapping[DataClass, DataClassSettings]) -> list[AlertRule]:
    """A failed run now, and per class a last success older than ``backup_missed_runs`` of its schedule."""
    rules = [
        AlertRule(
            group="platform-backup",
            alert="BackupFailed",
            expr=f"increase(backup_failures_total[{BACKUP_FAILURE_WINDOW}]) > 0",
            severity="critical",
            summary="Backup of class {{ $labels.class }} failed",
            description=(
                "A backup run of class {{ $labels.class }} failed in the last "
                f"{BACKUP_FAILURE_WINDOW}; see the backup job's logs."
            ),
        ),
    ]
    for name, data_class in sorted(backup_classes.items()):
        max_age = backup_max_age_seconds(data_class.schedule, t.backup_missed_runs)
        rules.append(
            AlertRule(
                group="platform-backup",
                alert="BackupStale",
                expr=f'time() - backup_completion_time{{class="{name}"}} > {max_age}',
                severity="high",
                labels={"class": name},  # distinct label sets: promtool flags same-name rules without them
                summary=f"No successful {name} backup for {max_age}s",
                description=(
                    f"The last successful backup of class {name} is older than {t.backup_missed_runs} runs of "
                    f"its schedule ({data_class.schedule}), {max_age}s."
                ),
            )
        )
    return rules


def recovery_duty_rules(*, drill_max_age_seconds: int | None, wal_push_bound_seconds: int | None) -> list[AlertRule]:
    """What the recovery figures assume: a drill that passed recently, and WAL pushes within the bound the
    exported RPO adds to archive_timeout. Either is None when the stack has no drill / no archive_command."""
    rules: list[AlertRule] = []
    if drill_max_age_seconds is not None:
        days = drill_max_age_seconds // 86_400
        rules += [
            AlertRule(
                group="platform-backup",
                alert="DrillStale",
                expr=f"time() - max(dr_drill_last_success_timestamp_seconds) > {drill_max_age_seconds}",
                severity="high",
                summary=f"No successful restore drill for {days} days",
                description=(
                    f"The last restore drill that passed every check is older than {days} days; the restore time "
                    "and data age are unproven since. See the backup-drill CronJob's logs."
                ),
            ),
            AlertRule(
                group="platform-backup",
                alert="DrillNeverSucceeded",
                expr="absent(dr_drill_last_success_timestamp_seconds)",
                for_=f"{days * 24}h",
                severity="high",
                summary=f"No restore drill has passed in {days} days",
                description="The Pushgateway holds no successful drill at all; the drill has never passed here.",
            ),
        ]
    if wal_push_bound_seconds is not None:
        rules.append(
            AlertRule(
                group="platform-backup",
                alert="WalPushSlow",
                expr=f'backup_duration_seconds{{class="wal"}} > {wal_push_bound_seconds}',
                severity="high",
                summary=f"A WAL segment took more than {wal_push_bound_seconds}s to reach the vaults",
                description=(
                    f"The last wal-push took longer than the {wal_push_bound_seconds}s the exported RPO of every "
                    "vault assumes (archive_timeout + push bound); the copies are staler than the outputs say."
                ),
            )
        )
    return rules


def rule_groups(rules: list[AlertRule], namespace: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        groups.setdefault(rule.group, []).append(rule.rule(namespace))
    return groups


def prometheus_rule_manifests(
    settings: MonitoringSettings, rules: list[AlertRule], namespace: str
) -> list[dict[str, Any]]:
    """One PrometheusRule per group, with the release label kube-prometheus-stack selects on."""
    manifests = []
    for group, group_rules in rule_groups(rules, namespace).items():
        manifests.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": {
                    "name": group,
                    "namespace": namespace,
                    "labels": {**app_labels("monitoring", "alerts"), "release": settings.release_label},
                },
                "spec": {"groups": [{"name": group, "rules": group_rules}]},
            }
        )
    return manifests

"""Scrape targets the monitoring package declares itself: things no component of the stack runs.

- The Pushgateway (kube-prometheus-stack's companion chart), scraped with ``honorLabels`` and carrying what the
  batch jobs push to it;
- Velero's metrics Service, when the stack schedules Velero backups;
- a database exporter Service named in config, or ``postgres_exporter`` Deployments this package runs for
  databases without an exporter of their own (RDS: the primary and the DR replica);
- the series kube-prometheus-stack collects with its own monitors (kube-state-metrics, the kubelet's
  cAdvisor, Prometheus itself), declared in one ConfigMap so a query over them has a named producer too.
"""

from __future__ import annotations

from components.lib.scrape import PushedJob, ScrapeTarget
from components.monitoring.config import MonitoringSettings

#: What the backup CLI pushes after every run (``functions/backup/report.py`` METRIC_HELP; a test keeps
#: the two equal).
BACKUP_PUSHED_METRICS = (
    "backup_completion_time",
    "backup_failures_total",
    "backup_bytes_total",
    "backup_duration_seconds",
)

#: The Pushgateway's own series (per pushed group).
PUSHGATEWAY_METRICS = ("push_time_seconds", "push_failure_time_seconds")

#: Series postgres_exporter v0.13+ serves by default (database, locks, replication and stat_database collectors).
POSTGRES_EXPORTER_METRICS = (
    "pg_up",
    "pg_replication_lag_seconds",
    "pg_replication_is_replica",
    "pg_stat_database_numbackends",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_deadlocks",
    "pg_database_size_bytes",
    "pg_locks_count",
)
POSTGRES_EXPORTER_PORT = 9187

#: Velero's server metrics the dashboards read.
VELERO_METRICS = (
    "velero_backup_last_successful_timestamp",
    "velero_backup_failure_total",
    "velero_backup_success_total",
    "velero_backup_attempt_total",
)

#: Series kube-prometheus-stack scrapes with monitors of its own (not rendered here: that would scrape twice).
CLUSTER_METRICS: dict[str, tuple[str, ...]] = {
    "kube-state-metrics": (
        "kube_deployment_status_replicas_available",
        "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_job_failed",
        "kube_job_status_failed",
        "kube_job_status_start_time",
    ),
    "kubelet": ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes"),
    "prometheus": ("ALERTS", "ALERTS_FOR_STATE", "up"),
}

METRIC_SOURCES_CONFIGMAP = "metric-sources"
METRIC_SOURCES_LABEL = "platform.example.com/metric-sources"


#: What the restore drill pushes (``functions/backup/drill.py`` METRICS; a test keeps the two equal).
DRILL_PUSHED_METRICS = (
    "dr_drill_last_success_timestamp_seconds",
    "dr_drill_last_run_timestamp_seconds",
    "dr_drill_success",
    "dr_drill_duration_seconds",
    "dr_drill_restore_seconds",
    "dr_drill_data_age_seconds",
)


def drill_pushed_job() -> PushedJob:
    return PushedJob(
        job="dr_drill",
        producer="restore drill CronJob (python -m functions.backup drill)",
        metrics=DRILL_PUSHED_METRICS,
    )


def backup_pushed_job() -> PushedJob:
    return PushedJob(
        job="backup", producer="backup CronJobs (python -m functions.backup)", metrics=BACKUP_PUSHED_METRICS
    )


def exporter_name(name: str) -> str:
    return f"postgres-exporter-{name}"


def external_targets(
    settings: MonitoringSettings, namespace: str, *, velero: bool, pushed: tuple[PushedJob, ...]
) -> list[ScrapeTarget]:
    """Monitors for what runs outside the stack's components, from ``monitoring.scrape``."""
    scrape = settings.scrape
    targets: list[ScrapeTarget] = []
    if scrape.pushgateway is not None:
        gw = scrape.pushgateway
        targets.append(
            ScrapeTarget(
                name="pushgateway",
                kind="ServiceMonitor",
                namespace=gw.namespace,
                selector=gw.selector,
                port=gw.port,
                path=gw.path,
                interval=scrape.interval,
                honor_labels=True,
                metrics=PUSHGATEWAY_METRICS,
                pushed=pushed,
            )
        )
    if velero and scrape.velero is not None:
        v = scrape.velero
        targets.append(
            ScrapeTarget(
                name="velero",
                kind="ServiceMonitor",
                namespace=v.namespace,
                selector=v.selector,
                port=v.port,
                path=v.path,
                interval=scrape.interval,
                metrics=VELERO_METRICS,
            )
        )
    if scrape.database is not None:
        db = scrape.database
        targets.append(
            ScrapeTarget(
                name="database",
                kind="ServiceMonitor",
                namespace=db.namespace,
                selector=db.selector,
                port=db.port,
                path=db.path,
                interval=scrape.interval,
                metrics=POSTGRES_EXPORTER_METRICS,
            )
        )
    targets += [
        ScrapeTarget(
            name=exporter_name(exporter.name),
            kind="PodMonitor",
            namespace=namespace,
            selector=exporter_selector(exporter.name),
            port="metrics",
            interval=scrape.interval,
            labels={"role": exporter.role, "database": exporter.name},
            metrics=POSTGRES_EXPORTER_METRICS,
        )
        for exporter in scrape.database_exporters
    ]
    return targets


def exporter_selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": exporter_name(name), "app.kubernetes.io/component": "database-exporter"}

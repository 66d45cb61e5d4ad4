"""Scheduled database maintenance as Kubernetes CronJobs (seed: daily 02:00, weekly Sunday 03:00, monthly
1st 04:00 UTC): VACUUM/ANALYZE, REINDEX CONCURRENTLY, FREEZE, log retention by config, and the application's
own SQL only where the config gives it.

Each SQL job's statements (built-in tasks first, then the app's SQL) go into one ConfigMap file run with ``psql -X -v ON_ERROR_STOP=1 -f``: psql
sends each statement in its own autocommit transaction (VACUUM and REINDEX CONCURRENTLY refuse to run in
a transaction block, which a single ``-c "a; b"`` would create), stops at the first error so a failed
cleanup fails the Job, and interpolates psql variables such as ``:"DBNAME"``. The database URL comes from a
Secret reference and reaches psql through Kubernetes' ``$(VAR)`` expansion, never through the manifest.

CronJob safety: ``concurrencyPolicy: Forbid`` (a slow VACUUM never overlaps the next run),
``startingDeadlineSeconds`` (a run missed during an outage is skipped, not replayed at rush hour),
``activeDeadlineSeconds`` (a hung run is killed), an explicit ``timeZone``, bounded history and retries.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, declare, pod_security_context
from components.maintenance.config import MaintenanceJob, MaintenanceSettings, RetentionRule

SQL_CONFIGMAP = "maintenance-sql"
SQL_MOUNT = "/etc/maintenance"
DATABASE_URL_ENV = "DATABASE_URL"

#: psql sets :DBNAME to the connected database; REINDEX DATABASE must name it (PostgreSQL 15).
TASK_SQL: dict[str, tuple[str, ...]] = {
    "vacuum_analyze": ("VACUUM (ANALYZE)",),
    "vacuum_freeze": ("VACUUM (FREEZE, ANALYZE)",),
    "analyze": ("ANALYZE",),
    # System catalogs cannot be reindexed concurrently: PostgreSQL skips them with a warning, the rest is online.
    "reindex_concurrently": ('REINDEX (VERBOSE) DATABASE CONCURRENTLY :"DBNAME"',),
    "reindex": ('REINDEX (VERBOSE) DATABASE :"DBNAME"',),
}


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted (``schema.table`` quoted part by part)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def retention_sql(rule: RetentionRule) -> str:
    """Delete rows older than ``keep_days`` in batches, each its own transaction (a procedure may COMMIT)."""
    table, column = quote_ident(rule.table), quote_ident(rule.timestamp_column)
    return (
        "DO $retention$ DECLARE deleted bigint; BEGIN LOOP "
        f"DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} "
        f"WHERE {column} < now() - interval '{rule.keep_days} days' LIMIT {rule.batch_size})); "
        "GET DIAGNOSTICS deleted = ROW_COUNT; "
        f"RAISE NOTICE 'retention {rule.table}: % rows', deleted; "
        "EXIT WHEN deleted = 0; COMMIT; END LOOP; END $retention$"
    )


def job_statements(job: MaintenanceJob, settings: MaintenanceSettings) -> list[str]:
    """Built-in tasks in their order (retention expands to one statement per rule), then the app's SQL."""
    statements: list[str] = []
    for task in job.tasks:
        if task == "retention":
            statements += [retention_sql(rule) for rule in settings.retention]
        else:
            statements += TASK_SQL[task]
    return statements + [s.strip() for s in job.sql]


def sql_script(job: MaintenanceJob, settings: MaintenanceSettings | None = None) -> str:
    """The file psql runs: one statement per line-terminated ``;``, stopping at the first error."""
    statements = job_statements(job, settings or MaintenanceSettings(jobs=(job,)))
    return "".join(f"{statement};\n" for statement in statements) or "SELECT 1;\n"


def job_argv(job: MaintenanceJob) -> list[str]:
    """The container command. ``$(DATABASE_URL)`` is expanded by the kubelet from the Secret-backed env."""
    if job.command:
        return list(job.command)
    return [
        "psql",
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "--echo-queries",
        "-d",
        f"$({DATABASE_URL_ENV})",
        "-f",
        f"{SQL_MOUNT}/{job.name}.sql",
    ]


def sql_configmap_manifest(settings: MaintenanceSettings, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": SQL_CONFIGMAP, "namespace": namespace, "labels": app_labels("maintenance", "sql")},
        "data": {f"{job.name}.sql": sql_script(job, settings) for job in settings.jobs if job.runs_sql},
    }


def cronjob_manifest(settings: MaintenanceSettings, job: MaintenanceJob, namespace: str) -> dict[str, Any]:
    name = f"maintenance-{job.name}"
    labels = app_labels(name, "maintenance")
    resources = settings.resources
    container: dict[str, Any] = {
        "name": "maintenance",
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "command": job_argv(job),
        "env": [
            {
                "name": DATABASE_URL_ENV,
                "valueFrom": {"secretKeyRef": {"name": settings.database_url_secret, "key": settings.database_url_key}},
            },
            {"name": "PGAPPNAME", "value": name},
        ],
        "resources": {
            "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
            "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
        },
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    if job.runs_sql:
        container["volumeMounts"].append({"name": "sql", "mountPath": SQL_MOUNT, "readOnly": True})
        volumes.append(
            {
                "name": "sql",
                "configMap": {
                    "name": SQL_CONFIGMAP,
                    "items": [{"key": f"{job.name}.sql", "path": f"{job.name}.sql"}],
                    "defaultMode": 0o444,
                },
            }
        )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "schedule": job.schedule,
            "timeZone": job.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": job.starting_deadline_seconds,
            "successfulJobsHistoryLimit": settings.history_limit,
            "failedJobsHistoryLimit": settings.history_limit,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": job.backoff_limit,
                    "activeDeadlineSeconds": job.deadline_seconds,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "restartPolicy": "Never",
                            "automountServiceAccountToken": False,
                            "securityContext": pod_security_context(settings.run_as_user),
                            "containers": [container],
                            "volumes": volumes,
                        },
                    },
                },
            },
        },
    }


class MaintenanceArgs(BaseModel):
    """Inputs of :class:`Maintenance`."""

    model_config = ConfigDict(frozen=True)

    settings: MaintenanceSettings = Field(default_factory=MaintenanceSettings, description="Validated settings.")
    namespace: str = Field(description="Namespace of the CronJobs (and the URL Secret).")


class Maintenance(pulumi.ComponentResource):
    """The SQL ConfigMap and one CronJob per scheduled job."""

    def __init__(self, name: str, args: MaintenanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:maintenance:Maintenance", name, None, opts)
        import pulumi_kubernetes as k8s

        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        self.sql = None
        depends: list[pulumi.Resource] = []
        if any(job.runs_sql for job in settings.jobs):
            self.sql = declare(
                k8s.core.v1.ConfigMap, f"{name}-sql", sql_configmap_manifest(settings, args.namespace), child
            )
            depends.append(self.sql)
        job_opts = pulumi.ResourceOptions(parent=self, depends_on=depends)
        self.cronjobs = {
            job.name: declare(
                k8s.batch.v1.CronJob, f"{name}-{job.name}", cronjob_manifest(settings, job, args.namespace), job_opts
            )
            for job in settings.jobs
        }
        self.schedules = {f"maintenance-{job.name}": job.schedule for job in settings.jobs}
        self.cronjob_names = list(self.schedules)
        self.register_outputs({"cronjobs": self.cronjob_names})

    def outputs(self) -> dict[str, Any]:
        """The ``maintenance`` section of the outputs contract: CronJob name -> schedule."""
        return {"cronjobs": dict(self.schedules)}

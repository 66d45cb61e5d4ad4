"""Scheduled database maintenance as Kubernetes CronJobs (seed: daily 02:00, weekly Sunday 03:00, monthly
1st 04:00 UTC: cleanup of expired sessions and old logs, VACUUM/ANALYZE, REINDEX, archiving).

Each SQL job's statements go into one ConfigMap file run with ``psql -X -v ON_ERROR_STOP=1 -f``: psql
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
from components.maintenance.config import MaintenanceJob, MaintenanceSettings

SQL_CONFIGMAP = "maintenance-sql"
SQL_MOUNT = "/etc/maintenance"
DATABASE_URL_ENV = "DATABASE_URL"


def sql_script(job: MaintenanceJob) -> str:
    """The file psql runs: one statement per line-terminated ``;``, stopping at the first error."""
    return "".join(f"{statement.strip()};\n" for statement in job.sql)


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
        "data": {f"{job.name}.sql": sql_script(job) for job in settings.jobs if job.sql},
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
    if job.sql:
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
        if any(job.sql for job in settings.jobs):
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

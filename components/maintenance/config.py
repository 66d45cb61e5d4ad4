"""Scheduled maintenance (seed: daily 02:00, weekly Sunday 03:00, monthly 1st 04:00 UTC).

The defaults assume nothing about the application's schema: daily VACUUM (ANALYZE) plus the configured log
retention, weekly REINDEX DATABASE CONCURRENTLY, monthly VACUUM (FREEZE, ANALYZE) (wraparound protection
spread over quiet hours instead of an anti-wraparound autovacuum at peak). Application cleanups (expired
sessions, archiving) are the app's SQL, given per job in ``sql`` and run after the built-in tasks. Each job
runs through ``psql -f`` (one statement per autocommit transaction, so VACUUM and REINDEX CONCURRENTLY are
allowed) or, instead, a command. Nothing uses ``VACUUM FULL``: it takes an ACCESS EXCLUSIVE lock on every
table for its whole run.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from components.lib.settings import (
    CpuQuantity,
    CronExpression,
    DnsLabel,
    MemoryQuantity,
    PinnedImage,
    Settings,
    cpu_millicores,
    memory_bytes,
    raise_problems,
)

Task = Literal["vacuum_analyze", "vacuum_freeze", "analyze", "reindex_concurrently", "reindex", "retention"]
"""Built-in tasks, valid on any PostgreSQL database: they name no table of the application."""

_QUALIFIED = r"^[a-z_][a-z0-9_$]{0,62}(\.[a-z_][a-z0-9_$]{0,62})?$"


class RetentionRule(Settings):
    """Rows older than ``keep_days`` are deleted from one table by the ``retention`` task."""

    table: str = Field(pattern=_QUALIFIED, description="Table (`schema.table` or `table`, lowercase identifiers).")
    timestamp_column: str = Field(
        default="created_at", pattern=r"^[a-z_][a-z0-9_$]{0,62}$", description="Column holding each row's time."
    )
    keep_days: int = Field(ge=1, le=36_500, description="Rows newer than this many days are kept.")
    batch_size: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Rows deleted per statement: short transactions keep locks and WAL bursts small.",
    )


class MaintenanceJob(Settings):
    name: DnsLabel = Field(description="CronJob name suffix (the CronJob is `maintenance-<name>`).")
    schedule: CronExpression = Field(description="Cron schedule in `timezone`.")
    timezone: str = Field(default="UTC", description="CronJob timeZone (explicit so DST never shifts it).")
    tasks: tuple[Task, ...] = Field(
        default=(),
        description="Built-in tasks in order: vacuum_analyze, vacuum_freeze, analyze, reindex_concurrently, reindex "
        "(blocking; only where CONCURRENTLY cannot be used), retention (maintenance.retention rules).",
    )
    sql: tuple[str, ...] = Field(
        default=(),
        description="Optional application SQL run after the tasks (e.g. an expired-sessions cleanup); nothing of "
        "the app is assumed by default.",
    )
    command: tuple[str, ...] = Field(default=(), description="A command instead of SQL (argv, no shell).")
    deadline_seconds: int = Field(default=3600, ge=60, le=86_400, description="activeDeadlineSeconds for each run.")
    starting_deadline_seconds: int = Field(
        default=600, ge=10, le=86_400, description="A run that could not start this long after its time is skipped."
    )
    backoff_limit: int = Field(default=1, ge=0, le=10, description="Retries of a failed run (Job backoffLimit).")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')") from None
        return value

    @property
    def runs_sql(self) -> bool:
        """Whether psql runs this job (built-in tasks or application SQL)."""
        return bool(self.tasks or self.sql)

    @model_validator(mode="after")
    def _sql_or_command(self) -> MaintenanceJob:
        problems = []
        if self.runs_sql == bool(self.command):
            problems.append("tasks: give tasks and/or sql statements, or a command (exactly one of the two kinds)")
        if len(set(self.tasks)) != len(self.tasks):
            problems.append(f"tasks: {list(self.tasks)} lists a task twice")
        if {"reindex", "reindex_concurrently"} <= set(self.tasks):
            problems.append("tasks: reindex and reindex_concurrently both rebuild every index; keep one")
        problems += [f"sql[{i}]: empty statement" for i, s in enumerate(self.sql) if not s.strip()]
        problems += [
            f"sql[{i}]: one statement per entry, without a trailing ';'"
            for i, s in enumerate(self.sql)
            if s.strip().endswith(";")
        ]
        raise_problems(problems)
        return self


def _default_jobs() -> tuple[MaintenanceJob, ...]:
    return (
        MaintenanceJob(name="daily", schedule="0 2 * * *", tasks=("retention", "vacuum_analyze")),
        MaintenanceJob(name="weekly", schedule="0 3 * * 0", tasks=("reindex_concurrently",), deadline_seconds=7200),
        MaintenanceJob(name="monthly", schedule="0 4 1 * *", tasks=("vacuum_freeze",), deadline_seconds=14_400),
    )


class MaintenanceResources(Settings):
    cpu_request: CpuQuantity = Field(default="100m", description="CPU request of a maintenance pod.")
    cpu_limit: CpuQuantity = Field(default="500m", description="CPU limit.")
    memory_request: MemoryQuantity = Field(default="64Mi", description="Memory request.")
    memory_limit: MemoryQuantity = Field(default="256Mi", description="Memory limit.")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> MaintenanceResources:
        problems = []
        if cpu_millicores(self.cpu_limit) < cpu_millicores(self.cpu_request):
            problems.append(f"cpu_limit: {self.cpu_limit} is below cpu_request {self.cpu_request}")
        if memory_bytes(self.memory_limit) < memory_bytes(self.memory_request):
            problems.append(f"memory_limit: {self.memory_limit} is below memory_request {self.memory_request}")
        raise_problems(problems)
        return self


class MaintenanceSettings(Settings):
    enabled: bool = Field(default=True, description="Deploy the maintenance CronJobs.")
    image: PinnedImage = Field(default="postgres:15.8", description="Image with psql for SQL jobs.")
    run_as_user: int = Field(
        default=999, ge=1, description="Non-root UID of the job pods (999 is `postgres` in the official image)."
    )
    database_url_secret: DnsLabel = Field(
        default="maintenance-db", description="Secret (key `database_url_key`) with the database URL."
    )
    database_url_key: str = Field(default="url", pattern=r"^[-._a-zA-Z0-9]+$", description="Key in that Secret.")
    history_limit: int = Field(default=3, ge=0, le=20, description="Successful and failed Jobs kept per CronJob.")
    resources: MaintenanceResources = Field(default_factory=MaintenanceResources, description="Pod resources.")
    jobs: tuple[MaintenanceJob, ...] = Field(default_factory=_default_jobs, description="The scheduled jobs.")
    retention: tuple[RetentionRule, ...] = Field(
        default=(),
        description="Tables whose old rows the `retention` task deletes (e.g. an app's log table); none by default: "
        "the stack knows no table of the application. Server log files rotate by the database's own settings.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> MaintenanceSettings:
        names = [j.name for j in self.jobs]
        problems = [
            f"jobs[{i}].name: {name!r} is already used by jobs[{names.index(name)}]"
            for i, name in enumerate(names)
            if names.index(name) != i
        ]
        tables = [r.table for r in self.retention]
        problems += [
            f"retention[{i}].table: {table!r} is already in retention[{tables.index(table)}]"
            for i, table in enumerate(tables)
            if tables.index(table) != i
        ]
        if self.retention and not any("retention" in j.tasks for j in self.jobs):
            problems.append("retention: rules given but no job runs the retention task (add it to a job's tasks)")
        raise_problems(problems)
        return self

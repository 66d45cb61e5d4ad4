"""Scheduled maintenance (seed: daily 02:00, weekly Sunday 03:00, monthly 1st 04:00 UTC).

Daily: delete expired sessions and old log rows, VACUUM (ANALYZE). Weekly: REINDEX CONCURRENTLY. Monthly:
archive old records. Each job is SQL run by ``psql -f`` (one statement per autocommit transaction, so
VACUUM and REINDEX CONCURRENTLY are allowed) or, instead, a command. The monthly default avoids
``VACUUM FULL``: it takes an ACCESS EXCLUSIVE lock on every table for its whole run.
"""

from __future__ import annotations

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


class MaintenanceJob(Settings):
    name: DnsLabel = Field(description="CronJob name suffix (the CronJob is `maintenance-<name>`).")
    schedule: CronExpression = Field(description="Cron schedule in `timezone`.")
    timezone: str = Field(default="UTC", description="CronJob timeZone (explicit so DST never shifts it).")
    sql: tuple[str, ...] = Field(default=(), description="SQL statements run with psql against the database secret.")
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

    @model_validator(mode="after")
    def _sql_or_command(self) -> MaintenanceJob:
        problems = []
        if bool(self.sql) == bool(self.command):
            problems.append("sql: give either sql statements or a command (exactly one of the two)")
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
        MaintenanceJob(
            name="daily",
            schedule="0 2 * * *",
            sql=(
                "DELETE FROM sessions WHERE expires_at < now()",
                "DELETE FROM app_logs WHERE created_at < now() - interval '30 days'",
                "VACUUM (ANALYZE)",
            ),
        ),
        MaintenanceJob(
            name="weekly", schedule="0 3 * * 0", sql=('REINDEX DATABASE CONCURRENTLY :"DBNAME"',), deadline_seconds=7200
        ),
        MaintenanceJob(
            name="monthly",
            schedule="0 4 1 * *",
            sql=("CALL archive_records(interval '1 year')", "VACUUM (ANALYZE)"),
            deadline_seconds=14_400,
        ),
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

    @model_validator(mode="after")
    def _unique_names(self) -> MaintenanceSettings:
        names = [j.name for j in self.jobs]
        raise_problems(
            f"jobs[{i}].name: {name!r} is already used by jobs[{names.index(name)}]"
            for i, name in enumerate(names)
            if names.index(name) != i
        )
        return self

"""Scheduled maintenance (seed: daily 02:00, weekly Sunday 03:00, monthly 1st 04:00 UTC)."""

from __future__ import annotations

from pydantic import Field

from components.settings.base import CronExpression, DnsLabel, PinnedImage, Settings


class MaintenanceJob(Settings):
    name: DnsLabel = Field(description="CronJob name.")
    schedule: CronExpression = Field(description="Cron schedule in `timezone`.")
    timezone: str = Field(default="UTC", description="CronJob timeZone (explicit so DST never shifts it).")
    sql: tuple[str, ...] = Field(default=(), description="SQL statements run with psql against the database secret.")
    command: tuple[str, ...] = Field(default=(), description="A command instead of SQL.")
    deadline_seconds: int = Field(default=3600, ge=60, le=86_400, description="activeDeadlineSeconds for each run.")


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
        MaintenanceJob(name="weekly", schedule="0 3 * * 0", sql=("REINDEX DATABASE CONCURRENTLY current_database",)),
        MaintenanceJob(
            name="monthly",
            schedule="0 4 1 * *",
            sql=(
                "CALL archive_records(interval '1 year')",
                "VACUUM (FULL, ANALYZE)",
            ),
            deadline_seconds=14_400,
        ),
    )


class MaintenanceSettings(Settings):
    enabled: bool = Field(default=True, description="Deploy the maintenance CronJobs.")
    image: PinnedImage = Field(default="postgres:15.8", description="Image with psql for SQL jobs.")
    database_url_secret: str = Field(default="maintenance-db", description="Secret (key `url`) with the database URL.")
    jobs: tuple[MaintenanceJob, ...] = Field(default_factory=_default_jobs, description="The scheduled jobs.")

"""Backup vaults on three clouds, the data classes they hold, and the backup job schedules.

Seed figures: database backups continuous (WAL, every 30 s) kept 30 days; blockchain data incremental
every 5 minutes kept 90 days; application-state snapshots hourly kept 7 days; AES-256 everywhere.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.settings.base import CronExpression, Settings, raise_problems

DataClass = Literal["db", "chain", "state"]


class DataClassSettings(Settings):
    retention_days: int = Field(ge=1, le=3650, description="Lifecycle expiry of current versions.")
    lock_days: int = Field(
        ge=0, le=3650, description="Object-lock (WORM) retention; must not exceed retention_days or objects outlive it."
    )
    schedule: CronExpression = Field(description="When the backup job runs (UTC).")
    noncurrent_days: int = Field(default=7, ge=1, le=365, description="Days a superseded version is kept.")

    @model_validator(mode="after")
    def _lock_within_retention(self) -> DataClassSettings:
        raise_problems(
            [
                f"lock_days: {self.lock_days} exceeds retention_days {self.retention_days}; the lock must not outlive the lifecycle"
            ]
            if self.lock_days > self.retention_days
            else []
        )
        return self


def _default_classes() -> dict[DataClass, DataClassSettings]:
    return {
        "db": DataClassSettings(retention_days=30, lock_days=30, schedule="0 */6 * * *"),
        "chain": DataClassSettings(retention_days=90, lock_days=90, schedule="*/5 * * * *"),
        "state": DataClassSettings(retention_days=7, lock_days=7, schedule="0 * * * *"),
    }


class AwsVault(Settings):
    enabled: bool = Field(default=True, description="Create the S3 vault (the primary copy).")
    force_destroy: bool = Field(default=False, description="Allow destroying a non-empty bucket; never in prod.")


class AzureVault(Settings):
    enabled: bool = Field(default=False, description="Create the Azure Blob vault (needs cloud.azure.enabled).")
    replication: Literal["Standard_GRS", "Standard_RAGZRS", "Standard_GZRS", "Standard_RAGRS"] = Field(
        default="Standard_RAGZRS", description="Storage account SKU; geo-redundant only."
    )


class GcsVault(Settings):
    enabled: bool = Field(default=False, description="Create the GCS vault (needs cloud.gcp.enabled).")
    location: str = Field(default="NAM4", description="Dual-region location (e.g. NAM4, EUR4) or multi-region.")


class BackupSettings(Settings):
    classes: dict[DataClass, DataClassSettings] = Field(
        default_factory=_default_classes, description="Retention, lock and schedule per data class."
    )
    wal_archive_timeout_seconds: int = Field(
        default=30, ge=1, le=3600, description="PostgreSQL archive_timeout: the WAL-shipping RPO (seed: 30 s)."
    )
    database_url_secret: str = Field(
        default="backup-source-db", description="Kubernetes Secret (key `url`) with the source database URL."
    )
    aws: AwsVault = Field(default_factory=AwsVault, description="S3 vault.")
    azure: AzureVault = Field(default_factory=AzureVault, description="Azure Blob vault.")
    gcs: GcsVault = Field(default_factory=GcsVault, description="GCS vault.")
    restore_test_schedule: CronExpression = Field(
        default="0 5 * * 0", description="Weekly restore test into a scratch database (seed: weekly tests)."
    )
    velero_schedule: CronExpression = Field(
        default="0 * * * *", description="Velero app-state snapshot schedule (hourly)."
    )
    velero_ttl_hours: int = Field(default=168, ge=1, le=8760, description="Velero snapshot TTL (seed: 7 days).")
    velero_namespaces: tuple[str, ...] = Field(default=("platform",), description="Namespaces Velero snapshots.")

    @model_validator(mode="after")
    def _classes_complete(self) -> BackupSettings:
        missing = [c for c in ("db", "chain", "state") if c not in self.classes]
        raise_problems([f"classes: missing data class {c!r} (db, chain and state are all required)" for c in missing])
        return self

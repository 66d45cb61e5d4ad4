"""Backup vaults on three clouds, the data classes they hold, and the backup job schedules.

Seed figures: database backups continuous (WAL, every 30 s) kept 30 days; blockchain data incremental
every 5 minutes kept 90 days; application-state snapshots hourly kept 7 days; AES-256 everywhere.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from components.lib.settings import CronExpression, Settings, raise_problems

DataClass = Literal["db", "chain", "state"]


class DataClassSettings(Settings):
    retention_days: int = Field(
        ge=1,
        le=3650,
        description="How long every backup of the class stays restorable (prune's --keep-days); the lifecycle expires "
        "current versions after retention_days + full_interval_days.",
    )
    lock_days: int = Field(
        ge=0, le=3650, description="Object-lock (WORM) retention; must not exceed retention_days or objects outlive it."
    )
    schedule: CronExpression = Field(description="When the backup job runs (UTC).")
    noncurrent_days: int = Field(default=7, ge=1, le=365, description="Days a superseded version is kept.")
    full_interval_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="Incremental classes: the longest a chain builds on its full backup before the job starts a new "
        "full one (`incremental --max-chain-days`). Objects a kept backup references are then at most retention_days "
        "+ this old, so the lifecycle expires objects after that sum. 0: every run is a full backup (no chains).",
    )

    @property
    def expiry_days(self) -> int:
        """Lifecycle expiry of the class's objects: retention plus the chain length, so the oldest object a backup
        still within retention references (written by its chain's full backup) outlives that backup."""
        return self.retention_days + self.full_interval_days

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
        "chain": DataClassSettings(retention_days=90, lock_days=90, schedule="*/5 * * * *", full_interval_days=7),
        "state": DataClassSettings(retention_days=7, lock_days=7, schedule="0 * * * *"),
    }


_IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
_SERVICE_PRINCIPAL = r"^[a-z0-9.-]+\.amazonaws\.com$"


class AwsVault(Settings):
    enabled: bool = Field(default=True, description="Create the S3 vault (the primary copy).")
    force_destroy: bool = Field(default=False, description="Allow destroying a non-empty bucket; never in prod.")
    kms_deletion_window_days: int = Field(
        default=30,
        ge=7,
        le=30,
        description="Waiting period before a deleted KMS key is gone (AWS: 7-30); the longest gives time to cancel.",
    )
    access_log_retention_days: int = Field(
        default=365, ge=1, le=3650, description="Lifecycle expiry of the S3 server access logs of the vault."
    )
    writer_trusted_services: tuple[Annotated[str, StringConstraints(pattern=_SERVICE_PRINCIPAL)], ...] = Field(
        default=("lambda.amazonaws.com",),
        description="AWS service principals that may assume the backup writer role (the backup Lambda).",
    )
    writer_trusted_role_arns: tuple[Annotated[str, StringConstraints(pattern=_IAM_ROLE_ARN)], ...] = Field(
        default=(),
        description="IAM roles (e.g. an EKS IRSA role of the backup CronJobs) that may assume the writer role.",
    )


class AzureVault(Settings):
    enabled: bool = Field(default=False, description="Create the Azure Blob vault (needs cloud.azure.enabled).")
    replication: Literal["Standard_GRS", "Standard_RAGZRS", "Standard_GZRS", "Standard_RAGRS"] = Field(
        default="Standard_RAGZRS", description="Storage account SKU; geo-redundant only."
    )
    soft_delete_days: int = Field(
        default=14, ge=1, le=365, description="Blob and container soft-delete window (a second chance after delete)."
    )
    account_name: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]{3,24}$",
        description="Storage account name (global); None derives a stable one from project, stack and location.",
    )
    allow_shared_key_access: bool = Field(
        default=False,
        description="Allow account-key (shared key) auth. Off: a key grants everything, delete included; writers "
        "use Entra ID (the writer managed identity) instead.",
    )


GCS_DUAL_REGIONS = frozenset({"ASIA1", "EUR4", "EUR5", "EUR7", "EUR8", "NAM4"})
"""Predefined dual-region locations of Cloud Storage (geo-redundant, one bucket, two regions)."""
GCS_MULTI_REGIONS = frozenset({"US", "EU", "ASIA"})
"""Multi-region locations; with ``data_locations`` they become a configurable dual-region."""
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")


class GcsVault(Settings):
    enabled: bool = Field(default=False, description="Create the GCS vault (needs cloud.gcp.enabled).")
    location: str = Field(
        default="NAM4",
        description="Predefined dual-region (NAM4, EUR4, ...) or multi-region (US, EU, ASIA); single regions are "
        "refused because a vault must survive a region.",
    )
    data_locations: tuple[str, str] | None = Field(
        default=None,
        description="Configurable dual-region: the two regions (e.g. [us-east1, us-west1]); needs a multi-region "
        "location (US, EU, ASIA).",
    )
    project_number: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6,20}$",
        description="Numeric id of cloud.gcp.project; names the Cloud Storage service agent that must be allowed to "
        "use the CMEK key (service-<number>@gs-project-accounts.iam.gserviceaccount.com). Required when enabled.",
    )
    lock_retention_policy: bool = Field(
        default=False,
        description="Lock the buckets' retention policies (irreversible: the period can then only grow and the "
        "bucket cannot be deleted before every object has aged out).",
    )

    @property
    def kms_location(self) -> str:
        """Cloud KMS location matching the bucket location (a CMEK key must live where the data lives)."""
        return self.location.lower()

    @model_validator(mode="after")
    def _geo_redundant(self) -> GcsVault:
        problems: list[str] = []
        location = self.location
        if location != location.upper():
            problems.append(f"location: {location!r} must be upper case (e.g. 'NAM4', 'US')")
        elif self.data_locations is None and location not in GCS_DUAL_REGIONS | GCS_MULTI_REGIONS:
            problems.append(
                f"location: {location!r} is not a dual- or multi-region; use one of "
                f"{', '.join(sorted(GCS_DUAL_REGIONS | GCS_MULTI_REGIONS))} or set data_locations"
            )
        if self.data_locations is not None:
            if location not in GCS_MULTI_REGIONS:
                problems.append(
                    f"data_locations: needs location to be a multi-region ({', '.join(sorted(GCS_MULTI_REGIONS))}), "
                    f"not {location!r}"
                )
            bad = [r for r in self.data_locations if not _GCP_REGION.match(r)]
            if bad:
                problems.append(f"data_locations: {bad[0]!r} is not a GCP region name (e.g. 'us-east1')")
            elif self.data_locations[0] == self.data_locations[1]:
                problems.append(f"data_locations: both regions are {self.data_locations[0]!r}; a dual-region needs two")
        if self.enabled and self.project_number is None:
            problems.append(
                "project_number: required when backup.gcs.enabled is true (the storage service agent needs it for CMEK)"
            )
        raise_problems(problems)
        return self


class BackupSettings(Settings):
    classes: dict[DataClass, DataClassSettings] = Field(
        default_factory=_default_classes, description="Retention, lock and schedule per data class."
    )
    lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = Field(
        default="COMPLIANCE",
        description="S3 object-lock mode: COMPLIANCE (nobody can shorten or remove a lock, not even root) or "
        "GOVERNANCE (principals with s3:BypassGovernanceRetention can; for stacks that must be torn down).",
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

    @property
    def default_lock_days(self) -> int:
        """Bucket-wide default lock: the shortest class lock, so no prefix's objects outlive its lifecycle.

        Longer class locks are set per object by the writer at upload (bounded by the writer policy).
        """
        return min(c.lock_days for c in self.classes.values())

    @property
    def max_lock_days(self) -> int:
        return max(c.lock_days for c in self.classes.values())

    @model_validator(mode="after")
    def _classes_complete(self) -> BackupSettings:
        missing = [c for c in ("db", "chain", "state") if c not in self.classes]
        raise_problems([f"classes: missing data class {c!r} (db, chain and state are all required)" for c in missing])
        return self

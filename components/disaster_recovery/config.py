"""Disaster recovery: a second AWS region, DNS failover, a cross-region database replica, and the
recovery bounds computed from what is declared (seed targets: RTO 5 minutes, RPO 1 minute).

The bounds are pure arithmetic over these settings (:func:`recovery_bounds`), so a stack that cannot meet
its own targets is a config error at plan time (:func:`recovery_target_problems`), naming the keys to change,
instead of a discovery during an outage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.lib.settings import AWS_REGION, Settings, raise_problems

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

S3_RTC_THRESHOLD_MINUTES = 15
"""S3 Replication Time Control: 99.99 % of objects within 15 minutes (the only value AWS accepts)."""


def _hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a fully qualified lower-case DNS name (e.g. 'app.example.com')")
    return value


class HealthCheckSettings(Settings):
    fqdn: str = Field(default="origin.example.com", description="Primary endpoint Route 53 probes.")
    path: str = Field(default="/healthz", pattern=r"^/", description="HTTP path probed.")
    port: int = Field(default=443, ge=1, le=65535, description="Port probed (HTTPS).")
    interval_seconds: Literal[10, 30] = Field(
        default=10, description="Route 53 offers 10 (fast) or 30 seconds; the seed's 10 s."
    )
    failure_threshold: int = Field(default=3, ge=1, le=10, description="Failures before unhealthy (Route 53: 1-10).")

    @field_validator("fqdn")
    @classmethod
    def _fqdn(cls, value: str) -> str:
        return _hostname(value)

    @property
    def detection_seconds(self) -> int:
        """Worst-case time from the first failed probe to Route 53 marking the endpoint unhealthy."""
        return self.interval_seconds * self.failure_threshold


class DatabaseReplicaSettings(Settings):
    kind: Literal["rds_replica", "aurora_global"] = Field(
        default="rds_replica", description="Cross-region read replica of an RDS instance, or an Aurora global cluster."
    )
    engine_version: str = Field(
        default="15.8", pattern=r"^[0-9]+(\.[0-9]+)?$", description="PostgreSQL engine version."
    )
    instance_class: str = Field(
        default="db.r6g.large", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$", description="Instance class for both."
    )
    allocated_storage_gb: int = Field(default=100, ge=20, le=65536, description="Storage (RDS only).")
    backup_retention_days: int = Field(
        default=7, ge=1, le=35, description="Automated backups of the primary (a read replica needs at least 1)."
    )
    multi_az: bool = Field(default=True, description="Standby in a second AZ of the primary region (RDS only).")
    subnet_group_name: str | None = Field(
        default=None, description="DB subnet group in the primary region; None uses the default VPC."
    )
    replica_subnet_group_name: str | None = Field(
        default=None, description="DB subnet group in the DR region; None uses the DR region's default VPC."
    )
    promotion_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Time to promote the replica (measured runbook figure; Aurora managed failover ~60 s).",
    )
    replication_lag_bound_seconds: int = Field(
        default=5, ge=0, le=3600, description="Alerted bound on replica lag; enters the RPO bound."
    )
    promote: bool = Field(
        default=False,
        description="Declared promotion: true turns the DR replica into a standalone writer on the next `pulumi up` "
        "(RDS: replicate_source_db removed; Aurora: the secondary cluster leaves the global cluster).",
    )


class DrSettings(Settings):
    enabled: bool = Field(default=True, description="Build the DR region.")
    region: str = Field(default="us-west-2", description="DR AWS region; must differ from cloud.aws.region.")
    dns_zone_name: str = Field(default="example.com", description="Route 53 hosted zone for the failover records.")
    hosted_zone_id: str | None = Field(
        default=None,
        pattern=r"^Z[A-Z0-9]{1,31}$",
        description="Existing Route 53 hosted zone id; None creates the zone (then delegate it at the registrar).",
    )
    record_name: str = Field(default="app.example.com", description="Failover record name.")
    primary_target: str = Field(default="primary-lb.example.com", description="PRIMARY record target (CNAME).")
    secondary_target: str = Field(default="dr-lb.example.com", description="SECONDARY record target (CNAME).")
    dns_ttl_seconds: int = Field(
        default=60, ge=1, le=60, description="Failover record TTL; <= 60 so clients move fast."
    )
    health_check: HealthCheckSettings = Field(default_factory=HealthCheckSettings, description="Route 53 health check.")
    database: DatabaseReplicaSettings = Field(
        default_factory=DatabaseReplicaSettings, description="Cross-region DB replica."
    )
    replication_time_control: bool = Field(
        default=True, description="S3 Replication Time Control: 99.99 % of objects within 15 minutes, with metrics."
    )
    rto_target_seconds: int = Field(default=300, ge=1, description="Recovery time objective (seed: 5 minutes).")
    rpo_target_seconds: int = Field(default=60, ge=1, description="Recovery point objective (seed: 1 minute).")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not AWS_REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name (e.g. 'us-west-2')")
        return value

    @field_validator("dns_zone_name", "record_name", "primary_target", "secondary_target")
    @classmethod
    def _names(cls, value: str) -> str:
        return _hostname(value)

    @model_validator(mode="after")
    def _records(self) -> DrSettings:
        problems: list[str] = []
        if self.record_name != self.dns_zone_name and not self.record_name.endswith("." + self.dns_zone_name):
            problems.append(f"record_name: {self.record_name!r} is not inside dns_zone_name {self.dns_zone_name!r}")
        if self.primary_target == self.secondary_target:
            problems.append(
                f"secondary_target: {self.secondary_target!r} equals primary_target; failover needs another endpoint"
            )
        if self.record_name in (self.primary_target, self.secondary_target):
            problems.append(f"record_name: {self.record_name!r} cannot point at itself")
        raise_problems(problems)
        return self


@dataclass(frozen=True)
class RecoveryBounds:
    """Worst-case recovery figures implied by the declared settings (seconds).

    RTO = detection (interval x threshold) + DNS TTL (clients holding the old answer) + promotion.
    RPO = the worst of the two recovery paths the stack declares: promoting the replica loses at most the
    alerted replica-lag bound; restoring from the WAL archive (replica unusable, e.g. corruption replicated to
    it) loses at most ``archive_timeout``. ``backup_copy_rpo_seconds`` is the RPO of the *DR copy* of the backup
    bucket (WAL archive + S3 replication, bounded only with Replication Time Control): a double failure (region
    and replica lost) falls back to it, so it is reported, not checked against the target.
    """

    detection_seconds: int
    ttl_seconds: int
    promotion_seconds: int
    replica_lag_seconds: int
    wal_archive_seconds: int
    backup_copy_rpo_seconds: int | None

    @property
    def rto_seconds(self) -> int:
        return self.detection_seconds + self.ttl_seconds + self.promotion_seconds

    @property
    def rpo_seconds(self) -> int:
        return max(self.replica_lag_seconds, self.wal_archive_seconds)


def recovery_bounds(dr: DrSettings, wal_archive_timeout_seconds: int) -> RecoveryBounds:
    """The bounds of ``dr`` with the WAL archive timeout of ``backup`` (pure arithmetic, no cloud)."""
    copy_rpo = wal_archive_timeout_seconds + S3_RTC_THRESHOLD_MINUTES * 60 if dr.replication_time_control else None
    return RecoveryBounds(
        detection_seconds=dr.health_check.detection_seconds,
        ttl_seconds=dr.dns_ttl_seconds,
        promotion_seconds=dr.database.promotion_seconds,
        replica_lag_seconds=dr.database.replication_lag_bound_seconds,
        wal_archive_seconds=wal_archive_timeout_seconds,
        backup_copy_rpo_seconds=copy_rpo,
    )


def recovery_target_problems(dr: DrSettings, wal_archive_timeout_seconds: int) -> list[str]:
    """``path: message`` problems when the declared settings cannot meet the stack's own RTO/RPO targets."""
    if not dr.enabled:
        return []
    bounds = recovery_bounds(dr, wal_archive_timeout_seconds)
    hc = dr.health_check
    problems: list[str] = []
    if bounds.rto_seconds > dr.rto_target_seconds:
        problems.append(
            f"dr.rto_target_seconds: the declared settings bound RTO at {bounds.rto_seconds} s, above the target "
            f"{dr.rto_target_seconds} s: detection {bounds.detection_seconds} s "
            f"(dr.health_check.interval_seconds {hc.interval_seconds} x dr.health_check.failure_threshold "
            f"{hc.failure_threshold}) + dr.dns_ttl_seconds {bounds.ttl_seconds} + dr.database.promotion_seconds "
            f"{bounds.promotion_seconds}; lower one of those or raise the target"
        )
    if bounds.rpo_seconds > dr.rpo_target_seconds:
        culprits = []
        if bounds.replica_lag_seconds > dr.rpo_target_seconds:
            culprits.append(f"dr.database.replication_lag_bound_seconds {bounds.replica_lag_seconds}")
        if bounds.wal_archive_seconds > dr.rpo_target_seconds:
            culprits.append(f"backup.wal_archive_timeout_seconds {bounds.wal_archive_seconds}")
        problems.append(
            f"dr.rpo_target_seconds: the declared settings bound RPO at {bounds.rpo_seconds} s, above the target "
            f"{dr.rpo_target_seconds} s: {' and '.join(culprits)} exceed it; lower them or raise the target"
        )
    return problems

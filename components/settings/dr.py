"""Disaster recovery: a second AWS region, DNS failover, a cross-region database replica, and the
recovery bounds computed from what is declared (seed targets: RTO 5 minutes, RPO 1 minute)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.settings.base import Settings
from components.settings.cloud import AWS_REGION


class HealthCheckSettings(Settings):
    fqdn: str = Field(default="origin.example.com", description="Primary endpoint Route 53 probes.")
    path: str = Field(default="/healthz", pattern=r"^/", description="HTTP path probed.")
    port: int = Field(default=443, ge=1, le=65535, description="Port probed (HTTPS).")
    interval_seconds: Literal[10, 30] = Field(
        default=10, description="Route 53 offers 10 (fast) or 30 seconds; the seed's 10 s."
    )
    failure_threshold: int = Field(default=3, ge=1, le=10, description="Failures before unhealthy (Route 53: 1-10).")


class DatabaseReplicaSettings(Settings):
    kind: Literal["rds_replica", "aurora_global"] = Field(
        default="rds_replica", description="Cross-region read replica of an RDS instance, or an Aurora global cluster."
    )
    engine_version: str = Field(default="15.8", description="PostgreSQL engine version.")
    instance_class: str = Field(default="db.r6g.large", description="Instance class for primary and replica.")
    allocated_storage_gb: int = Field(default=100, ge=20, le=65536, description="Storage (RDS only).")
    promotion_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Time to promote the replica (measured runbook figure; Aurora managed failover ~60 s).",
    )
    replication_lag_bound_seconds: int = Field(
        default=5, ge=0, le=3600, description="Alerted bound on replica lag; enters the RPO bound."
    )


class DrSettings(Settings):
    enabled: bool = Field(default=True, description="Build the DR region.")
    region: str = Field(default="us-west-2", description="DR AWS region; must differ from cloud.aws.region.")
    dns_zone_name: str = Field(default="example.com", description="Route 53 hosted zone for the failover records.")
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

"""Disaster recovery: a second AWS region, failover at Cloudflare's edge (Load Balancing), a cross-region
database replica promoted by the failover controller, and the recovery bounds computed from what is declared
(seed targets: RTO 5 minutes, RPO 1 minute).

The bounds are pure arithmetic over these settings (:func:`recovery_bounds`), so a stack that cannot meet
its own targets is a config error at plan time (:func:`recovery_target_problems`), naming the keys to change,
instead of a discovery during an outage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.disaster_recovery.rpo import (
    RDS_LOG_UPLOAD_SECONDS,
    Destination,
    Failure,
    FailureRpo,
    Rpo,
    WalMechanism,
    rpo_by_destination,
    rpo_by_failure,
    worst,
)
from components.lib.settings import AWS_REGION, Settings, raise_problems
from functions.dr.bounds import rto_bound

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HOST_PORT = re.compile(r"^(?=.{1,259}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$")

S3_RTC_THRESHOLD_MINUTES = 15
"""S3 Replication Time Control: 99.99 % of objects within 15 minutes (the only value AWS accepts)."""


def _hostname(value: str) -> str:
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a fully qualified lower-case DNS name (e.g. 'app.example.com')")
    return value


MONITOR_MIN_INTERVAL_SECONDS = {"enterprise": 10, "business": 15, "pro": 60, "free": 60}
"""Shortest Cloudflare Load Balancing monitor interval per plan (Cloudflare's plan table)."""

MONITOR_REGIONS = frozenset(
    {"WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS"}
)


class HealthCheckSettings(Settings):
    fqdn: str = Field(
        default="origin.example.com", description="Host header the monitor and the controller send to the origins."
    )
    path: str = Field(default="/healthz", pattern=r"^/", description="HTTP path probed.")
    port: int = Field(default=443, ge=1, le=65535, description="Port probed (HTTPS).")
    interval_seconds: int = Field(
        default=10,
        ge=10,
        le=3600,
        description="Seconds between probes, for Cloudflare's monitor and the failover controller alike (seed: 10 s); "
        "the zone's plan sets the minimum (enterprise 10, business 15, pro/free 60).",
    )
    failure_threshold: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Failed probes in a row before the primary counts as down (the monitor's consecutive_down and "
        "the controller's threshold).",
    )
    timeout_seconds: int = Field(default=5, ge=1, le=10, description="Per-probe timeout; below the interval.")
    check_regions: tuple[str, ...] = Field(
        default=("WNAM", "ENAM"),
        min_length=1,
        description="Cloudflare regions the monitor probes from (each probes from 3 data centres).",
    )

    @field_validator("fqdn")
    @classmethod
    def _fqdn(cls, value: str) -> str:
        return _hostname(value)

    @field_validator("check_regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - MONITOR_REGIONS)
        if unknown:
            raise ValueError(f"unknown Cloudflare regions {unknown}; allowed: {sorted(MONITOR_REGIONS)}")
        return value

    @model_validator(mode="after")
    def _timeout(self) -> HealthCheckSettings:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(f"timeout_seconds {self.timeout_seconds} must be below interval_seconds")
        return self

    @property
    def detection_seconds(self) -> int:
        """Worst-case time from the first failed probe to the primary counting as down."""
        return self.interval_seconds * self.failure_threshold


class ControllerSettings(Settings):
    """The failover controller (functions/dr) as a Lambda function in the DR region."""

    enabled: bool = Field(default=True, description="Deploy the controller (without it only the edge fails over).")
    architecture: Literal["arm64", "x86_64"] = Field(default="arm64", description="Lambda architecture.")
    archive: str = Field(
        default="build/lambda/dr-controller-{arch}.zip",
        description="Zip built by `python -m functions.dr.package` ({arch} is filled in); the plan records the path.",
    )
    writer_parameter: str = Field(
        default="/platform/db/writer-endpoint",
        pattern=r"^/[A-Za-z0-9_.\-/]{1,1000}$",
        description="SSM parameter consumers read the database writer endpoint (host:port) from; the controller "
        "moves it on failover.",
    )
    subnet_ids: tuple[str, ...] = Field(
        default=(),
        description="DR-region subnets for the function, so it can reach the primary database (peered VPCs) and tell "
        "an application crash from a lost region. Empty: only the application URL is probed.",
    )
    security_group_ids: tuple[str, ...] = Field(default=(), description="Security groups with subnet_ids.")
    allow_promote_without_database_probe: bool = Field(
        default=False,
        description="auto_promote without subnet_ids would promote on an application crash too; opt in explicitly.",
    )
    lease_seconds: int = Field(default=900, ge=60, le=86400, description="Promotion lease (a crashed holder's expiry).")
    log_retention_days: int = Field(default=90, ge=1, le=3653, description="CloudWatch Logs retention.")
    webhook: bool = Field(
        default=True,
        description="Cloudflare's pool-health notification calls the controller's function URL (shared secret).",
    )

    @model_validator(mode="after")
    def _vpc(self) -> ControllerSettings:
        if self.security_group_ids and not self.subnet_ids:
            raise ValueError("security_group_ids needs subnet_ids")
        return self


class DrKubernetesSettings(Settings):
    """The DR region's Kubernetes cluster, where the warm standby of the self-managed database runs."""

    context: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9@:/._-]{1,253}$",
        description="kubeconfig context of the DR region's cluster (its own provider, owned by the DR component). "
        "A second cluster, not a namespace of the primary one: the standby must survive the primary region. "
        "Required with database.kind postgres_standby; None declares no DR cluster.",
    )
    namespace: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Namespace of the standby in the DR cluster; None: the stack's namespace (same names on both "
        "sides, so runbooks and the database's own Service names read the same).",
    )
    oidc_issuer_url: str | None = Field(
        default=None,
        pattern=r"^https://[A-Za-z0-9./_-]+$",
        description="Service-account token issuer of the DR cluster (EKS: `aws eks describe-cluster --query "
        "cluster.identity.oidc.issuer`). The standby reads the Azure and GCS vaults with a federated identity "
        "trusted for this issuer; it differs from the primary cluster's, so it cannot be derived.",
    )
    cluster_domain: str = Field(default="cluster.local", description="Cluster DNS domain of the DR cluster.")


class DatabaseReplicaSettings(Settings):
    kind: Literal["rds_replica", "aurora_global", "postgres_standby"] = Field(
        default="rds_replica",
        description="rds_replica: cross-region read replica of an RDS instance; aurora_global: an Aurora global "
        "cluster (both for stacks whose database is RDS); postgres_standby: a warm standby of the self-managed "
        "database (components/database) in the DR cluster, replaying the WAL archive from Azure Blob and GCS.",
    )
    primary_endpoint: str | None = Field(
        default=None,
        description="postgres_standby: host:port of the primary's `-rw` Service as the DR-region controller reaches "
        "it (an internal load balancer or private address routed over the VPC peering). The controller probes it "
        "(telling an application crash from a lost database) and fences it read-only when it still answers.",
    )
    standby_endpoint: str | None = Field(
        default=None,
        description="postgres_standby: host:port of the standby's `-rw` Service in the DR cluster, reachable from "
        "controller.subnet_ids (an internal load balancer private to that VPC, e.g. from the AWS Load Balancer "
        "Controller; the plan declares no public one). The controller promotes through it and publishes it as "
        "the writer.",
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
        description="Promotion budget: the controller waits this long after promoting for a committed write (its "
        "timeout) and the RTO counts it. RDS promotions can take minutes: measure them with drills before lowering it. "
        "postgres_standby: the standby first replays what the archive still holds (at most the replay lag bound plus "
        "the last segments' wal-fetch), then pg_promote (measured 0.2-0.3 s to a committed write): keep it at least "
        "replication_lag_bound_seconds + 2 x backup_jobs.wal_archive.push_bound_seconds.",
    )
    replication_lag_bound_seconds: int = Field(
        default=5,
        ge=0,
        le=3600,
        description="Alerted bound on replica lag. RDS: enters the RPO. postgres_standby: promotion replays the "
        "archive first, so the lag costs time (RTO, inside promotion_seconds), not data.",
    )
    promote: bool = Field(
        default=False,
        description="Declared promotion: true turns the DR replica into a standalone writer on the next `pulumi up` "
        "(RDS: replicate_source_db removed; Aurora: the secondary cluster leaves the global cluster). "
        "postgres_standby has no declared promotion (pg_promote is a call, not a property): use the controller.",
    )

    @field_validator("primary_endpoint", "standby_endpoint")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None and not _HOST_PORT.match(value):
            raise ValueError(f"{value!r} is not a lower-case host:port (e.g. 'db-rw.dr.internal:5432')")
        return value

    @model_validator(mode="after")
    def _standby(self) -> DatabaseReplicaSettings:
        problems: list[str] = []
        if self.kind == "postgres_standby":
            if self.promote:
                problems.append("promote: postgres_standby is promoted by the failover controller (pg_promote)")
            if self.promotion_seconds < self.replication_lag_bound_seconds:
                problems.append(
                    f"promotion_seconds: {self.promotion_seconds} is below replication_lag_bound_seconds "
                    f"{self.replication_lag_bound_seconds}; promotion replays the lag first"
                )
        elif self.primary_endpoint is not None or self.standby_endpoint is not None:
            problems.append(f"standby_endpoint/primary_endpoint: only with kind postgres_standby (kind is {self.kind})")
        raise_problems(problems)
        return self


class DrSettings(Settings):
    enabled: bool = Field(default=True, description="Build the DR region.")
    region: str = Field(default="us-west-2", description="DR AWS region; must differ from cloud.aws.region.")
    cloudflare_account_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="Cloudflare account owning the load-balancer monitor, pools and notification (required when "
        "enabled): the domain is served by Cloudflare, so failover happens there (one DNS authority).",
    )
    record_name: str = Field(
        default="app.example.com", description="Load-balanced hostname; must lie in one of cdn.zones."
    )
    primary_target: str = Field(
        default="primary-lb.example.com",
        description="Primary pool's origin (DNS-only hostname or address of the primary region's load balancer).",
    )
    secondary_target: str = Field(
        default="dr-lb.example.com", description="DR pool's origin: the DR endpoint traffic moves to."
    )
    proxied: bool = Field(
        default=True,
        description="Cloudflare proxies the hostname: clients keep the anycast answer and the edge switches pools, so "
        "no DNS TTL enters the RTO. False: clients re-resolve after dns_ttl_seconds.",
    )
    dns_ttl_seconds: int = Field(
        default=60, ge=30, le=300, description="TTL of the load balancer's answer when not proxied (Cloudflare: >= 30)."
    )
    dr_traffic_weight: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of traffic steered to the DR pool while both are healthy (0: pure failover, steering off).",
    )
    health_check: HealthCheckSettings = Field(
        default_factory=HealthCheckSettings, description="Origin health probes (Cloudflare monitor and controller)."
    )
    database: DatabaseReplicaSettings = Field(
        default_factory=DatabaseReplicaSettings, description="Cross-region DB replica."
    )
    kubernetes: DrKubernetesSettings = Field(
        default_factory=DrKubernetesSettings, description="The DR region's cluster (the warm standby runs there)."
    )
    auto_promote: bool = Field(
        default=False,
        description="The controller promotes the DR database itself once the DR side confirms the primary down; "
        "off, it reports and waits for `python -m functions.dr failover --scenario region --confirm`.",
    )
    controller: ControllerSettings = Field(default_factory=ControllerSettings, description="Failover controller.")
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

    @field_validator("record_name", "primary_target", "secondary_target")
    @classmethod
    def _names(cls, value: str) -> str:
        return _hostname(value)

    @model_validator(mode="after")
    def _records(self) -> DrSettings:
        problems: list[str] = []
        if self.primary_target == self.secondary_target:
            problems.append(
                f"secondary_target: {self.secondary_target!r} equals primary_target; failover needs another endpoint"
            )
        if self.record_name in (self.primary_target, self.secondary_target):
            problems.append(f"record_name: {self.record_name!r} cannot point at itself")
        controller = self.controller
        problems += self._standby_problems()
        if (
            self.auto_promote
            and controller.enabled
            and not controller.subnet_ids
            and not controller.allow_promote_without_database_probe
        ):
            problems.append(
                "controller.subnet_ids: auto_promote needs the controller to reach the primary database (to tell an "
                "application crash from a lost region); give subnet_ids or set "
                "controller.allow_promote_without_database_probe"
            )
        raise_problems(problems)
        return self

    def _standby_problems(self) -> list[str]:
        """postgres_standby needs the DR cluster and, for the controller, both endpoints it connects to."""
        if self.database.kind != "postgres_standby":
            return []
        problems: list[str] = []
        if self.kubernetes.context is None:
            problems.append("kubernetes.context: required with database.kind postgres_standby (the DR cluster)")
        if self.kubernetes.oidc_issuer_url is None:
            problems.append(
                "kubernetes.oidc_issuer_url: required with database.kind postgres_standby (the standby's federated "
                "identity for Azure Blob and GCS is trusted for the DR cluster's issuer)"
            )
        if self.controller.enabled:
            for key in ("standby_endpoint", "primary_endpoint"):
                if getattr(self.database, key) is None:
                    problems.append(f"database.{key}: required with kind postgres_standby and controller.enabled")
            if not self.controller.subnet_ids:
                problems.append(
                    "controller.subnet_ids: required with database.kind postgres_standby (the controller promotes the "
                    "standby through its internal endpoint, reachable only from the DR VPC)"
                )
        return problems

    @property
    def rto_ttl_seconds(self) -> int:
        """The DNS term of the RTO: none when proxied (the edge switches pools), else the answer's TTL."""
        return 0 if self.proxied else self.dns_ttl_seconds


@dataclass(frozen=True)
class RecoveryBounds:
    """Worst-case recovery figures implied by the declared settings (seconds).

    RTO = detection (interval x threshold) + DNS TTL (clients holding the old answer; 0 when Cloudflare proxies
    the hostname) + promotion, computed by ``functions.dr.bounds.rto_bound``, the function the failover
    controller's own figures come from.
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

    interval_seconds: int
    failure_threshold: int
    rpo_destinations: Mapping[Destination, Rpo] | None = None
    """Per destination, from the WAL mechanism the plan declares (``rpo.rpo_by_destination``)."""
    rpo_failures: Mapping[Failure, FailureRpo] | None = None
    """Per failure, the freshest surviving copy (``rpo.rpo_by_failure``)."""

    @property
    def rto_seconds(self) -> int:
        return rto_bound(
            interval_seconds=self.interval_seconds,
            failure_threshold=self.failure_threshold,
            dns_ttl_seconds=self.ttl_seconds,
            promotion_budget_seconds=self.promotion_seconds,
        ).seconds

    @property
    def rpo_seconds(self) -> int:
        """The worst recovery point over the failures (region, cloud, corruption) when the WAL mechanism is known;
        otherwise the older two-term bound max(replica lag, archive_timeout)."""
        if self.rpo_failures is not None:
            bounded = worst([f.seconds for f in self.rpo_failures.values()])
            if bounded is not None:
                return bounded
        return max(self.replica_lag_seconds, self.wal_archive_seconds)


def recovery_bounds(
    dr: DrSettings, wal_archive_timeout_seconds: int, wal: WalMechanism | None = None
) -> RecoveryBounds:
    """The bounds of ``dr`` with the WAL archive timeout of ``backup`` (pure arithmetic, no cloud); with ``wal``
    (``rpo.wal_mechanism``: what the plan declares) also the RPO per destination and per failure."""
    copy_rpo = wal_archive_timeout_seconds + S3_RTC_THRESHOLD_MINUTES * 60 if dr.replication_time_control else None
    destinations = rpo_by_destination(wal, dr) if wal is not None else None
    failures = (
        rpo_by_failure(destinations, replication_time_control=dr.replication_time_control)
        if destinations is not None
        else None
    )
    if wal is not None and wal.mode == "archive_command" and copy_rpo is not None:
        copy_rpo += wal.push_bound_seconds
    return RecoveryBounds(
        detection_seconds=dr.health_check.detection_seconds,
        ttl_seconds=dr.rto_ttl_seconds,
        promotion_seconds=dr.database.promotion_seconds,
        replica_lag_seconds=dr.database.replication_lag_bound_seconds,
        wal_archive_seconds=_wal_interval(wal_archive_timeout_seconds, wal),
        backup_copy_rpo_seconds=copy_rpo,
        interval_seconds=dr.health_check.interval_seconds,
        failure_threshold=dr.health_check.failure_threshold,
        rpo_destinations=destinations,
        rpo_failures=failures,
    )


def _wal_interval(archive_timeout_seconds: int, wal: WalMechanism | None) -> int:
    """How often committed data leaves the database: archive_timeout only where archive_command uses it; RDS's
    log upload with ``rds``; the dump schedule's gap with ``off``; without backup jobs nothing leaves, reported as
    ten years so every check against a target fails."""
    if wal is None or wal.mode == "archive_command":
        return archive_timeout_seconds
    if wal.mode == "rds":
        return RDS_LOG_UPLOAD_SECONDS
    return wal.dump_gap_seconds if wal.dump_gap_seconds is not None else 10 * 365 * 86_400


def edge_zone(record_name: str, zones: Sequence[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    """The (name, zone_id, plan) of the Cloudflare zone that serves ``record_name`` (the longest match)."""
    matches = [z for z in zones if record_name == z[0] or record_name.endswith("." + z[0])]
    return max(matches, key=lambda z: len(z[0]), default=None)


def edge_problems(dr: DrSettings, zones: Sequence[tuple[str, str, str]], cdn_enabled: bool) -> list[str]:
    """The load balancer needs a Cloudflare zone for its hostname, on a plan whose monitors probe that often."""
    if not dr.enabled:
        return []
    if dr.cloudflare_account_id is None:
        return ["dr.cloudflare_account_id: required when dr.enabled (the account of the failover load balancer)"]
    if not cdn_enabled:
        return ["dr.enabled: needs cdn.enabled (the failover load balancer lives in the Cloudflare zone)"]
    zone = edge_zone(dr.record_name, zones)
    if zone is None:
        names = [z[0] for z in zones]
        return [f"dr.record_name: {dr.record_name!r} is in none of cdn.zones {names}; Cloudflare serves the domain"]
    minimum = MONITOR_MIN_INTERVAL_SECONDS.get(zone[2], 60)
    if dr.health_check.interval_seconds < minimum:
        return [
            f"dr.health_check.interval_seconds: {dr.health_check.interval_seconds} is below the {minimum} s minimum of "
            f"zone {zone[0]!r} on the {zone[2]} plan"
        ]
    return []


def standby_problems(
    dr: DrSettings, *, has_database: bool, wal_mode: str | None, copies: Sequence[str], primary_context: str | None
) -> list[str]:
    """A warm standby needs what it copies and reads: the self-managed database, its WAL archive
    (``archive_command``), a copy outside the primary region (Azure Blob or GCS), and a cluster of its own."""
    if not dr.enabled or dr.database.kind != "postgres_standby":
        return []
    problems: list[str] = []
    if not has_database:
        problems.append(
            "dr.database.kind: postgres_standby copies the self-managed database, but the stack has no database "
            "section; use rds_replica or aurora_global for an RDS database"
        )
    if wal_mode != "archive_command":
        problems.append(
            f"dr.database.kind: postgres_standby replays the WAL archive, but backup_jobs.wal_archive.mode is "
            f"{wal_mode or 'absent'}; set it to archive_command"
        )
    if not copies:
        problems.append(
            "dr.database.kind: postgres_standby reads the archive from Azure Blob or GCS (the copies a loss of the "
            "primary region leaves); enable backup.azure or backup.gcs"
        )
    if dr.kubernetes.context is not None and dr.kubernetes.context == primary_context:
        problems.append(
            f"dr.kubernetes.context: {dr.kubernetes.context!r} is the primary cluster's (cloud.kubernetes.context); "
            "the standby must run in the DR region's own cluster"
        )
    return problems


def recovery_target_problems(dr: DrSettings, wal_archive_timeout_seconds: int) -> list[str]:
    """``path: message`` problems when the declared settings cannot meet the stack's own RTO/RPO targets.

    The RPO here is the two-term bound (replica lag, archive_timeout); the per-destination and per-failure RPO of
    the declared WAL mechanism is exported (``dr.bounds.rpo_by_destination``/``rpo_by_failure``) and checked by
    the policy pack, so a stack that keeps RDS on purpose still plans and the gate names what exceeds the target.
    """
    if not dr.enabled:
        return []
    return _legacy_target_problems(dr, recovery_bounds(dr, wal_archive_timeout_seconds))


def _legacy_target_problems(dr: DrSettings, bounds: RecoveryBounds) -> list[str]:
    hc = dr.health_check
    problems: list[str] = []
    if bounds.rto_seconds > dr.rto_target_seconds:
        problems.append(
            f"dr.rto_target_seconds: the declared settings bound RTO at {bounds.rto_seconds} s, above the target "
            f"{dr.rto_target_seconds} s: detection {bounds.detection_seconds} s "
            f"(dr.health_check.interval_seconds {hc.interval_seconds} x dr.health_check.failure_threshold "
            f"{hc.failure_threshold}) + DNS TTL {bounds.ttl_seconds} (dr.dns_ttl_seconds, 0 when dr.proxied) + "
            f"dr.database.promotion_seconds "
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

"""The database tier: self-managed PostgreSQL 15 on Kubernetes (a primary and streaming read replicas) and
the PgBouncer pooler in front of it.

Every size that one part imposes on another is checked here, so an impossible stack is a config error that
names the key: PgBouncer's server connections (``pooler.replicas`` x ``pooler.default_pool_size`` x pools)
must fit in ``max_connections`` minus what is reserved for the superuser, the exporter, maintenance and backup
sessions; each read replica needs its own zone (hard anti-affinity) and a WAL sender; the memory settings are
derived from the container memory so that ``shared_buffers`` + connections' ``work_mem`` cannot exceed it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.lib.settings import (
    CpuQuantity,
    MemoryQuantity,
    PinnedImage,
    Settings,
    cpu_millicores,
    memory_bytes,
    raise_problems,
)

MIB = 2**20

#: Server parameters this package renders itself (derived or security-relevant): ``parameters`` may not
#: override them, so TLS, archiving and the memory arithmetic cannot be switched off by a stray line.
MANAGED_PARAMETERS = frozenset(
    {
        "listen_addresses",
        "port",
        "max_connections",
        "superuser_reserved_connections",
        "shared_buffers",
        "effective_cache_size",
        "work_mem",
        "maintenance_work_mem",
        "ssl",
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_min_protocol_version",
        "password_encryption",
        "hba_file",
        "archive_mode",
        "archive_command",
        "archive_timeout",
        "wal_level",
        "max_wal_senders",
        "max_replication_slots",
        "hot_standby",
        "shared_preload_libraries",
        "statement_timeout",
        "log_min_duration_statement",
        "data_directory",
    }
)

_PARAMETER_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

EXPORTER_CONNECTIONS = 2
"""postgres_exporter keeps one session per pod and may open a second during a scrape."""


class PoolerSettings(Settings):
    """PgBouncer in transaction mode (seed figures) between the services and the primary."""

    enabled: bool = Field(
        default=True, description="Deploy PgBouncer; services then reach the database only through it."
    )
    replicas: int = Field(
        default=2, ge=1, le=20, description="PgBouncer pods (2+: one may be drained or lost without an outage)."
    )
    image: PinnedImage = Field(
        default="ghcr.io/cloudnative-pg/pgbouncer:1.23.1", description="PgBouncer image (has `sh` for the entrypoint)."
    )
    exporter_image: PinnedImage = Field(
        default="quay.io/prometheuscommunity/pgbouncer-exporter:v0.9.0",
        description="prometheus-community pgbouncer_exporter sidecar (reads SHOW STATS/POOLS on the admin console).",
    )
    pool_mode: Literal["transaction", "session"] = Field(
        default="transaction",
        description="transaction (seed): a server connection per transaction; session features are unavailable "
        "(see README). session: one server connection per client, no multiplexing.",
    )
    max_client_conn: int = Field(default=1000, ge=1, le=100_000, description="Client connections per pod (seed: 1000).")
    default_pool_size: int = Field(
        default=25, ge=1, le=1000, description="Server connections per database/user pair per pod (seed: 25)."
    )
    min_pool_size: int = Field(
        default=2, ge=0, le=1000, description="Server connections kept open when idle (seed: 2)."
    )
    reserve_pool_size: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Extra server connections after reserve_pool_timeout; 0 keeps the pool a hard 25 per pair.",
    )
    server_idle_timeout_seconds: int = Field(
        default=30, ge=0, le=86_400, description="Close a server connection idle this long (seed: idle 30 s)."
    )
    server_lifetime_seconds: int = Field(
        default=3600, ge=0, le=86_400, description="Recycle server connections after this long (memory, DNS)."
    )
    query_wait_timeout_seconds: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="A client waiting this long for a server connection gets an error (matches statement_timeout).",
    )
    client_idle_timeout_seconds: int = Field(
        default=0, ge=0, le=86_400, description="Drop idle clients after this long; 0: never (apps keep pools)."
    )
    cpu_request: CpuQuantity = Field(default="100m", description="PgBouncer CPU request (single-threaded).")
    cpu_limit: CpuQuantity = Field(default="1", description="PgBouncer CPU limit: one core is all it can use.")
    memory: MemoryQuantity = Field(default="256Mi", description="PgBouncer memory (request = limit).")

    @model_validator(mode="after")
    def _sizes(self) -> PoolerSettings:
        problems = []
        if self.min_pool_size > self.default_pool_size:
            problems.append(f"min_pool_size: {self.min_pool_size} exceeds default_pool_size {self.default_pool_size}")
        if self.default_pool_size > self.max_client_conn:
            problems.append(
                f"default_pool_size: {self.default_pool_size} exceeds max_client_conn {self.max_client_conn}; "
                "a pool larger than its clients only holds idle server connections"
            )
        raise_problems(problems)
        return self

    @property
    def server_connections_per_pool(self) -> int:
        """What one pod may open per database/user pair: the pool plus its reserve."""
        return self.default_pool_size + self.reserve_pool_size


class TlsSettings(Settings):
    """Where the server certificate comes from (cert-manager issues and renews it)."""

    issuer_kind: Literal["ClusterIssuer", "Issuer"] = Field(
        default="ClusterIssuer", description="cert-manager issuer kind of the server certificate."
    )
    issuer_name: str = Field(
        default="platform-internal-ca",
        pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        description="cert-manager issuer that signs the certificate (an internal CA the clients may trust).",
    )
    duration_hours: int = Field(default=2160, ge=24, le=8760, description="Certificate lifetime (90 days).")
    renew_before_hours: int = Field(default=720, ge=1, le=8760, description="Renew this long before expiry.")
    min_protocol_version: Literal["TLSv1.2", "TLSv1.3"] = Field(
        default="TLSv1.2", description="ssl_min_protocol_version (and PgBouncer's tls_protocols)."
    )

    @model_validator(mode="after")
    def _renewal(self) -> TlsSettings:
        if self.renew_before_hours >= self.duration_hours:
            raise ValueError(
                f"renew_before_hours: {self.renew_before_hours} is not below duration_hours {self.duration_hours}"
            )
        return self


class StorageSettings(Settings):
    """Data volumes: an encrypted StorageClass made for the database unless explicitly opted out."""

    size: MemoryQuantity = Field(default="50Gi", description="PVC size per PostgreSQL pod (data + WAL).")
    provisioner: str = Field(
        default="ebs.csi.aws.com", description="CSI driver of the encrypted StorageClass (EBS CSI on EKS)."
    )
    volume_type: str = Field(default="gp3", pattern=r"^[a-z0-9]+$", description="EBS volume type (`type` parameter).")
    kms_key_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$",
        description="Existing KMS key for the volumes; None creates a dedicated key (rotated, protected in prod).",
    )
    allow_unencrypted_storage: bool = Field(
        default=False,
        description="Opt out of the encrypted StorageClass and use `storage_class` (or cloud.kubernetes.storage_class) "
        "as is; the storage-encryption policy then fails the plan unless that class is declared encrypted.",
    )
    storage_class: str | None = Field(
        default=None, description="Only with allow_unencrypted_storage: the existing class to use."
    )

    @model_validator(mode="after")
    def _class(self) -> StorageSettings:
        if self.storage_class is not None and not self.allow_unencrypted_storage:
            raise ValueError(
                "storage_class: only with allow_unencrypted_storage (by default the database gets its own encrypted "
                "StorageClass)"
            )
        return self


class DatabaseSettings(Settings):
    """Self-managed PostgreSQL 15 (see components/database/README.md for the shape and its limits)."""

    image: PinnedImage = Field(
        default="ghcr.io/example/postgres-backup:15.8-1",
        description="PostgreSQL 15 image with functions.backup under /opt/backup (functions/backup/Dockerfile, target "
        "postgres): archive_command runs `wal-push` inside the database container.",
    )
    exporter_image: PinnedImage = Field(
        default="quay.io/prometheuscommunity/postgres-exporter:v0.15.0", description="postgres_exporter sidecar."
    )
    replicas: int = Field(
        default=2, ge=0, le=15, description="Streaming read replicas behind the `-ro` Service (seed: read replicas)."
    )
    allow_replica_in_same_zone: bool = Field(
        default=False,
        description="Opt out of one zone per PostgreSQL pod (hard anti-affinity); needs fewer zones, and a zone "
        "failure can then take the primary and a replica together.",
    )
    databases: tuple[str, ...] = Field(
        default=("app",), min_length=1, description="Application databases created at first start (owner: app_user)."
    )
    app_user: str = Field(default="app", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Role the services use.")
    cpu_request: CpuQuantity = Field(default="1", description="PostgreSQL CPU request.")
    cpu_limit: CpuQuantity = Field(default="2", description="PostgreSQL CPU limit.")
    memory: MemoryQuantity = Field(
        default="4Gi", description="Container memory (request = limit); the memory parameters derive from it."
    )
    max_connections: int = Field(
        default=200,
        ge=20,
        le=5000,
        description="Server sessions; each costs ~10 MB plus work_mem per sort/hash. The pooler keeps the count low.",
    )
    superuser_reserved_connections: int = Field(
        default=3, ge=1, le=50, description="Sessions only a superuser may take (an operator can always get in)."
    )
    maintenance_connections: int = Field(
        default=6,
        ge=0,
        le=200,
        description="Sessions kept free for the maintenance and backup jobs (pg_dump, VACUUM, the restore test), "
        "which connect directly, not through the pooler.",
    )
    statement_timeout_seconds: int = Field(
        default=30, ge=0, le=86_400, description="Server default statement_timeout (seed: 30 s); 0 disables."
    )
    idle_in_transaction_timeout_seconds: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="idle_in_transaction_session_timeout: a session idle inside a transaction holds locks and a "
        "pooled server connection.",
    )
    slow_query_ms: int = Field(
        default=500,
        ge=-1,
        le=3_600_000,
        description="log_min_duration_statement: statements slower than this are logged (the p95 latency target).",
    )
    work_mem: MemoryQuantity | None = Field(
        default=None,
        description="Explicit work_mem; None derives (memory - shared_buffers) / (4 x max_connections), at least 4MB.",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Further postgresql.conf parameters (name -> value, quoted as given). Parameters this package "
        "derives or secures (TLS, archiving, memory, connections) are rejected here: use their own keys.",
    )
    tls: TlsSettings = Field(default_factory=TlsSettings, description="Server certificate (TLS is always on).")
    storage: StorageSettings = Field(default_factory=StorageSettings, description="Data volumes and their encryption.")
    pooler: PoolerSettings = Field(default_factory=PoolerSettings, description="PgBouncer.")
    allow_no_wal_archive: bool = Field(
        default=False,
        description="Run without WAL archiving (backup_jobs.wal_archive.mode not archive_command): point-in-time "
        "restore and the 30 s RPO are then lost.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> DatabaseSettings:
        problems = [
            f"parameters.{name}: set by this package (use its own key or the derived value)"
            for name in self.parameters
            if name in MANAGED_PARAMETERS
        ]
        problems += [
            f"parameters.{name}: not a PostgreSQL parameter name"
            for name in self.parameters
            if not _PARAMETER_NAME.match(name)
        ]
        problems += [
            f"databases[{i}]: {db!r} is not a plain lowercase identifier"
            for i, db in enumerate(self.databases)
            if not _DATABASE_NAME.match(db) or db in ("postgres", "template0", "template1", "pgbouncer")
        ]
        if cpu_millicores(self.cpu_request) > cpu_millicores(self.cpu_limit):
            problems.append(f"cpu_request: {self.cpu_request} exceeds cpu_limit {self.cpu_limit}")
        memory = memory_bytes(self.memory)
        if memory < 512 * MIB:
            problems.append(f"memory: {self.memory} is below 512Mi, too small for PostgreSQL with its buffers")
        elif (
            self.work_mem is not None
            and self.max_connections * memory_bytes(self.work_mem) > memory - self.shared_buffers_bytes
        ):
            problems.append(
                f"work_mem: {self.work_mem} x max_connections {self.max_connections} exceeds the memory left after "
                f"shared_buffers ({(memory - self.shared_buffers_bytes) // MIB} MiB of memory {self.memory})"
            )
        problems += self._pool_problems()
        raise_problems(problems)
        return self

    def _pool_problems(self) -> list[str]:
        if not self.pooler.enabled:
            return []
        available = self.max_connections - self.reserved_connections
        needed = self.pooler_server_connections
        if needed <= available:
            return []
        p = self.pooler
        return [
            f"pooler.default_pool_size: pooler.replicas {p.replicas} x (default_pool_size {p.default_pool_size} + "
            f"reserve_pool_size {p.reserve_pool_size}) x {len(self.databases)} database(s) = {needed} server "
            f"connections, above max_connections {self.max_connections} minus {self.reserved_connections} reserved "
            f"(superuser_reserved_connections {self.superuser_reserved_connections} + exporter "
            f"{EXPORTER_CONNECTIONS} + maintenance_connections {self.maintenance_connections}) = {available}; "
            "lower the pool or pooler.replicas, or raise max_connections"
        ]

    # --- derived figures ---------------------------------------------------------------------------------

    @property
    def reserved_connections(self) -> int:
        """Sessions the pooler must leave free. WAL senders (replicas, pg_basebackup) have their own budget
        (max_wal_senders) since PostgreSQL 12, so they are not subtracted here."""
        return self.superuser_reserved_connections + EXPORTER_CONNECTIONS + self.maintenance_connections

    @property
    def pooler_server_connections(self) -> int:
        """Most server sessions all PgBouncer pods together can open (one pool per database, one app user)."""
        p = self.pooler
        return p.replicas * p.server_connections_per_pool * len(self.databases)

    @property
    def pods(self) -> int:
        return 1 + self.replicas

    @property
    def memory_bytes(self) -> int:
        return memory_bytes(self.memory)

    @property
    def shared_buffers_bytes(self) -> int:
        """25 % of the container memory: PostgreSQL's own guidance; the OS page cache does the rest."""
        return self.memory_bytes // 4

    @property
    def effective_cache_size_bytes(self) -> int:
        """75 % of the memory: what the planner may assume is cached (shared_buffers + page cache)."""
        return self.memory_bytes * 3 // 4

    @property
    def work_mem_bytes(self) -> int:
        """Per sort/hash node: what is left after shared_buffers shared by max_connections, /4 for nodes in
        parallel plans and several per query; never below PostgreSQL's 4MB default."""
        if self.work_mem is not None:
            return memory_bytes(self.work_mem)
        derived = (self.memory_bytes - self.shared_buffers_bytes) // (4 * self.max_connections)
        return max(derived, 4 * MIB)

    @property
    def maintenance_work_mem_bytes(self) -> int:
        """VACUUM / CREATE INDEX: 1/16 of memory, between 64MB and 2GB (more does not speed VACUUM up)."""
        return min(max(self.memory_bytes // 16, 64 * MIB), 2048 * MIB)

    @property
    def max_wal_senders(self) -> int:
        """One per replica, one for the base-backup job, two spare (a replica re-cloning, a manual backup)."""
        return self.replicas + 3

    @property
    def max_slot_wal_keep_bytes(self) -> int:
        """WAL a lagging replica's slot may pin: a quarter of the volume, so a dead replica cannot fill the disk."""
        return memory_bytes(self.storage.size) // 4


def database_problems(settings: DatabaseSettings | None, zones: int, wal_mode: str | None) -> list[str]:
    """Checks that need other sections: zones for the replicas, the backup jobs' WAL archive mode."""
    if settings is None:
        return []
    problems: list[str] = []
    if not settings.allow_replica_in_same_zone and settings.pods > zones:
        problems.append(
            f"database.replicas: {settings.replicas} replicas + the primary need {settings.pods} zones (one PostgreSQL "
            f"pod per zone) but cloud.kubernetes.zones lists {zones}; add zones, lower database.replicas or set "
            "database.allow_replica_in_same_zone"
        )
    if wal_mode != "archive_command" and not settings.allow_no_wal_archive:
        problems.append(
            f"database.allow_no_wal_archive: backup_jobs.wal_archive.mode is {wal_mode or 'absent'!s}, so no WAL "
            "leaves the database (no point-in-time restore, RPO = the dump schedule); set backup_jobs.wal_archive.mode: "
            "archive_command, or opt out explicitly"
        )
    return problems


class DatabaseArgs(BaseModel):
    """Inputs of :class:`~components.database.component.Database`."""

    model_config = ConfigDict(frozen=True)

    settings: DatabaseSettings = Field(description="The validated database section.")
    name: str = Field(default="database", description="Prefix of every Kubernetes object.")
    namespace: str = Field(description="Namespace of every object (network placement: no default VPC).")
    zones: tuple[str, ...] = Field(default=(), description="cloud.kubernetes.zones (spread and anti-affinity).")
    fallback_storage_class: str = Field(
        default="gp3", description="cloud.kubernetes.storage_class, used only with allow_unencrypted_storage."
    )
    cluster_domain: str = Field(default="cluster.local", description="Kubernetes cluster DNS domain.")
    archive_conf_path: str | None = Field(
        default=None,
        description="Where the backup jobs' archive fragment is mounted (backup_jobs.wal_archive.conf_path); None "
        "without WAL archiving.",
    )
    protect: bool = Field(default=False, description="Protect the data: StatefulSets, PVC class, passwords (prod).")

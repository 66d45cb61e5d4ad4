"""The backup jobs: what runs the backup function (``python -m functions.backup``) on a schedule.

The schedules themselves live in ``backup`` (``backup.classes.<class>.schedule``, ``restore_test_schedule``,
``wal_archive_timeout_seconds``) because the storage and monitoring sides read them too; this section holds
what only the jobs need: the image, where each class's data comes from, the identity the pods run as, the
key that wraps data keys, the metrics sink, and CronJob safety limits.

Checks that need other sections (the RPO target in ``dr``, the vaults in ``backup``) run in
:func:`check_backup_jobs` while the stack config validates, so a schedule that cannot meet the RPO is a
config error naming the keys, not a discovery after an outage.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

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

if TYPE_CHECKING:
    from components.backup.config import BackupSettings
    from components.disaster_recovery.config import DrSettings

JOB_CLASSES = ("db", "chain", "state")
"""The data classes of the backup function (``--class``); each gets its own CronJob."""

RDS_LOG_UPLOAD_SECONDS = 300
"""RDS uploads transaction logs for point-in-time restore every 5 minutes (its PITR RPO)."""

_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/(?P<issuer>[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*)$"
)
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+$")
# Same shapes as functions/backup/keys.py accepts (tests/components/test_backup_jobs_settings.py compares them).
_AZURE_KEY_URL = re.compile(
    r"^https://(?P<vault>[A-Za-z0-9-]{3,24})\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net"
    r"|vault\.microsoftazure\.de|managedhsm\.azure\.net|managedhsm\.azure\.cn|managedhsm\.usgovcloudapi\.net)"
    r"/keys/(?P<name>[A-Za-z0-9-]{1,127})(/[0-9a-fA-F]{32})?/?$"
)
_AZURE_VAULT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w._()]{1,90}/providers/Microsoft\.KeyVault/vaults/"
    r"(?P<vault>[A-Za-z0-9-]{3,24})$"
)
_GCP_KMS_KEY = re.compile(
    r"^projects/[a-z0-9][a-z0-9.:-]{0,62}/locations/[a-z0-9-]{1,63}/keyRings/[A-Za-z0-9_-]{1,63}"
    r"/cryptoKeys/[A-Za-z0-9_-]{1,63}$"
)
_HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")


def secret_name_problem(value: str, key: str) -> str | None:
    """A ``key: message`` problem when ``value`` is not a usable Kubernetes Secret name."""
    if not value:
        return f"{key}: required (the name of a Kubernetes Secret in the stack namespace)"
    if not _SECRET_NAME.match(value):
        return f"{key}: {value!r} is not a Kubernetes Secret name (lowercase letters, digits, '-', '.')"
    return None


class SecretRef(Settings):
    name: str = Field(description="Secret name in the stack namespace (the Secret itself is created outside Pulumi).")
    key: str = Field(default="url", pattern=r"^[-._a-zA-Z0-9]+$", description="Key inside the Secret.")

    @model_validator(mode="after")
    def _name(self) -> SecretRef:
        raise_problems([secret_name_problem(self.name, "name") or ""])
        return self


class SourceVolume(Settings):
    """Where a directory class's data lives: a PersistentVolumeClaim mounted read-only into the job."""

    claim_name: DnsLabel = Field(description="PVC holding the data (ReadOnlyMany/ReadWriteMany, or see pod_affinity).")
    sub_path: str = Field(default="", pattern=r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$", description="Sub-directory.")
    pod_affinity: dict[str, str] = Field(
        default_factory=dict,
        description="Labels of the pod that owns a ReadWriteOnce claim: the job is scheduled onto its node (required "
        "pod affinity), so the volume can be mounted there too.",
    )


class ClassJob(Settings):
    """The CronJob of one data class (its schedule is ``backup.classes.<class>.schedule``)."""

    source: SourceVolume | None = Field(
        default=None, description="chain/state: the volume to back up; db reads backup.database_url_secret instead."
    )
    incremental: bool = Field(
        default=False, description="Directory classes: `incremental` (only changed pieces) instead of a full `backup`."
    )
    deadline_seconds: int = Field(default=3600, ge=60, le=86_400, description="activeDeadlineSeconds of each run.")
    starting_deadline_seconds: int = Field(
        default=120, ge=10, le=86_400, description="A run that could not start this long after its time is skipped."
    )
    level: int = Field(default=1, ge=-7, le=19, description="zstd level (1: same ratio as 3 on dumps, less CPU).")


def _default_classes() -> dict[str, ClassJob]:
    return {
        "db": ClassJob(deadline_seconds=3 * 3600, starting_deadline_seconds=600),
        "chain": ClassJob(
            source=SourceVolume(claim_name="chain-data"),
            incremental=True,
            deadline_seconds=1800,
            starting_deadline_seconds=60,
        ),
        "state": ClassJob(source=SourceVolume(claim_name="app-state"), deadline_seconds=1800),
    }


class WalArchive(Settings):
    """Continuous database backup: how WAL reaches the vaults (the RPO of the db class)."""

    mode: Literal["archive_command", "rds", "off"] = Field(
        default="archive_command",
        description="archive_command: a PostgreSQL you run sets archive_command to `wal-push` (ConfigMap with the "
        "postgresql.conf fragment); rds: Amazon RDS keeps WAL itself (automated backups + the DR replica), "
        "archive_command is not available there; off: scheduled dumps only.",
    )
    base_schedule: CronExpression = Field(
        default="15 1 * * *", description="archive_command mode: the pg_basebackup that WAL replays from (PITR base)."
    )
    interpreter: str = Field(
        default="/opt/backup/bin/python",
        pattern=r"^/[A-Za-z0-9._/-]+$",
        description="Python inside the database container that has functions.backup installed (see the Dockerfile's "
        "`postgres` stage).",
    )
    push_bound_seconds: int = Field(
        default=10,
        ge=1,
        le=600,
        description="archive_command mode: the alerted time one `wal-push` of a 16 MiB segment takes to reach every "
        "vault (WalPushSlow fires above it). It is the upload term of each vault's RPO (archive_timeout + this); "
        "measured 16 MiB of incompressible data to SeaweedFS, Azurite and the GCS emulator at once in ~1-3 s here.",
    )
    conf_path: str = Field(
        default="/etc/postgresql/conf.d/backup-archive.conf",
        pattern=r"^/[A-Za-z0-9._/-]+\.conf$",
        description="Where the database pod mounts the fragment (postgresql.conf `include_dir`/`include`).",
    )


class DrillSettings(Settings):
    """The weekly restore drill (``python -m functions.backup drill``): dump and point-in-time restore, checked."""

    enabled: bool = Field(
        default=False,
        description="Run the drill CronJob (staging stacks turn it on; prod may). It also makes the db dumps record "
        "per-table checksums (`--table-checksums`, a second read of every table while the dump runs).",
    )
    schedule: CronExpression = Field(default="0 6 * * 1", description="When the drill runs (weekly, UTC).")
    pitr_age_seconds: int = Field(
        default=300, ge=0, le=86_400, description="The point-in-time target: this long before the drill starts."
    )
    max_age_days: int = Field(
        default=8, ge=1, le=60, description="Alert (DrillStale) when the last successful drill is older than this."
    )
    pg_user: str = Field(
        default="postgres", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Superuser role of the restored cluster."
    )
    work_volume_size: MemoryQuantity = Field(
        default="20Gi", description="emptyDir for the restored data directory (base backup + replayed WAL)."
    )
    startup_timeout_seconds: int = Field(
        default=1800, ge=60, le=86_400, description="Replay and promotion limit of the point-in-time restore."
    )
    deadline_seconds: int = Field(default=4 * 3600, ge=600, le=86_400, description="activeDeadlineSeconds of a run.")


class WorkloadIdentity(Settings):
    """How the job pods obtain each cloud's writer identity (no static credentials anywhere)."""

    aws_oidc_provider_arn: str | None = Field(
        default=None,
        description="IAM OIDC provider of the cluster (arn:aws:iam::<account>:oidc-provider/<issuer>): the IRSA role's "
        "trust. Required when backup.aws.enabled. Its issuer is also what Azure federates with.",
    )
    oidc_issuer_url: str | None = Field(
        default=None,
        pattern=r"^https://[A-Za-z0-9./_-]+$",
        description="Cluster service-account issuer for the Azure federated credential; None derives it from "
        "aws_oidc_provider_arn.",
    )
    azure_tenant_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Entra ID tenant of the Azure vault's writer identity (`az account show --query tenantId`), set "
        "as AZURE_TENANT_ID in the pods: outside AKS no webhook injects it. Required when backup.azure.enabled.",
    )
    gcp_federation: Literal["workload_identity_federation", "gke"] = Field(
        default="workload_identity_federation",
        description="How the pods become the GCS vault's writer account. `workload_identity_federation` (any "
        "cluster, EKS included): a Workload Identity pool whose OIDC provider trusts the cluster's issuer, and a "
        "credential configuration file in the pods. `gke`: the GKE metadata server (only on GKE with Workload "
        "Identity enabled; the annotation does nothing elsewhere).",
    )
    gcp_pool_id: str = Field(
        default="platform-k8s",
        pattern=r"^[a-z][a-z0-9-]{2,30}[a-z0-9]$",
        description="Workload Identity pool id (4-32 chars) that federates the cluster's service accounts.",
    )
    gcp_provider_id: str = Field(
        default="cluster-oidc",
        pattern=r"^[a-z][a-z0-9-]{2,30}[a-z0-9]$",
        description="Id of the pool's OIDC provider for the cluster's service-account issuer.",
    )
    gcp_workload_pool: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9.-]+\.svc\.id\.goog$",
        description="GKE workload pool (<project>.svc.id.goog) with gcp_federation: gke; None uses cloud.gcp.project's.",
    )

    @field_validator("aws_oidc_provider_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not _OIDC_PROVIDER_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an IAM OIDC provider ARN (arn:aws:iam::123456789012:oidc-provider/oidc.eks."
                "<region>.amazonaws.com/id/<id>)"
            )
        return value

    @property
    def issuer_url(self) -> str | None:
        if self.oidc_issuer_url is not None:
            return self.oidc_issuer_url
        if self.aws_oidc_provider_arn is None:
            return None
        match = _OIDC_PROVIDER_ARN.match(self.aws_oidc_provider_arn)
        return f"https://{match['issuer']}" if match else None


class KeySource(Settings):
    """What wraps each backup's data key (the function never sees a long-lived key in a manifest)."""

    kms_key_arn: str | None = Field(
        default=None,
        description="Existing AWS KMS key; None creates a dedicated multi-Region key when backup.aws.enabled.",
    )
    key_file_secret: str | None = Field(
        default=None,
        description="Instead of KMS: a Secret whose key `key` holds the 32-byte key file (`keygen`), mounted "
        "read-only; for stacks without AWS.",
    )
    azure_key_id: str | None = Field(
        default=None,
        description="Existing Azure Key Vault RSA key (https://<vault>.vault.azure.net/keys/<name>) that also wraps "
        "every data key (`--azure-key-id`), so the Azure copies restore without AWS; needs backup.azure.enabled and "
        "azure_key_vault_id. None: no Azure recipient (this component does not create Key Vaults).",
    )
    azure_key_vault_id: str | None = Field(
        default=None,
        description="ARM id of the Key Vault holding azure_key_id (/subscriptions/<id>/resourceGroups/<rg>/providers/"
        "Microsoft.KeyVault/vaults/<name>): the writer identity gets Key Vault Crypto User on the key there.",
    )
    gcp_kms_key: str | None = Field(
        default=None,
        description="Existing Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) that also wraps every "
        "data key (`--gcp-kms-key`), so the GCS copies restore without AWS; None creates one when backup.gcs.enabled "
        "(unless key_file_secret). The GCS writer account gets roles/cloudkms.cryptoKeyEncrypterDecrypter on it.",
    )

    @model_validator(mode="after")
    def _one(self) -> KeySource:
        problems: list[str] = []
        if self.kms_key_arn is not None and not _KMS_KEY_ARN.match(self.kms_key_arn):
            problems.append(f"kms_key_arn: {self.kms_key_arn!r} is not a KMS key or alias ARN")
        url = _AZURE_KEY_URL.match(self.azure_key_id) if self.azure_key_id is not None else None
        if self.azure_key_id is not None and url is None:
            problems.append(
                f"azure_key_id: {self.azure_key_id!r} is not a Key Vault key URL "
                "(https://<vault>.vault.azure.net/keys/<name>[/<32-hex version>])"
            )
        vault = _AZURE_VAULT_ID.match(self.azure_key_vault_id) if self.azure_key_vault_id is not None else None
        if self.azure_key_vault_id is not None and vault is None:
            problems.append(
                f"azure_key_vault_id: {self.azure_key_vault_id!r} is not a Key Vault resource id "
                "(/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>)"
            )
        if self.azure_key_vault_id is not None and self.azure_key_id is None:
            problems.append("azure_key_vault_id: only with azure_key_id (the key in that vault)")
        if url is not None and self.azure_key_vault_id is None:
            problems.append("azure_key_vault_id: required with azure_key_id (scope of the writer's role assignment)")
        if url is not None and vault is not None and url["vault"].lower() != vault["vault"].lower():
            problems.append(
                f"azure_key_vault_id: names vault {vault['vault']!r}, azure_key_id is in vault {url['vault']!r}"
            )
        if self.gcp_kms_key is not None and not _GCP_KMS_KEY.match(self.gcp_kms_key):
            problems.append(
                f"gcp_kms_key: {self.gcp_kms_key!r} is not a Cloud KMS CryptoKey name "
                "(projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>)"
            )
        if self.kms_key_arn is not None and self.key_file_secret is not None:
            problems.append("key_file_secret: give kms_key_arn or key_file_secret, not both")
        if self.key_file_secret is not None:
            problems.append(secret_name_problem(self.key_file_secret, "key_file_secret") or "")
        raise_problems(problems)
        return self


class JobResources(Settings):
    cpu_request: CpuQuantity = Field(default="250m", description="CPU request of every backup container.")
    cpu_limit: CpuQuantity = Field(default="1", description="CPU limit.")
    memory_request: MemoryQuantity = Field(default="256Mi", description="Memory request (measured peak RSS ~70 MB).")
    memory_limit: MemoryQuantity = Field(default="512Mi", description="Memory limit.")
    scratch_size: MemoryQuantity = Field(default="1Gi", description="emptyDir for /tmp (restore test of directories).")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> JobResources:
        problems = []
        if cpu_millicores(self.cpu_request) > cpu_millicores(self.cpu_limit):
            problems.append(f"cpu_request: {self.cpu_request} exceeds cpu_limit {self.cpu_limit}")
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            problems.append(f"memory_request: {self.memory_request} exceeds memory_limit {self.memory_limit}")
        raise_problems(problems)
        return self


class BackupJobsSettings(Settings):
    image: PinnedImage = Field(description="Image with functions.backup and PostgreSQL client tools (Dockerfile).")
    classes: dict[str, ClassJob] = Field(
        default_factory=_default_classes, description="Per data class (db, chain, state): source and limits."
    )
    wal_archive: WalArchive = Field(default_factory=WalArchive, description="Continuous database backup (WAL).")
    drill: DrillSettings = Field(default_factory=DrillSettings, description="Weekly restore drill.")
    scratch_database_url_secret: SecretRef = Field(
        default_factory=lambda: SecretRef(name="backup-scratch-db"),
        description="Secret with the *scratch* server URL (postgresql://user:pw@host:port/) the restore test "
        "restores into; never the source database.",
    )
    source_database_url_key: str = Field(
        default="url", pattern=r"^[-._a-zA-Z0-9]+$", description="Key inside backup.database_url_secret."
    )
    identity: WorkloadIdentity = Field(default_factory=WorkloadIdentity, description="Workload identity per cloud.")
    key: KeySource = Field(default_factory=KeySource, description="Data-key wrapping key.")
    pushgateway_url: str = Field(
        default="http://prometheus-pushgateway.monitoring.svc:9091",
        description="Pushgateway the jobs push backup_completion_time / backup_failures_total to (label class).",
    )
    verify_schedule: CronExpression = Field(default="45 3 * * *", description="Daily verify of each class's newest.")
    prune_schedule: CronExpression = Field(default="30 4 * * *", description="Daily prune (retention) per class.")
    prune_apply: bool = Field(
        default=False,
        description="Run prune with --apply. Off: a daily report only, because the writer identities cannot delete "
        "(the vaults' lifecycle rules expire objects); turning it on needs an identity allowed to delete.",
    )
    restore_test_deadline_seconds: int = Field(default=4 * 3600, ge=600, le=86_400, description="Restore test limit.")
    timezone: str = Field(default="Etc/UTC", description="CronJob timeZone of every schedule.")
    history_limit: int = Field(default=3, ge=1, le=10, description="Successful/failed Jobs kept per CronJob.")
    backoff_limit: int = Field(default=1, ge=0, le=6, description="Retries of a failed run (Job backoffLimit).")
    run_as_user: int = Field(default=10001, ge=1, description="Non-root UID of the job pods.")
    resources: JobResources = Field(default_factory=JobResources, description="Container resources.")

    @field_validator("pushgateway_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL (e.g. 'http://prometheus-pushgateway.monitoring:9091')")
        return value

    @field_validator("classes", mode="before")
    @classmethod
    def _merge_default_classes(cls, value: Any) -> Any:
        """A stack lists only the classes it changes; the others keep their defaults (null removes one)."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {k: v.model_dump() for k, v in _default_classes().items()}
        merged.update(value)
        return {k: v for k, v in merged.items() if v is not None}

    @model_validator(mode="after")
    def _classes(self) -> BackupJobsSettings:
        problems: list[str] = []
        for name in self.classes:
            if name not in JOB_CLASSES:
                problems.append(f"classes.{name}: unknown data class; allowed: {', '.join(JOB_CLASSES)}")
        for name in JOB_CLASSES:
            job = self.classes.get(name)
            if job is None:
                problems.append(f"classes.{name}: missing (every data class needs its CronJob)")
            elif name == "db" and (job.source is not None or job.incremental):
                problems.append("classes.db: reads backup.database_url_secret; source/incremental are for directories")
            elif name != "db" and job.source is None:
                problems.append(f"classes.{name}.source: required (the PVC holding the {name} data)")
        raise_problems(problems)
        return self


def max_gap_seconds(schedule: str, horizon_days: int = 62, limit: int | None = None) -> int:
    """Longest time between two runs of a cron schedule over ``horizon_days`` (UTC), in seconds.

    Stops early once a gap above ``limit`` is seen (frequent schedules would otherwise take many steps).
    """
    from croniter import croniter

    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start.timestamp() + horizon_days * 86_400
    it = croniter(schedule, start)
    previous = float(it.get_next(float))
    widest = 0
    for _ in range(200_000):
        current = float(it.get_next(float))
        widest = max(widest, int(current - previous))
        if (limit is not None and widest > limit) or current > end:
            break
        previous = current
    return widest


def backup_jobs_problems(jobs: BackupJobsSettings, data: dict[str, Any]) -> list[str]:
    """Problems of ``backup_jobs`` against the other sections (``data``: the validated sections so far).

    Each message starts with the ``backup_jobs`` key to change and names the other keys involved.
    """
    backup, dr, cloud = data.get("backup"), data.get("dr"), data.get("cloud")
    if backup is None or dr is None or cloud is None:
        return []  # those sections failed on their own; their errors say why
    problems = [
        *_rpo_problems(jobs, backup, dr),
        *_secret_problems(jobs, backup),
        *_identity_problems(jobs, backup),
        *_key_problems(jobs, backup),
    ]
    for name, job in jobs.classes.items():
        if job.incremental and backup.classes[name].full_interval_days < 1:  # type: ignore[index]
            problems.append(
                f"classes.{name}.incremental: needs backup.classes.{name}.full_interval_days >= 1 (an endless chain "
                "references objects the vault lifecycle has already expired)"
            )
    if not (backup.aws.enabled or backup.azure.enabled or backup.gcs.enabled):
        problems.append("classes: no vault to write to; enable backup.aws, backup.azure or backup.gcs")
    return [p for p in problems if p]


def _rpo_problems(jobs: BackupJobsSettings, backup: BackupSettings, dr: DrSettings) -> list[str]:
    """The WAL archive mode decides the database RPO: each mode's bound must meet ``dr.rpo_target_seconds``."""
    problems: list[str] = []
    rpo = dr.rpo_target_seconds
    mode = jobs.wal_archive.mode
    if mode == "archive_command" and not dr.enabled and backup.wal_archive_timeout_seconds > rpo:
        # (with dr.enabled, dr's own recovery-bound check reports the same setting)
        problems.append(
            f"wal_archive.mode: archive_timeout (backup.wal_archive_timeout_seconds "
            f"{backup.wal_archive_timeout_seconds} s) exceeds dr.rpo_target_seconds {rpo} s; lower it"
        )
    if mode == "rds" and not dr.enabled:
        problems.append(
            f"wal_archive.mode: 'rds' bounds the database RPO at RDS's {RDS_LOG_UPLOAD_SECONDS} s transaction-log upload, "
            f"above dr.rpo_target_seconds {rpo} s, unless dr.enabled adds the cross-region replica; enable dr or use "
            "archive_command"
        )
    if mode == "off":
        db_schedule = backup.classes["db"].schedule
        gap = max_gap_seconds(db_schedule, limit=rpo)
        if gap > rpo:
            problems.append(
                f"wal_archive.mode: 'off' leaves the database RPO at the gap of backup.classes.db.schedule "
                f"{db_schedule!r} ({gap} s), above dr.rpo_target_seconds {rpo} s; use archive_command (or rds)"
            )
    return problems


def _secret_problems(jobs: BackupJobsSettings, backup: BackupSettings) -> list[str]:
    """The source Secret must be a valid name, and the restore test must never target the source database."""
    problems: list[str] = []
    source_problem = secret_name_problem(backup.database_url_secret, "backup.database_url_secret")
    if source_problem:
        problems.append(f"source_database_url_key: the source database Secret {source_problem}")
    if backup.database_url_secret == jobs.scratch_database_url_secret.name:
        problems.append(
            f"scratch_database_url_secret.name: {jobs.scratch_database_url_secret.name!r} is backup.database_url_secret; "
            "the restore test must target a scratch server, never the source database"
        )
    return problems


def _identity_problems(jobs: BackupJobsSettings, backup: BackupSettings) -> list[str]:
    """Each enabled vault's writer identity needs the cluster facts that its trust is built from."""
    problems: list[str] = []
    if backup.aws.enabled and jobs.identity.aws_oidc_provider_arn is None:
        problems.append(
            "identity.aws_oidc_provider_arn: required when backup.aws.enabled (the IRSA role trusts the cluster's "
            "OIDC provider; `aws eks describe-cluster --query cluster.identity.oidc.issuer`)"
        )
    if backup.azure.enabled and jobs.identity.issuer_url is None:
        problems.append(
            "identity.oidc_issuer_url: required when backup.azure.enabled (the writer identity's federated credential "
            "trusts the cluster's service-account issuer)"
        )
    federated = jobs.identity.gcp_federation == "workload_identity_federation"
    if backup.gcs.enabled and federated and jobs.identity.issuer_url is None:
        problems.append(
            "identity.oidc_issuer_url: required when backup.gcs.enabled (GCP Workload Identity Federation trusts the "
            "cluster's service-account issuer; set it or identity.aws_oidc_provider_arn, or use gcp_federation: gke "
            "on a GKE cluster)"
        )
    if federated and jobs.identity.gcp_workload_pool is not None:
        problems.append(
            "identity.gcp_workload_pool: only with identity.gcp_federation: gke (a GKE pool federates nothing for "
            "another cluster; the Workload Identity pool is identity.gcp_pool_id)"
        )
    if backup.azure.enabled and jobs.identity.azure_tenant_id is None:
        problems.append(
            "identity.azure_tenant_id: required when backup.azure.enabled (the pods exchange their service-account "
            "token for the writer identity's Entra ID token in that tenant; `az account show --query tenantId`)"
        )
    return problems


def _key_problems(jobs: BackupJobsSettings, backup: BackupSettings) -> list[str]:
    """Every data key must be wrappable: a KMS key or key file, and each extra cloud's key needs its vault."""
    problems: list[str] = []
    if not backup.aws.enabled and jobs.key.kms_key_arn is None and jobs.key.key_file_secret is None:
        problems.append(
            "key.key_file_secret: required without backup.aws.enabled (no KMS key to create); or set key.kms_key_arn"
        )
    if jobs.key.azure_key_id is not None and not backup.azure.enabled:
        problems.append(
            "key.azure_key_id: needs backup.azure.enabled (the job pods reach Key Vault as the Azure vault's writer "
            "identity)"
        )
    if jobs.key.gcp_kms_key is not None and not backup.gcs.enabled:
        problems.append(
            "key.gcp_kms_key: needs backup.gcs.enabled (the job pods reach Cloud KMS as the GCS vault's writer account)"
        )
    return problems


def _check(value: BackupJobsSettings | None, info: ValidationInfo) -> BackupJobsSettings | None:
    if value is not None:
        raise_problems(backup_jobs_problems(value, dict(info.data)))
    return value


BackupJobsField = Annotated[BackupJobsSettings | None, AfterValidator(_check)]
"""The ``backup_jobs`` field type of the stack config: declared after ``backup``/``dr``/``cloud`` so the
check sees them validated (pydantic validates fields in declaration order)."""

"""Pure builders of the backup jobs' Kubernetes manifests (plain camelCase dicts, unit-testable).

Every job runs ``python -m functions.backup <command> …`` from the backup image. The command lines are built
here once (:func:`backup_argv`, :func:`verify_argv`, …) so the tests can feed each container's ``args`` to the
function's real argparse parser: a renamed flag fails a test instead of a 3 a.m. run.

Secrets stay references: the database URLs reach the container as ``secretKeyRef`` env vars and the command
line names them as ``$(DATABASE_URL)``, which the kubelet expands at start; the data-key wrapping key is a
KMS key id (no material) or a Secret volume. Values that are only known after ``pulumi up`` (bucket names,
KMS ARNs, identities) may be passed as ``pulumi.Input[str]``; pulumi resolves them inside the dicts.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.backup.config import BackupSettings
from components.backup_jobs.config import BackupJobsSettings, ClassJob, SourceVolume
from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, pod_security_context

CLI = ("python", "-m", "functions.backup")
DATABASE_URL_ENV = "DATABASE_URL"
SCRATCH_URL_ENV = "SCRATCH_DATABASE_URL"
KEY_MOUNT = "/var/run/secrets/backup-key"
KEY_FILE = f"{KEY_MOUNT}/key"
SOURCE_MOUNT = "/data"
JOBS_SERVICE_ACCOUNT = "backup-jobs"
WAL_SERVICE_ACCOUNT = "backup-wal-archiver"
WAL_CONFIGMAP = "backup-wal-archive"
AZURE_USE_LABEL = "azure.workload.identity/use"

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
AZURE_ANNOTATION = "azure.workload.identity/client-id"
AZURE_TENANT_ANNOTATION = "azure.workload.identity/tenant-id"
GKE_ANNOTATION = "iam.gke.io/gcp-service-account"

AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
"""Audience Entra ID expects on a federated service-account token (the federated credentials' ``audiences``)."""
AZURE_TOKEN_VOLUME = "azure-identity-token"
AZURE_TOKEN_MOUNT = "/var/run/secrets/azure/tokens"
AZURE_TOKEN_FILE = f"{AZURE_TOKEN_MOUNT}/azure-identity-token"
AZURE_TOKEN_EXPIRATION_SECONDS = 3600
"""The kubelet rotates the projected token at 80 % of this; DefaultAzureCredential re-reads the file."""

GCP_TOKEN_VOLUME = "gcp-identity-token"
GCP_TOKEN_MOUNT = "/var/run/secrets/gcp/tokens"
GCP_TOKEN_FILE = f"{GCP_TOKEN_MOUNT}/gcp-identity-token"
GCP_CREDENTIALS_CONFIGMAP = "backup-gcp-credentials"
GCP_CREDENTIALS_KEY = "credential-configuration.json"
GCP_CREDENTIALS_VOLUME = "gcp-credentials"
GCP_CREDENTIALS_MOUNT = "/etc/gcp"
GCP_CREDENTIALS_FILE = f"{GCP_CREDENTIALS_MOUNT}/{GCP_CREDENTIALS_KEY}"
GCP_STS_URL = "https://sts.googleapis.com/v1/token"
GCP_JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def gcp_provider_name(project_number: str, pool_id: str, provider_id: str) -> str:
    """The pool provider's resource name: the STS ``audience`` of the credential configuration."""
    return (
        f"//iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/{pool_id}"
        f"/providers/{provider_id}"
    )


def gcp_token_audience(provider_name: str) -> str:
    """The audience the projected token carries and the provider allows (Google's default form of it)."""
    return f"https:{provider_name}"


def gcp_principal(project_number: str, pool_id: str, subject: str) -> str:
    """The federated identity of one Kubernetes service account (``google.subject`` = the token's ``sub``)."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
        f"{pool_id}/subject/{subject}"
    )


def gcp_credential_configuration(provider_name: str, writer_email: str) -> dict[str, Any]:
    """The ``external_account`` file google-auth reads (GOOGLE_APPLICATION_CREDENTIALS): exchange the projected
    service-account token at STS, then impersonate the vault's writer account."""
    return {
        "type": "external_account",
        "audience": provider_name,
        "subject_token_type": GCP_JWT_TOKEN_TYPE,
        "token_url": GCP_STS_URL,
        "service_account_impersonation_url": (
            f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{writer_email}:generateAccessToken"
        ),
        "credential_source": {"file": GCP_TOKEN_FILE, "format": {"type": "text"}},
    }


@dataclass(frozen=True)
class Vaults:
    """What the jobs write to and how they authenticate, as resolved by the component."""

    targets: Mapping[str, Sequence[pulumi.Input[str]]]
    """Data class -> backup CLI target URIs (one per enabled vault); ``wal`` archives go to the db targets."""
    kms_key_id: pulumi.Input[str] | None = None
    azure_key_id: pulumi.Input[str] | None = None
    """Key Vault key URL that also wraps each data key (``--azure-key-id``)."""
    gcp_kms_key: pulumi.Input[str] | None = None
    """Cloud KMS CryptoKey name that also wraps each data key (``--gcp-kms-key``)."""
    has_s3: bool = False
    identity_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Non-secret environment every backup container gets (regions, projects, endpoints)."""
    gcp_token_audience: str | None = None
    """Set with Workload Identity Federation: the pods get the projected token and the credential file."""

    @property
    def azure(self) -> bool:
        return AZURE_ANNOTATION in self.identity_annotations


@dataclass(frozen=True)
class JobsContext:
    settings: BackupJobsSettings
    backup: BackupSettings
    namespace: str
    vaults: Vaults


# --- command lines ------------------------------------------------------------------------------


def _targets(ctx: JobsContext, data_class: str) -> list[pulumi.Input[str]]:
    args: list[pulumi.Input[str]] = []
    for uri in ctx.vaults.targets[data_class]:
        args += ["--target", uri]
    return args


def key_args(
    ctx: JobsContext, *, missing: str = "backup_jobs.key: no KMS key and no key_file_secret"
) -> list[pulumi.Input[str]]:
    """Every wrapping key of ``ctx.vaults``: each new data key gets one recipient per key, and any one of them
    restores (so a copy in Azure or GCS stays readable without the AWS account). ``missing``: the config error
    when there is none."""
    v = ctx.vaults
    args: list[pulumi.Input[str]] = []
    if v.kms_key_id is not None:
        args += ["--kms-key-id", v.kms_key_id]
    if v.azure_key_id is not None:
        args += ["--azure-key-id", v.azure_key_id]
    if v.gcp_kms_key is not None:
        args += ["--gcp-kms-key", v.gcp_kms_key]
    if ctx.settings.key.key_file_secret is not None:
        args += ["--key-file", KEY_FILE]
    if not args:
        raise ValueError(missing)
    return args


def gcp_credentials_configmap(namespace: str, configuration: pulumi.Input[str]) -> dict[str, Any]:
    """The ConfigMap the jobs' pods mount as ``GOOGLE_APPLICATION_CREDENTIALS`` (one per cluster):
    ``configuration`` is :func:`gcp_credential_configuration` for that cluster's pool provider, as JSON."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": GCP_CREDENTIALS_CONFIGMAP,
            "namespace": namespace,
            "labels": app_labels(GCP_CREDENTIALS_CONFIGMAP, "backup-identity"),
        },
        "data": {GCP_CREDENTIALS_KEY: configuration},
    }


def _lock_args(ctx: JobsContext, data_class: str) -> list[pulumi.Input[str]]:
    """Per-object S3 lock, in the stack's ``backup.lock_mode``, for classes locked longer than the bucket default.

    The bucket's default lock (the shortest class lock, in the same mode) already covers the other classes.
    The mode is always explicit: the writer policy allows ``s3:PutObjectRetention`` only in the stack's mode,
    so a GOVERNANCE stack (staging) sets GOVERNANCE locks, which is what lets it be torn down.
    """
    days = ctx.backup.classes[data_class].lock_days  # type: ignore[index]
    if not ctx.vaults.has_s3 or days <= ctx.backup.default_lock_days:
        return []
    return ["--lock-days", str(days), "--lock-mode", ctx.backup.lock_mode]


def _common_tail(ctx: JobsContext) -> list[pulumi.Input[str]]:
    return ["--log-format", "json"]


def backup_argv(ctx: JobsContext, data_class: str, pg_kind: str = "dump") -> list[pulumi.Input[str]]:
    """``backup``/``incremental`` of one class, with metrics pushed for the alert rules."""
    job: ClassJob = ctx.settings.classes[data_class]
    if data_class == "db":
        head: list[pulumi.Input[str]] = [
            "backup",
            "--source",
            f"$({DATABASE_URL_ENV})",
            "--pg-kind",
            pg_kind,
            "--class",
            "db",
        ]
        if pg_kind == "dump" and ctx.settings.drill.enabled:
            head.append("--table-checksums")  # the reference the drill checks its restore against
    elif job.incremental:
        # The chain starts over with a full backup after backup.classes.<class>.full_interval_days, which the
        # vaults' lifecycle adds to the retention: no object a kept backup references expires under it.
        chain_days = ctx.backup.classes[data_class].full_interval_days  # type: ignore[index]
        head = ["incremental", "--source-dir", SOURCE_MOUNT, "--class", data_class, "--max-chain-days", str(chain_days)]
    else:
        head = ["backup", "--source-dir", SOURCE_MOUNT, "--class", data_class]
    return [
        *head,
        *_targets(ctx, data_class),
        *key_args(ctx),
        *_lock_args(ctx, data_class),
        "--level",
        str(job.level),
        "--pushgateway",
        ctx.settings.pushgateway_url,
        *_common_tail(ctx),
    ]


def verify_argv(ctx: JobsContext, data_class: str) -> list[pulumi.Input[str]]:
    return ["verify", "--class", data_class, *_targets(ctx, data_class), *key_args(ctx), *_common_tail(ctx)]


def prune_argv(ctx: JobsContext, data_class: str) -> list[pulumi.Input[str]]:
    keep_days = ctx.backup.classes[data_class].retention_days  # type: ignore[index]
    apply = ["--apply"] if ctx.settings.prune_apply else []
    return [
        "prune",
        "--class",
        data_class,
        "--keep-days",
        str(keep_days),
        *apply,
        *_targets(ctx, data_class),
        *_common_tail(ctx),
    ]


def restore_test_kind(data_class: str) -> str:
    """What the weekly restore test restores: the newest *dump* of db, the newest tree of chain/state.

    Without ``--kind`` the CLI takes the newest backup of any kind; in archive_command mode that is often the
    nightly ``pg_basebackup``, which is only unpacked into /tmp, so the scratch-server restore would be
    tested only by chance.
    """
    return "dump" if data_class == "db" else "dir"


def restore_test_argv(ctx: JobsContext, data_class: str) -> list[pulumi.Input[str]]:
    """Restore the newest backup of its kind into scratch space: the scratch *server* for dumps, /tmp for trees."""
    to = ["--to", f"$({SCRATCH_URL_ENV})"] if data_class == "db" else []
    return [
        "test-restore",
        "--class",
        data_class,
        "--kind",
        restore_test_kind(data_class),
        *to,
        *_targets(ctx, data_class),
        *key_args(ctx),
        *_common_tail(ctx),
    ]


def wal_push_argv(ctx: JobsContext) -> list[pulumi.Input[str]]:
    """What ``archive_command`` runs after the interpreter (``%p`` is PostgreSQL's placeholder)."""
    return [
        "wal-push",
        "%p",
        *_targets(ctx, "db"),
        *key_args(ctx),
        "--pushgateway",
        ctx.settings.pushgateway_url,
        *_common_tail(ctx),
    ]


# --- pods ---------------------------------------------------------------------------------------


def azure_workload_env(client_id: pulumi.Input[str], tenant_id: str) -> dict[str, pulumi.Input[str]]:
    """What ``DefaultAzureCredential``'s workload identity path reads, set explicitly.

    On AKS the workload identity webhook injects these; on EKS nothing does, so the pods carry them
    themselves (a webhook, if installed, keeps env vars that are already set).
    """
    return {
        "AZURE_CLIENT_ID": client_id,
        "AZURE_TENANT_ID": tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": AZURE_TOKEN_FILE,
    }


def azure_token_volume() -> dict[str, Any]:
    """Projected service-account token for Entra ID's token exchange (not an API token: other audience)."""
    return {
        "name": AZURE_TOKEN_VOLUME,
        "projected": {
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": AZURE_TOKEN_AUDIENCE,
                        "expirationSeconds": AZURE_TOKEN_EXPIRATION_SECONDS,
                        "path": AZURE_TOKEN_FILE.rpartition("/")[2],
                    }
                }
            ]
        },
    }


def azure_token_mount() -> dict[str, Any]:
    return {"name": AZURE_TOKEN_VOLUME, "mountPath": AZURE_TOKEN_MOUNT, "readOnly": True}


def gcp_identity_volumes(audience: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mounts and volumes of the GCP federation: a service-account token for the pool provider's audience (the
    pods' API token stays unmounted) and the credential configuration that points google-auth at it."""
    mounts = [
        {"name": GCP_TOKEN_VOLUME, "mountPath": GCP_TOKEN_MOUNT, "readOnly": True},
        {"name": GCP_CREDENTIALS_VOLUME, "mountPath": GCP_CREDENTIALS_MOUNT, "readOnly": True},
    ]
    volumes = [
        {
            "name": GCP_TOKEN_VOLUME,
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "audience": audience,
                            "expirationSeconds": AZURE_TOKEN_EXPIRATION_SECONDS,
                            "path": GCP_TOKEN_FILE.rpartition("/")[2],
                        }
                    }
                ]
            },
        },
        {"name": GCP_CREDENTIALS_VOLUME, "configMap": {"name": GCP_CREDENTIALS_CONFIGMAP}},
    ]
    return mounts, volumes


def _env(ctx: JobsContext, *, source_db: bool = False, scratch_db: bool = False) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": "/tmp"},
        {"name": "TMPDIR", "value": "/tmp"},
        *({"name": k, "value": v} for k, v in sorted(ctx.vaults.env.items())),
    ]
    if source_db:
        env.append(
            {
                "name": DATABASE_URL_ENV,
                "valueFrom": {
                    "secretKeyRef": {
                        "name": ctx.backup.database_url_secret,
                        "key": ctx.settings.source_database_url_key,
                    }
                },
            }
        )
    if scratch_db:
        ref = ctx.settings.scratch_database_url_secret
        env.append({"name": SCRATCH_URL_ENV, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}})
    return env


def _resources(ctx: JobsContext) -> dict[str, Any]:
    r = ctx.settings.resources
    return {
        "requests": {"cpu": r.cpu_request, "memory": r.memory_request},
        "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit},
    }


def pod_labels(ctx: JobsContext, name: str, component: str) -> dict[str, str]:
    labels = app_labels(name, component)
    if ctx.vaults.azure:
        # Where the Azure workload identity webhook runs (AKS) it mutates only labelled pods; it keeps the env
        # vars set here. Elsewhere the label is inert and the pod's own env + projected token do the work.
        labels[AZURE_USE_LABEL] = "true"
    return labels


def job_pod_spec(
    ctx: JobsContext,
    args: Sequence[pulumi.Input[str]],
    *,
    data_class: str,
    source_db: bool = False,
    scratch_db: bool = False,
    mount_source: bool = False,
) -> dict[str, Any]:
    """A non-root, read-only pod running one backup command; writable only /tmp (bounded emptyDir)."""
    settings = ctx.settings
    mounts, volumes = _job_volumes(ctx)
    source = settings.classes[data_class].source
    affinity = _mount_source(source, mounts, volumes) if mount_source and source is not None else None
    spec: dict[str, Any] = {
        "serviceAccountName": JOBS_SERVICE_ACCOUNT,
        # No Kubernetes API token: the EKS webhook injects the STS-audience token, the Azure one is projected above.
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": pod_security_context(settings.run_as_user),
        "containers": [
            {
                "name": "backup",
                "image": settings.image,
                "imagePullPolicy": "IfNotPresent",
                "command": list(CLI),
                "args": list(args),
                "env": _env(ctx, source_db=source_db, scratch_db=scratch_db),
                "resources": _resources(ctx),
                "securityContext": dict(SECURE_CONTAINER_CONTEXT),
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
    if affinity is not None:
        spec["affinity"] = affinity
    return spec


def _job_volumes(ctx: JobsContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mounts and volumes every backup pod has: /tmp, the key file (owner-read only), the Azure token and the GCP
    federation's token and credential file."""
    settings = ctx.settings
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": settings.resources.scratch_size}}]
    if settings.key.key_file_secret is not None:
        mounts.append({"name": "backup-key", "mountPath": KEY_MOUNT, "readOnly": True})
        volumes.append(
            {
                "name": "backup-key",
                "secret": {
                    "secretName": settings.key.key_file_secret,
                    "items": [{"key": "key", "path": "key"}],
                    "defaultMode": 0o400,
                },
            }
        )
    if ctx.vaults.azure:
        mounts.append(azure_token_mount())
        volumes.append(azure_token_volume())
    if ctx.vaults.gcp_token_audience is not None:
        gcp_mounts, gcp_volumes = gcp_identity_volumes(ctx.vaults.gcp_token_audience)
        mounts += gcp_mounts
        volumes += gcp_volumes
    return mounts, volumes


def _mount_source(
    source: SourceVolume, mounts: list[dict[str, Any]], volumes: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Mount the class's source PVC read-only; returns the pod affinity that puts the pod beside the PVC's
    user (a ReadWriteOnce volume attaches to one node only), if the source names one."""
    mount: dict[str, Any] = {"name": "source", "mountPath": SOURCE_MOUNT, "readOnly": True}
    if source.sub_path:
        mount["subPath"] = source.sub_path
    mounts.append(mount)
    volumes.append({"name": "source", "persistentVolumeClaim": {"claimName": source.claim_name, "readOnly": True}})
    if not source.pod_affinity:
        return None
    return {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": dict(source.pod_affinity)},
                    "topologyKey": "kubernetes.io/hostname",
                }
            ]
        }
    }


def cronjob_manifest(
    ctx: JobsContext,
    name: str,
    component: str,
    schedule: str,
    pod_spec: dict[str, Any],
    *,
    deadline_seconds: int,
    starting_deadline_seconds: int,
) -> dict[str, Any]:
    labels = pod_labels(ctx, name, component)
    meta_labels = app_labels(name, component)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": ctx.namespace, "labels": meta_labels},
        "spec": {
            "schedule": schedule,
            "timeZone": ctx.settings.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": starting_deadline_seconds,
            "successfulJobsHistoryLimit": ctx.settings.history_limit,
            "failedJobsHistoryLimit": ctx.settings.history_limit,
            "jobTemplate": {
                "metadata": {"labels": meta_labels},
                "spec": {
                    "backoffLimit": ctx.settings.backoff_limit,
                    "activeDeadlineSeconds": deadline_seconds,
                    "ttlSecondsAfterFinished": 86_400,
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
            },
        },
    }


def cronjob_manifests(ctx: JobsContext) -> dict[str, dict[str, Any]]:
    """Every CronJob, keyed by role (``backup-db``, ``verify-chain``, ``restore-test-db``, …)."""
    s = ctx.settings
    jobs: dict[str, dict[str, Any]] = {}
    for data_class, job in s.classes.items():
        schedule = ctx.backup.classes[data_class].schedule  # type: ignore[index]
        is_db = data_class == "db"
        jobs[f"backup-{data_class}"] = cronjob_manifest(
            ctx,
            f"backup-{data_class}",
            "backup",
            schedule,
            job_pod_spec(ctx, backup_argv(ctx, data_class), data_class=data_class, source_db=is_db, mount_source=True),
            deadline_seconds=job.deadline_seconds,
            starting_deadline_seconds=job.starting_deadline_seconds,
        )
        jobs[f"verify-{data_class}"] = cronjob_manifest(
            ctx,
            f"backup-verify-{data_class}",
            "backup-verify",
            s.verify_schedule,
            job_pod_spec(ctx, verify_argv(ctx, data_class), data_class=data_class),
            deadline_seconds=job.deadline_seconds,
            starting_deadline_seconds=600,
        )
        jobs[f"prune-{data_class}"] = cronjob_manifest(
            ctx,
            f"backup-prune-{data_class}",
            "backup-prune",
            s.prune_schedule,
            job_pod_spec(ctx, prune_argv(ctx, data_class), data_class=data_class),
            deadline_seconds=1800,
            starting_deadline_seconds=600,
        )
        jobs[f"restore-test-{data_class}"] = cronjob_manifest(
            ctx,
            f"backup-restore-test-{data_class}",
            "backup-restore-test",
            ctx.backup.restore_test_schedule,
            job_pod_spec(ctx, restore_test_argv(ctx, data_class), data_class=data_class, scratch_db=is_db),
            deadline_seconds=s.restore_test_deadline_seconds,
            starting_deadline_seconds=3600,
        )
    if s.drill.enabled:
        from components.backup_jobs.drill import drill_cronjob

        jobs["drill"] = drill_cronjob(ctx)
    if s.wal_archive.mode == "archive_command":
        db = s.classes["db"]
        jobs["backup-db-base"] = cronjob_manifest(
            ctx,
            "backup-db-base",
            "backup",
            s.wal_archive.base_schedule,
            job_pod_spec(ctx, backup_argv(ctx, "db", pg_kind="base"), data_class="db", source_db=True),
            deadline_seconds=db.deadline_seconds,
            starting_deadline_seconds=db.starting_deadline_seconds,
        )
    return jobs


def service_account_manifest(
    ctx: JobsContext, name: str, annotations: Mapping[str, pulumi.Input[str]]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": ctx.namespace,
            "labels": app_labels(name, "backup-identity"),
            "annotations": dict(annotations),
        },
        "automountServiceAccountToken": False,
    }


# --- WAL archiving (a PostgreSQL you run) -------------------------------------------------------


def _conf_string(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def archive_command(interpreter: str, argv: Sequence[str]) -> str:
    """The shell command PostgreSQL runs per WAL segment (``%p`` stays for PostgreSQL to substitute)."""
    words = [interpreter, "-m", "functions.backup", *argv]
    return " ".join("%p" if w == "%p" else shlex.quote(w) for w in words)


def archive_conf(ctx: JobsContext, argv: Sequence[str]) -> str:
    """The postgresql.conf fragment: WAL shipped at least every ``archive_timeout`` (the db class RPO)."""
    wal = ctx.settings.wal_archive
    return (
        "# Managed by Pulumi (platform:backup_jobs). Include from postgresql.conf; archive_mode needs a restart.\n"
        "archive_mode = on\n"
        f"archive_timeout = {ctx.backup.wal_archive_timeout_seconds}s\n"
        f"archive_command = {_conf_string(archive_command(wal.interpreter, argv))}\n"
    )


def database_pod_patch(ctx: JobsContext) -> dict[str, Any]:
    """Strategic-merge patch for the database StatefulSet's pod template (applied by the database's owner).

    ``archive_command`` runs inside the PostgreSQL container as the postgres user, so that container needs the
    backup tool (the Dockerfile's ``postgres`` stage), the writer identity (this service account) and the
    fragment mounted where ``include_dir`` reads it.
    """
    wal = ctx.settings.wal_archive
    conf_file = wal.conf_path.rpartition("/")[2]
    env = [e for e in _env(ctx) if e["name"] not in ("HOME", "TMPDIR")]
    mounts = [{"name": "backup-archive-conf", "mountPath": wal.conf_path, "subPath": conf_file, "readOnly": True}]
    volumes: list[dict[str, Any]] = [
        {
            "name": "backup-archive-conf",
            "configMap": {"name": WAL_CONFIGMAP, "items": [{"key": "backup-archive.conf", "path": conf_file}]},
        }
    ]
    if ctx.settings.key.key_file_secret is not None:
        mounts.append({"name": "backup-key", "mountPath": KEY_MOUNT, "readOnly": True})
        volumes.append({"name": "backup-key", "secret": {"secretName": ctx.settings.key.key_file_secret}})
    if ctx.vaults.azure:
        mounts.append(azure_token_mount())
        volumes.append(azure_token_volume())
    if ctx.vaults.gcp_token_audience is not None:
        gcp_mounts, gcp_volumes = gcp_identity_volumes(ctx.vaults.gcp_token_audience)
        mounts += gcp_mounts
        volumes += gcp_volumes
    labels = {AZURE_USE_LABEL: "true"} if ctx.vaults.azure else {}
    return {
        "spec": {
            "template": {
                **({"metadata": {"labels": labels}} if labels else {}),
                "spec": {
                    "serviceAccountName": WAL_SERVICE_ACCOUNT,
                    "containers": [{"name": "postgres", "env": env, "volumeMounts": mounts}],
                    "volumes": volumes,
                },
            }
        }
    }


def database_pod_patch_yaml(ctx: JobsContext) -> str:
    """The patch as YAML, headed by what postgresql.conf itself must say."""
    import yaml

    header = (
        "# Strategic-merge patch for the PostgreSQL StatefulSet (kubectl patch --type strategic).\n"
        f"# postgresql.conf must contain: include_if_exists = '{ctx.settings.wal_archive.conf_path}'\n"
        "# The postgres container image needs functions.backup (functions/backup/Dockerfile, target postgres).\n"
    )
    return header + yaml.safe_dump(database_pod_patch(ctx), sort_keys=False)


def wal_configmap_manifest(ctx: JobsContext, conf: pulumi.Input[str], patch_yaml: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": WAL_CONFIGMAP, "namespace": ctx.namespace, "labels": app_labels(WAL_CONFIGMAP, "backup")},
        "data": {"backup-archive.conf": conf, "database-pod-patch.yaml": patch_yaml},
    }

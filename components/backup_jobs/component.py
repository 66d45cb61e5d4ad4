"""The backup function on a schedule: one CronJob per data class and duty, the WAL archive config, and the
identities that let the pods write to the vaults of ``BackupStorage`` without a single static credential.

Declared here:
- CronJobs ``backup-<class>`` on ``backup.classes.<class>.schedule`` (db: ``pg_dump`` of the source database;
  chain: ``incremental`` of the chain volume; state: ``backup`` of the state volume), ``backup-db-base``
  (``pg_basebackup``, the PITR base WAL replays from), ``backup-verify-<class>`` (daily),
  ``backup-prune-<class>`` (daily, report-only unless ``prune_apply``) and ``backup-restore-test-<class>``
  (``backup.restore_test_schedule``: dumps into the *scratch* server, directories into /tmp).
- ConfigMap ``backup-wal-archive`` (``wal_archive.mode: archive_command``): the postgresql.conf fragment
  (``archive_mode``, ``archive_timeout`` = ``backup.wal_archive_timeout_seconds``, ``archive_command`` =
  ``wal-push``) and the patch that gives the database pod the tool, the identity and the fragment.
- ServiceAccounts ``backup-jobs`` and ``backup-wal-archiver`` carrying the writer identities: an IRSA role
  (trusting the cluster's OIDC provider for exactly these two accounts) that the S3 vault's ``grant_write``
  gives the writer policy, the Azure writer identity with a federated credential per account, and for the GCS
  writer service account a Workload Identity pool + OIDC provider trusting the cluster's issuer with
  ``roles/iam.workloadIdentityUser`` per account's ``principal://`` and the credential configuration the pods
  read (``gcp_federation: gke`` keeps the GKE metadata-server path for GKE clusters). No Role/RoleBinding: the pods never
  call the Kubernetes API (Secrets reach them through the kubelet), and their API token is not mounted.
- Azure on a non-AKS cluster: no webhook injects the workload identity, so every pod that writes to the Azure
  vault gets ``AZURE_CLIENT_ID`` (the writer identity), ``AZURE_TENANT_ID`` (``identity.azure_tenant_id``),
  ``AZURE_FEDERATED_TOKEN_FILE`` and a projected service-account token with audience
  ``api://AzureADTokenExchange`` at that path, which ``DefaultAzureCredential`` exchanges for an Entra ID token.
- The KMS key that wraps each backup's data key (unless ``key.kms_key_arn``/``key.key_file_secret``), usable
  by the IRSA role for Encrypt/Decrypt with the function's encryption context only.
- Every data key is also wrapped for the other clouds, so each cloud's copy restores on its own: a Cloud KMS
  key (``key.gcp_kms_key``, or a protected, 90-day-rotated one created here when the GCS vault is enabled and no
  key file is used) with ``roles/cloudkms.cryptoKeyEncrypterDecrypter`` for the GCS writer account only; an
  existing Key Vault key (``key.azure_key_id`` in ``key.azure_key_vault_id``) with "Key Vault Crypto User" on
  that key only for the Azure writer identity. The jobs pass each as ``--gcp-kms-key`` / ``--azure-key-id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.config import BackupSettings
from components.backup_jobs.config import BackupJobsSettings
from components.backup_jobs.manifests import (
    AZURE_ANNOTATION,
    AZURE_TENANT_ANNOTATION,
    GCP_CREDENTIALS_FILE,
    GKE_ANNOTATION,
    IRSA_ANNOTATION,
    JOBS_SERVICE_ACCOUNT,
    WAL_SERVICE_ACCOUNT,
    JobsContext,
    Vaults,
    archive_conf,
    azure_workload_env,
    cronjob_manifests,
    database_pod_patch,
    database_pod_patch_yaml,
    gcp_credential_configuration,
    gcp_credentials_configmap,
    gcp_principal,
    gcp_provider_name,
    gcp_token_audience,
    service_account_manifest,
    wal_configmap_manifest,
    wal_push_argv,
)
from components.lib.k8s import declare

if TYPE_CHECKING:
    from components.backup.aws import S3Vault
    from components.backup.azure import AzureBlobVault
    from components.backup.component import BackupStorage
    from components.backup.gcs import GcsVault

KMS_CONTEXT_KEYS = ("backup_id", "class")
"""The encryption context the function's KMS wrapper sends (functions/backup/keys.py)."""

KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
"""Built-in role "Key Vault Crypto User": read a key, wrap/unwrap (and other crypto operations) with it."""
GCP_WRAP_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
GCP_WRAP_KEY_ROTATION = f"{90 * 86_400}s"


def key_vault_key_scope(vault_id: str, key_url: str) -> str:
    """ARM scope of one Key Vault key: ``<vault id>/keys/<name>`` (the name from the key URL)."""
    name = key_url.rstrip("/").split("/keys/", 1)[1].split("/", 1)[0]
    return f"{vault_id}/keys/{name}"


def key_vault_role_definition(vault_id: str, role_guid: str) -> str:
    """A built-in role's definition id in the vault's subscription."""
    subscription = vault_id.split("/")[2]
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


class BackupJobsArgs(BaseModel):
    """Inputs of :class:`BackupJobs` (the vaults come as the ``BackupStorage`` component itself)."""

    model_config = ConfigDict(frozen=True)

    settings: BackupJobsSettings = Field(description="Validated backup_jobs settings.")
    backup: BackupSettings = Field(description="Validated backup settings (schedules, retention, secrets).")
    namespace: str = Field(description="Namespace of the jobs and their Secrets.")
    aws_region: str = Field(description="cloud.aws.region (KMS and S3 endpoints).")
    gcp_project: str | None = Field(default=None, description="cloud.gcp.project (GKE workload pool, ADC project).")
    protect: bool = Field(default=False, description="Protect the data-key wrapping key (losing it loses backups).")


def service_account_subjects(namespace: str, with_wal: bool) -> list[str]:
    names = [JOBS_SERVICE_ACCOUNT] + ([WAL_SERVICE_ACCOUNT] if with_wal else [])
    return [f"system:serviceaccount:{namespace}:{n}" for n in names]


def irsa_trust_policy(oidc_provider_arn: str, subjects: list[str]) -> dict[str, Any]:
    """Only these service accounts, only for STS (audience), may assume the role."""
    issuer = oidc_provider_arn.split(":oidc-provider/", 1)[1]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{issuer}:aud": "sts.amazonaws.com", f"{issuer}:sub": subjects},
                },
            }
        ],
    }


def wrap_key_policy(key_arn: str) -> dict[str, Any]:
    """Encrypt/Decrypt data keys with the vault wrapping key, only with the function's encryption context."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WrapBackupDataKeys",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": key_arn,
                "Condition": {
                    "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": list(KMS_CONTEXT_KEYS)},
                    "Null": {"kms:EncryptionContext:backup_id": "false"},
                },
            },
            {"Sid": "DescribeKey", "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key_arn},
        ],
    }


@dataclass
class _Wiring:
    """What the identity helpers hand the jobs: pod annotations, environment and the wrapping keys' ids."""

    kms_key_id: pulumi.Input[str] | None
    gcp_kms_key: pulumi.Input[str] | None
    azure_key_id: pulumi.Input[str] | None = None
    annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    gcp_token_audience: str | None = None


class BackupJobs(pulumi.ComponentResource):
    """CronJobs, WAL archive config, service accounts and their cloud identities."""

    cronjob_names: dict[str, str]
    service_account_names: list[str]

    def __init__(
        self,
        name: str,
        args: BackupJobsArgs,
        storage: BackupStorage,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``opts.providers`` carries kubernetes plus the cloud providers of the enabled vaults."""
        super().__init__("platform:backup_jobs:BackupJobs", name, None, opts)
        settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)
        self._kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        with_wal = settings.wal_archive.mode == "archive_command"
        subjects = service_account_subjects(args.namespace, with_wal)
        self.service_account_names = [s.rsplit(":", 1)[1] for s in subjects]
        wiring = _Wiring(kms_key_id=settings.key.kms_key_arn, gcp_kms_key=settings.key.gcp_kms_key)

        self.irsa_role: Any = None
        self.wrap_key: Any = None
        self.gcp_wrap_key: Any = None
        if storage.aws is not None:
            self._aws_identity(name, args, storage.aws, subjects, wiring)
        if storage.azure is not None:
            self._azure_identity(name, args, storage.azure, subjects, wiring)
        if storage.gcs is not None:
            self._gcs_identity(name, args, storage.gcs, subjects, wiring)

        ctx = self._jobs_context(args, storage, wiring)
        self.jobs_context = ctx
        self._service_accounts(name, ctx, wiring.annotations)
        self._cronjobs(name, ctx)
        self.wal_configmap = self._wal_archive(name, ctx) if with_wal else None

        self.register_outputs({"cronjobs": self.cronjob_names, "service_accounts": self.service_account_names})

    def _aws_identity(
        self, name: str, args: BackupJobsArgs, vault: S3Vault, subjects: list[str], wiring: _Wiring
    ) -> None:
        """IRSA role holding the S3 vault's writer policy, trusted by exactly the jobs' service accounts."""
        import pulumi_aws as aws

        oidc_arn = args.settings.identity.aws_oidc_provider_arn
        if oidc_arn is None:  # the config check reports this with its key; a direct caller gets this
            raise ValueError("backup_jobs.identity.aws_oidc_provider_arn: required when backup.aws.enabled")
        self.irsa_role = aws.iam.Role(
            f"{name}-irsa",
            description="Backup CronJobs and WAL archiver (IRSA): the S3 vault writer policy",
            assume_role_policy=json.dumps(irsa_trust_policy(oidc_arn, subjects)),
            max_session_duration=3600 * 4,
            opts=self._child,
        )
        vault.grant_write(name, self.irsa_role.name)
        self._aws_wrap_key(name, args, wiring)
        wiring.annotations[IRSA_ANNOTATION] = self.irsa_role.arn
        wiring.env["AWS_REGION"] = args.aws_region
        wiring.env["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"

    def _aws_wrap_key(self, name: str, args: BackupJobsArgs, wiring: _Wiring) -> None:
        """The KMS key that wraps each backup's data key (created unless one is given), usable by the IRSA role
        only with the function's encryption context."""
        import pulumi_aws as aws

        if wiring.kms_key_id is None and args.settings.key.key_file_secret is None:
            self.wrap_key = aws.kms.Key(
                f"{name}-wrap",
                description="Wraps the per-backup data keys of functions.backup (all vaults, all clouds)",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                multi_region=True,
                opts=self._kept,
            )
            wiring.kms_key_id = self.wrap_key.arn
        if wiring.kms_key_id is not None:
            aws.iam.RolePolicy(
                f"{name}-wrap-use",
                role=self.irsa_role.id,
                policy=pulumi.Output.from_input(wiring.kms_key_id).apply(lambda arn: json.dumps(wrap_key_policy(arn))),
                opts=self._child,
            )

    def _azure_identity(
        self, name: str, args: BackupJobsArgs, vault: AzureBlobVault, subjects: list[str], wiring: _Wiring
    ) -> None:
        """Federated credentials on the vault's writer identity, one per service account, and the
        workload-identity environment (no webhook injects it on a non-AKS cluster)."""
        import pulumi_azure_native as azure

        identity = args.settings.identity
        issuer = identity.issuer_url
        if issuer is None:
            raise ValueError("backup_jobs.identity.oidc_issuer_url: required when backup.azure.enabled")
        tenant_id = identity.azure_tenant_id
        if tenant_id is None:
            raise ValueError("backup_jobs.identity.azure_tenant_id: required when backup.azure.enabled")
        for subject in subjects:
            azure.managedidentity.FederatedIdentityCredential(
                f"{name}-federated-{subject.rsplit(':', 1)[1]}",
                resource_name_=vault.writer.name,
                resource_group_name=vault.resource_group_name,
                issuer=issuer,
                subject=subject,
                audiences=["api://AzureADTokenExchange"],
                opts=self._child,
            )
        self._azure_wrap_key(name, args, vault, wiring)
        wiring.annotations[AZURE_ANNOTATION] = vault.writer_client_id
        wiring.annotations[AZURE_TENANT_ANNOTATION] = tenant_id
        # The function's azblob store: DefaultAzureCredential -> workload identity (no webhook on EKS).
        wiring.env["AZURE_STORAGE_ACCOUNT_URL"] = vault.blob_endpoint
        wiring.env.update(azure_workload_env(vault.writer_client_id, tenant_id))

    def _azure_wrap_key(self, name: str, args: BackupJobsArgs, vault: AzureBlobVault, wiring: _Wiring) -> None:
        """With ``key.azure_key_id``: the writer identity wraps (with the public key it reads) and unwraps with
        that one Key Vault key only, so the Azure copy restores without AWS."""
        import pulumi_azure_native as azure

        key = args.settings.key
        if key.azure_key_id is None:
            return
        assert key.azure_key_vault_id is not None  # validated with azure_key_id
        azure.authorization.RoleAssignment(
            f"{name}-wrap-azure-use",
            principal_id=vault.writer_principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=key_vault_role_definition(key.azure_key_vault_id, KEY_VAULT_CRYPTO_USER),
            scope=key_vault_key_scope(key.azure_key_vault_id, key.azure_key_id),
            opts=self._child,
        )
        wiring.azure_key_id = key.azure_key_id

    def _gcs_identity(
        self, name: str, args: BackupJobsArgs, vault: GcsVault, subjects: list[str], wiring: _Wiring
    ) -> None:
        """Each Kubernetes service account may act as the GCS vault's writer account: through Workload Identity
        Federation (any cluster) or, with ``gcp_federation: gke``, the GKE metadata server."""
        import pulumi_gcp as gcp

        if args.settings.identity.gcp_federation == "gke":
            pool = args.settings.identity.gcp_workload_pool or f"{args.gcp_project}.svc.id.goog"
            for sa in self.service_account_names:
                gcp.serviceaccount.IAMMember(
                    f"{name}-workload-identity-{sa}",
                    service_account_id=vault.writer.name,
                    role="roles/iam.workloadIdentityUser",
                    member=f"serviceAccount:{pool}[{args.namespace}/{sa}]",
                    opts=self._child,
                )
            wiring.annotations[GKE_ANNOTATION] = vault.writer_email
        else:
            self._gcp_federation(name, args, vault, subjects, wiring)
        self._gcs_wrap_key(name, args, vault, wiring)
        if args.gcp_project is not None:
            wiring.env["GOOGLE_CLOUD_PROJECT"] = args.gcp_project

    def _gcp_federation(
        self, name: str, args: BackupJobsArgs, vault: GcsVault, subjects: list[str], wiring: _Wiring
    ) -> None:
        """Workload Identity Federation from the cluster's OIDC issuer (EKS has no GKE metadata server).

        A pool and its OIDC provider (issuer = the cluster's service-account issuer, ``google.subject`` = the
        token's ``sub``, only these service accounts admitted), ``roles/iam.workloadIdentityUser`` on the writer
        account for each account's ``principal://``, and the credential configuration the pods read through
        GOOGLE_APPLICATION_CREDENTIALS (their projected token carries the provider's audience).
        """
        import pulumi_gcp as gcp
        import pulumi_kubernetes as k8s

        identity = args.settings.identity
        issuer, number = identity.issuer_url, args.backup.gcs.project_number
        if issuer is None or number is None:  # the config check reports these with their keys
            raise ValueError(
                "backup_jobs.identity.oidc_issuer_url and backup.gcs.project_number: required for GCP Workload "
                "Identity Federation"
            )
        provider_name = gcp_provider_name(number, identity.gcp_pool_id, identity.gcp_provider_id)
        audience = gcp_token_audience(provider_name)
        pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-gcp-pool",
            workload_identity_pool_id=identity.gcp_pool_id,
            project=args.gcp_project,
            display_name="Kubernetes service accounts",
            description=f"Service accounts of the cluster whose issuer is {issuer}"[:256],
            opts=self._kept,
        )
        allowed = ", ".join(f"'{subject}'" for subject in subjects)
        gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-gcp-provider",
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=identity.gcp_provider_id,
            project=args.gcp_project,
            display_name="Cluster OIDC issuer",
            attribute_mapping={"google.subject": "assertion.sub"},
            attribute_condition=f"assertion.sub in [{allowed}]",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=issuer, allowed_audiences=[audience]),
            opts=self._child,
        )
        for subject in subjects:
            gcp.serviceaccount.IAMMember(
                f"{name}-workload-identity-{subject.rsplit(':', 1)[1]}",
                service_account_id=vault.writer.name,
                role="roles/iam.workloadIdentityUser",
                member=gcp_principal(number, identity.gcp_pool_id, subject),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[pool]),
            )
        credentials = vault.writer_email.apply(
            lambda email: json.dumps(gcp_credential_configuration(provider_name, email), indent=2)
        )
        declare(
            k8s.core.v1.ConfigMap,
            f"{name}-gcp-credentials",
            gcp_credentials_configmap(args.namespace, credentials),
            self._child,
        )
        wiring.gcp_token_audience = audience
        wiring.env["GOOGLE_APPLICATION_CREDENTIALS"] = GCP_CREDENTIALS_FILE

    def _gcs_wrap_key(self, name: str, args: BackupJobsArgs, vault: GcsVault, wiring: _Wiring) -> None:
        """The Cloud KMS key that also wraps each data key, so the GCS copies restore without AWS.

        Created (protected, rotated every 90 days) unless one is given or a key file is used; only the GCS
        writer account may use it.
        """
        import pulumi_gcp as gcp

        if wiring.gcp_kms_key is None and args.settings.key.key_file_secret is None:
            ring = gcp.kms.KeyRing(
                f"{name}-wrap-gcp", location=args.backup.gcs.kms_location, project=args.gcp_project, opts=self._kept
            )
            self.gcp_wrap_key = gcp.kms.CryptoKey(
                f"{name}-wrap-gcp",
                key_ring=ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=GCP_WRAP_KEY_ROTATION,
                destroy_scheduled_duration=f"{30 * 86_400}s",
                opts=self._kept,
            )
            wiring.gcp_kms_key = self.gcp_wrap_key.id
        if wiring.gcp_kms_key is not None:
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-wrap-gcp-use",
                crypto_key_id=wiring.gcp_kms_key,
                role=GCP_WRAP_ROLE,
                member=vault.writer_email.apply(lambda e: f"serviceAccount:{e}"),
                opts=self._child,
            )

    @staticmethod
    def _jobs_context(args: BackupJobsArgs, storage: BackupStorage, wiring: _Wiring) -> JobsContext:
        """Everything the manifest builders need: per data class, one target URI in every enabled vault."""
        uris = storage.target_uris()
        targets: dict[str, list[pulumi.Input[str]]] = {
            c: [by_class[c] for by_class in uris.values()] for c in args.settings.classes
        }
        vaults = Vaults(
            targets=targets,
            kms_key_id=wiring.kms_key_id,
            azure_key_id=wiring.azure_key_id,
            gcp_kms_key=wiring.gcp_kms_key,
            has_s3=storage.aws is not None,
            identity_annotations=wiring.annotations,
            env=wiring.env,
            gcp_token_audience=wiring.gcp_token_audience,
        )
        return JobsContext(settings=args.settings, backup=args.backup, namespace=args.namespace, vaults=vaults)

    def _service_accounts(self, name: str, ctx: JobsContext, annotations: dict[str, pulumi.Input[str]]) -> None:
        """The accounts that carry the cloud identities; their API token is not mounted (no Kubernetes calls)."""
        import pulumi_kubernetes as k8s

        self.service_accounts: list[pulumi.Resource] = []
        for sa in self.service_account_names:
            manifest = service_account_manifest(ctx, sa, annotations)
            self.service_accounts.append(
                k8s.core.v1.ServiceAccount(
                    f"{name}-sa-{sa}",
                    metadata=manifest["metadata"],
                    automount_service_account_token=manifest["automountServiceAccountToken"],
                    opts=self._child,
                )
            )

    def _cronjobs(self, name: str, ctx: JobsContext) -> None:
        """One CronJob per data class and duty; after the service accounts, so the first run has its identity."""
        import pulumi_kubernetes as k8s

        after_sa = pulumi.ResourceOptions(parent=self, depends_on=self.service_accounts)
        manifests = cronjob_manifests(ctx)
        self.cronjobs = {
            role: declare(k8s.batch.v1.CronJob, f"{name}-{role}", manifest, after_sa)
            for role, manifest in manifests.items()
        }
        self.cronjob_names = {role: m["metadata"]["name"] for role, m in manifests.items()}

    def _wal_archive(self, name: str, ctx: JobsContext) -> Any:
        """The ConfigMap with the postgresql.conf fragment and the database pod patch for ``wal-push``.

        Its text embeds URIs and key ids that are Outputs, so it is rendered once they resolve.
        """
        import pulumi_kubernetes as k8s

        vaults = ctx.vaults
        resolved = pulumi.Output.all(
            targets=pulumi.Output.from_input(vaults.targets["db"]).apply(list),
            key=pulumi.Output.from_input(vaults.kms_key_id or ""),
            azure_key=pulumi.Output.from_input(vaults.azure_key_id or ""),
            gcp_key=pulumi.Output.from_input(vaults.gcp_kms_key or ""),
            env=pulumi.Output.from_input(dict(vaults.env)),
            annotations=pulumi.Output.from_input(dict(vaults.identity_annotations)),
        )

        def _resolved_ctx(values: dict[str, Any]) -> JobsContext:
            plain = Vaults(
                targets={"db": values["targets"]},
                kms_key_id=values["key"] or None,
                azure_key_id=values["azure_key"] or None,
                gcp_kms_key=values["gcp_key"] or None,
                has_s3=vaults.has_s3,
                identity_annotations=values["annotations"],
                env=values["env"],
                gcp_token_audience=vaults.gcp_token_audience,
            )
            return JobsContext(settings=ctx.settings, backup=ctx.backup, namespace=ctx.namespace, vaults=plain)

        def _conf(values: dict[str, Any]) -> str:
            plain = _resolved_ctx(values)
            return archive_conf(plain, [str(a) for a in wal_push_argv(plain)])

        conf = resolved.apply(_conf)
        patch = resolved.apply(lambda v: database_pod_patch_yaml(_resolved_ctx(v)))
        return declare(
            k8s.core.v1.ConfigMap, f"{name}-wal-archive", wal_configmap_manifest(ctx, conf, patch), self._child
        )

    def database_pod_patch(self) -> dict[str, Any]:
        """The pod patch a database this stack runs merges in (``wal-push``'s identity, environment, fragment)."""
        return database_pod_patch(self.jobs_context)

    def outputs(self) -> dict[str, Any]:
        """The ``backup_jobs`` section of the stack outputs (see ``BackupJobsOutputs``)."""
        s: dict[str, Any] = {
            "cronjobs": dict(self.cronjob_names),
            "service_accounts": list(self.service_account_names),
            "wal_archive_configmap": self.wal_configmap.metadata.name if self.wal_configmap is not None else None,
            "irsa_role_arn": self.irsa_role.arn if self.irsa_role is not None else None,
            "wrap_key_arn": self.wrap_key.arn if self.wrap_key is not None else None,
        }
        return s

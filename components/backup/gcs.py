"""The GCS backup vault: a dual-region (or custom-placement) bucket per data class, CMEK-encrypted.

Why a bucket per class: a GCS retention policy is bucket-wide, and it is the only retention that GCS
enforces without per-object calls; one bucket per class gives each class its own lock (= ``lock_days``)
and lifecycle (= ``expiry_days``: retention plus the chain length). Object Versioning stays off: GCS refuses it together with a
retention policy, and the retention policy already forbids overwrite and delete. The writer gets a custom
role with create/get/list only (GCS needs ``storage.objects.delete`` to overwrite, so it cannot do that
either).
"""

from __future__ import annotations

from typing import Any, cast

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.config import BackupSettings

DAY_SECONDS = 86400
KEY_ROTATION = f"{90 * DAY_SECONDS}s"
"""CMEK rotation every 90 days (a new key version; old versions stay to decrypt old objects)."""

WRITER_PERMISSIONS = (
    "storage.buckets.get",
    "storage.objects.create",
    "storage.objects.get",
    "storage.objects.list",
    "storage.multipartUploads.create",
    "storage.multipartUploads.abort",
    "storage.multipartUploads.listParts",
)
"""The writer's custom role: no ``storage.objects.delete``/``update``, no ``storage.buckets.update``."""


class GcsVaultArgs(BaseModel):
    model_config = ConfigDict(frozen=True)

    backup: BackupSettings = Field(description="Validated backup settings.")
    project: str = Field(description="GCP project of the buckets (cloud.gcp.project).")
    environment: str = Field(description="Environment; names the writer account and role.")
    protect: bool = Field(default=False, description="Protect buckets and key from deletion (prod).")


def storage_service_agent(project_number: str) -> str:
    """The Cloud Storage service agent, which encrypts with the CMEK key on the bucket's behalf."""
    return f"service-{project_number}@gs-project-accounts.iam.gserviceaccount.com"


def lifecycle_rules(expiry_days: int) -> list[dict[str, Any]]:
    """Delete after the class expiry (retention + chain length); drop multipart uploads a crashed writer left."""
    return [
        {"action": {"type": "Delete"}, "condition": {"age": expiry_days}},
        {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 2}},
    ]


class GcsVault(pulumi.ComponentResource):
    """The GCP copy of the backups."""

    buckets: dict[str, pulumi.Output[str]]
    kms_key_id: pulumi.Output[str]
    writer_email: pulumi.Output[str]

    def __init__(self, name: str, args: GcsVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:backup_storage_gcs:GcsVault", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self._data = pulumi.ResourceOptions(parent=self, protect=args.protect)

        agent_grant = self._key(name, args)
        self._buckets = self._class_buckets(name, args, after=agent_grant)
        self.buckets = {c: b.name for c, b in self._buckets.items()}
        self._writer(name, args)

        self.kms_key_id = self.key.id
        self.writer_email = self.writer.email
        self.register_outputs({"buckets": self.buckets, "writer_email": self.writer_email})

    def _key(self, name: str, args: GcsVaultArgs) -> pulumi.Resource:
        """The CMEK key ring and key, and the storage service agent's use of it.

        Returns that grant: a bucket naming the key fails until the agent may use it.
        """
        import pulumi_gcp as gcp

        vault = args.backup.gcs
        assert vault.project_number is not None  # validated in settings
        ring = gcp.kms.KeyRing(f"{name}-keyring", location=vault.kms_location, project=args.project, opts=self._data)
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION,
            destroy_scheduled_duration=f"{30 * DAY_SECONDS}s",
            opts=self._data,
        )
        return gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-storage-agent",
            crypto_key_id=self.key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=f"serviceAccount:{storage_service_agent(vault.project_number)}",
            opts=self._child,
        )

    def _class_buckets(self, name: str, args: GcsVaultArgs, *, after: pulumi.Resource) -> dict[str, Any]:
        """One bucket per data class: GCS retention policies are bucket-wide, and classes lock differently."""
        import pulumi_gcp as gcp

        vault = args.backup.gcs
        placement = (
            gcp.storage.BucketCustomPlacementConfigArgs(data_locations=[r.upper() for r in vault.data_locations])
            if vault.data_locations
            else None
        )
        buckets: dict[str, Any] = {}
        for data_class, settings in args.backup.classes.items():
            retention = (
                gcp.storage.BucketRetentionPolicyArgs(
                    retention_period=str(settings.lock_days * DAY_SECONDS), is_locked=vault.lock_retention_policy
                )
                if settings.lock_days > 0
                else None
            )
            buckets[data_class] = gcp.storage.Bucket(
                f"{name}-{data_class}",
                project=args.project,
                location=vault.location,
                custom_placement_config=placement,
                storage_class="STANDARD",
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning=gcp.storage.BucketVersioningArgs(enabled=False),
                retention_policy=retention,
                encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=self.key.id),
                lifecycle_rules=cast(Any, lifecycle_rules(settings.expiry_days)),
                soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=7 * DAY_SECONDS),
                force_destroy=False,
                # CMEK: the service agent must hold the key role before the bucket names the key.
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[after]),
            )
        return buckets

    def _writer(self, name: str, args: GcsVaultArgs) -> None:
        """Least-privilege writer: a service account holding a custom role (create and read, never delete)."""
        import pulumi_gcp as gcp

        self.writer = gcp.serviceaccount.Account(
            f"{name}-writer",
            account_id=f"backup-writer-{args.environment}",
            display_name="Backup writer (create/read backup objects only)",
            project=args.project,
            opts=self._child,
        )
        self.writer_role = gcp.projects.IAMCustomRole(
            f"{name}-writer-role",
            project=args.project,
            role_id=f"backupWriter{args.environment.capitalize()}",
            title=f"Backup writer ({args.environment})",
            description="Create and read backup objects; no delete, overwrite or bucket change",
            permissions=list(WRITER_PERMISSIONS),
            stage="GA",
            opts=self._child,
        )
        self.grant_write("writer", self.writer.email.apply(lambda e: f"serviceAccount:{e}"))

    def grant_write(self, grantee: str, member: pulumi.Input[str]) -> list[pulumi.Resource]:
        """Bind the writer role on every class bucket to ``member`` (``serviceAccount:...``)."""
        import pulumi_gcp as gcp

        return [
            gcp.storage.BucketIAMMember(
                f"{self._name}-{data_class}-grant-{grantee}",
                bucket=bucket.name,
                role=self.writer_role.name,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for data_class, bucket in self._buckets.items()
        ]

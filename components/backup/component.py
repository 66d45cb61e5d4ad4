"""Backup vaults on every enabled cloud: S3 (primary, replicated by DisasterRecovery), Azure Blob, GCS.

Each cloud's details live in its own module (``backup_storage_aws``, ``_azure``, ``_gcs``); this component
wires them to their providers and presents what the backup jobs need: a target URI per cloud and data
class (the backup CLI adds ``<class>/`` under it), and one writer identity per cloud with a ``grant_write``
method for extra principals.
"""

from __future__ import annotations

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.aws import S3Vault, S3VaultArgs
from components.backup.azure import AzureBlobVault, AzureBlobVaultArgs, account_name
from components.backup.config import BackupSettings
from components.backup.gcs import GcsVault, GcsVaultArgs


class BackupStorageArgs(BaseModel):
    """Inputs of :class:`BackupStorage` (the providers come through ``opts.providers``)."""

    model_config = ConfigDict(frozen=True)

    backup: BackupSettings = Field(description="Validated backup settings.")
    environment: str = Field(description="Environment tier (names global identities).")
    aws_region: str = Field(description="Primary AWS region (cloud.aws.region).")
    azure_location: str | None = Field(default=None, description="cloud.azure.location; needed for the Azure vault.")
    azure_resource_group_name: str | None = Field(default=None, description="cloud.azure.resource_group_name.")
    azure_subscription_id: str | None = Field(default=None, description="cloud.azure.subscription_id.")
    gcp_project: str | None = Field(default=None, description="cloud.gcp.project; needed for the GCS vault.")
    protect: bool = Field(default=False, description="Protect data-holding resources (prod).")


class BackupStorage(pulumi.ComponentResource):
    """One vault per enabled cloud (``aws``, ``azure``, ``gcs`` attributes are None when disabled)."""

    aws: S3Vault | None
    azure: AzureBlobVault | None
    gcs: GcsVault | None

    def __init__(self, name: str, args: BackupStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """``opts.providers`` carries one provider per cloud package (``aws``, ``azure-native``, ``gcp``);
        each vault inherits its own from this component."""
        super().__init__("platform:backup_storage:BackupStorage", name, None, opts)
        backup = args.backup
        self.aws = self.azure = self.gcs = None
        if backup.aws.enabled:
            self.aws = S3Vault(
                f"{name}-s3",
                S3VaultArgs(backup=backup, region=args.aws_region, protect=args.protect),
                opts=pulumi.ResourceOptions(parent=self),
            )
        if backup.azure.enabled:
            if args.azure_location is None:
                raise ValueError("backup.azure.enabled: cloud.azure.location is required")
            self.azure = AzureBlobVault(
                f"{name}-azure",
                AzureBlobVaultArgs(
                    backup=backup,
                    account_name=account_name(
                        backup.azure.account_name,
                        pulumi.get_project(),
                        pulumi.get_stack(),
                        args.azure_location,
                        args.azure_subscription_id or "",
                    ),
                    location=args.azure_location,
                    resource_group_name=args.azure_resource_group_name,
                    protect=args.protect,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        if backup.gcs.enabled:
            if args.gcp_project is None:
                raise ValueError("backup.gcs.enabled: cloud.gcp.project is required")
            self.gcs = GcsVault(
                f"{name}-gcs",
                GcsVaultArgs(
                    backup=backup, project=args.gcp_project, environment=args.environment, protect=args.protect
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"outputs": self.outputs()})

    def target_uris(self) -> dict[str, dict[str, pulumi.Output[str]]]:
        """Per cloud, per data class: the URI to give the backup CLI (``s3://``, ``azblob://``, ``gs://``)."""
        uris: dict[str, dict[str, pulumi.Output[str]]] = {}
        if self.aws is not None:
            bucket = self.aws.bucket_name
            uris["aws"] = {c: bucket.apply(lambda b: f"s3://{b}") for c in ("db", "chain", "state")}
        if self.azure is not None:
            uris["azure"] = {c: n.apply(lambda x: f"azblob://{x}") for c, n in self.azure.containers.items()}
        if self.gcs is not None:
            uris["gcs"] = {c: n.apply(lambda x: f"gs://{x}") for c, n in self.gcs.buckets.items()}
        return uris

    def outputs(self) -> dict[str, object]:
        """The ``backup`` section of the stack outputs (see ``BackupOutputs``)."""
        uris = self.target_uris()
        out: dict[str, object] = {}
        if self.aws is not None:
            out["aws"] = {
                "bucket": self.aws.bucket_name,
                "bucket_arn": self.aws.bucket_arn,
                "kms_key_arn": self.aws.kms_key_arn,
                "log_bucket": self.aws.log_bucket_name,
                "writer_role_arn": self.aws.writer_role_arn,
                "uris": uris["aws"],
            }
        if self.azure is not None:
            out["azure"] = {
                "account": self.azure.account_name,
                "blob_endpoint": self.azure.blob_endpoint,
                "containers": self.azure.containers,
                "writer_client_id": self.azure.writer_client_id,
                "uris": uris["azure"],
            }
        if self.gcs is not None:
            out["gcs"] = {
                "buckets": self.gcs.buckets,
                "kms_key": self.gcs.kms_key_id,
                "writer_email": self.gcs.writer_email,
                "uris": uris["gcs"],
            }
        return out

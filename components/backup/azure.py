"""The Azure Blob backup vault: a geo-redundant storage account with a container per data class.

Each container has version-level immutability enabled and a default time-based policy of the class's lock
days (every blob version is WORM for that long), and a lifecycle rule deleting base blobs after the class's
retention plus its chain length (``expiry_days``: an incremental still within retention references its chain's
full backup). Shared-key access is off: writers authenticate with Entra ID (a managed identity holding a custom
role that can create and read blobs but has no delete, immutability or management permission).
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.config import BackupSettings

BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"

WRITER_ACTIONS = ("Microsoft.Storage/storageAccounts/blobServices/containers/read",)
"""Control plane: see the containers, nothing else (no immutabilityPolicies/*, no management policy)."""
WRITER_DATA_ACTIONS = (f"{BLOB}/read", f"{BLOB}/write", f"{BLOB}/add/action")
"""Data plane: read, create and list blobs. No ``blobs/delete``, ``deleteBlobVersion``, ``permanentDelete``,
``immutableStorage/runAsSuperUser``."""


class AzureBlobVaultArgs(BaseModel):
    model_config = ConfigDict(frozen=True)

    backup: BackupSettings = Field(description="Validated backup settings.")
    location: str = Field(description="Azure region of the account (cloud.azure.location).")
    resource_group_name: str | None = Field(default=None, description="Existing resource group; None creates one.")
    account_name: str = Field(description="Storage account name (see :func:`account_name`).")
    protect: bool = Field(default=False, description="Protect the account and containers from deletion (prod).")


def account_name(override: str | None, *identity: str) -> str:
    """A storage account name: global, 3-24 lower-case alphanumerics. Derived from the stack's identity
    (project, stack, location, subscription) so it is stable across runs and needs no random provider;
    ``backup.azure.account_name`` overrides it when the derived name is taken."""
    if override:
        return override
    digest = hashlib.sha256("/".join(identity).encode()).hexdigest()
    return f"bkp{digest[:21]}"


def container_name(data_class: str) -> str:
    """Container names need 3-63 characters, so ``db`` becomes ``backup-db``."""
    return f"backup-{data_class}"


def management_policy(backup: BackupSettings) -> dict[str, Any]:
    """Lifecycle rules per container (SDK dict form): base blobs after retention, versions after
    retention + noncurrent days (Azure counts version age from its creation, so this keeps every version
    at least ``noncurrent_days`` after it stopped being current)."""
    rules = []
    for data_class, settings in backup.classes.items():
        rules.append(
            {
                "name": f"{data_class}-retention",
                "type": "Lifecycle",
                "enabled": True,
                "definition": {
                    "filters": {"blob_types": ["blockBlob"], "prefix_match": [f"{container_name(data_class)}/"]},
                    "actions": {
                        "base_blob": {"delete": {"days_after_modification_greater_than": settings.expiry_days}},
                        "version": {
                            "delete": {
                                "days_after_creation_greater_than": settings.expiry_days + settings.noncurrent_days
                            }
                        },
                    },
                },
            }
        )
    return {"rules": rules}


class AzureBlobVault(pulumi.ComponentResource):
    """The Azure copy of the backups."""

    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    blob_endpoint: pulumi.Output[str]
    writer_client_id: pulumi.Output[str]
    writer_principal_id: pulumi.Output[str]
    containers: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AzureBlobVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:backup_storage_azure:AzureBlobVault", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self._data = pulumi.ResourceOptions(parent=self, protect=args.protect)

        group_name = self._resource_group(name, args)
        self._account(name, args, group_name)
        self._blob_service(name, args.backup, group_name)
        self._containers(name, args, group_name)
        self._writer(name, args, group_name)

        self.account_name = self.account.name
        self.account_id = self.account.id
        self.blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        self.writer_client_id = self.writer.client_id
        self.writer_principal_id = self.writer.principal_id
        self.register_outputs(
            {
                "account_name": self.account_name,
                "containers": self.containers,
                "writer_client_id": self.writer_client_id,
            }
        )

    def _resource_group(self, name: str, args: AzureBlobVaultArgs) -> pulumi.Input[str]:
        """An existing group when named (the subscription's layout is not ours), else one of the vault's own."""
        import pulumi_azure_native as azure

        if args.resource_group_name:
            group_name: pulumi.Input[str] = args.resource_group_name
        else:
            group = azure.resources.ResourceGroup(f"{name}-rg", location=args.location, opts=self._data)
            group_name = group.name
        self.resource_group_name = pulumi.Output.from_input(group_name)
        return group_name

    def _account(self, name: str, args: AzureBlobVaultArgs, group_name: pulumi.Input[str]) -> None:
        """HTTPS/TLS 1.2 only, no public blobs, Entra ID by default, double encryption at rest."""
        import pulumi_azure_native as azure

        vault = args.backup.azure
        self.account = azure.storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=group_name,
            location=args.location,
            kind="StorageV2",
            sku=azure.storage.SkuArgs(name=vault.replication),
            access_tier=azure.storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=vault.allow_shared_key_access,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            encryption=azure.storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                require_infrastructure_encryption=True,
                services=azure.storage.EncryptionServicesArgs(
                    blob=azure.storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                    file=azure.storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                ),
            ),
            opts=self._data,
        )

    def _blob_service(self, name: str, backup: BackupSettings, group_name: pulumi.Input[str]) -> None:
        """Versioning, soft delete and the change feed: version-level immutability needs them first."""
        import pulumi_azure_native as azure

        vault = backup.azure
        self.blob_service = azure.storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=self.account.name,
            resource_group_name=group_name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=azure.storage.DeleteRetentionPolicyArgs(
                enabled=True, days=vault.soft_delete_days, allow_permanent_delete=False
            ),
            container_delete_retention_policy=azure.storage.DeleteRetentionPolicyArgs(
                enabled=True, days=vault.soft_delete_days
            ),
            change_feed=azure.storage.ChangeFeedArgs(
                enabled=True, retention_in_days=max(c.retention_days for c in backup.classes.values())
            ),
            opts=self._child,
        )

    def _containers(self, name: str, args: AzureBlobVaultArgs, group_name: pulumi.Input[str]) -> None:
        """A container per data class with its own time-based lock, and the lifecycle that expires them."""
        import pulumi_azure_native as azure

        backup = args.backup
        self.containers = {}
        for data_class, settings in backup.classes.items():
            container = azure.storage.BlobContainer(
                f"{name}-{data_class}",
                account_name=self.account.name,
                resource_group_name=group_name,
                container_name=container_name(data_class),
                public_access=azure.storage.PublicAccess.NONE,
                immutable_storage_with_versioning=azure.storage.ImmutableStorageWithVersioningArgs(enabled=True),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[self.blob_service]),
            )
            if settings.lock_days > 0:
                azure.storage.BlobContainerImmutabilityPolicy(
                    f"{name}-{data_class}-immutability",
                    account_name=self.account.name,
                    resource_group_name=group_name,
                    container_name=container.name,
                    immutability_policy_name="default",
                    immutability_period_since_creation_in_days=settings.lock_days,
                    allow_protected_append_writes=False,
                    opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
                )
            self.containers[data_class] = container.name
        azure.storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=self.account.name,
            resource_group_name=group_name,
            management_policy_name="default",
            policy=cast(Any, management_policy(backup)),
            opts=self._child,
        )

    def _writer(self, name: str, args: AzureBlobVaultArgs, group_name: pulumi.Input[str]) -> None:
        """Least-privilege writer: a custom role (create and read blobs, never delete) held by a managed identity."""
        import pulumi_azure_native as azure

        self.writer = azure.managedidentity.UserAssignedIdentity(
            f"{name}-writer", resource_group_name=group_name, location=args.location, opts=self._child
        )
        self.writer_role = azure.authorization.RoleDefinition(
            f"{name}-writer-role",
            scope=self.account.id,
            assignable_scopes=[self.account.id],
            role_name=self.account.name.apply(lambda n: f"Backup writer ({n})"),
            description="Create and read backup blobs; no delete, immutability or management permission",
            role_type="CustomRole",
            permissions=[
                azure.authorization.PermissionArgs(actions=list(WRITER_ACTIONS), data_actions=list(WRITER_DATA_ACTIONS))
            ],
            opts=self._child,
        )
        self.grant_write("writer", self.writer.principal_id)

    def grant_write(
        self, grantee: str, principal_id: pulumi.Input[str], principal_type: str = "ServicePrincipal"
    ) -> pulumi.Resource:
        """Assign the writer role on the account to another Entra ID principal."""
        import pulumi_azure_native as azure

        return azure.authorization.RoleAssignment(
            f"{self._name}-grant-{grantee}",
            principal_id=principal_id,
            principal_type=principal_type,
            role_definition_id=self.writer_role.id,
            scope=self.account.id,
            opts=pulumi.ResourceOptions(parent=self),
        )

"""Where things run: one explicit provider per target, built once from these settings."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from components.lib.settings import AWS_REGION, Settings, raise_problems


class AwsSettings(Settings):
    region: str = Field(default="us-east-1", description="Primary AWS region for buckets, KMS keys and the database.")
    account_id: str | None = Field(
        default=None, pattern=r"^[0-9]{12}$", description="Optional: the provider refuses to act on any other account."
    )

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not AWS_REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name (e.g. 'us-east-1')")
        return value


class AzureSettings(Settings):
    enabled: bool = Field(default=False, description="Create the Azure backup vault.")
    location: str = Field(default="eastus2", description="Azure region of the storage account.")
    resource_group_name: str | None = Field(
        default=None, description="Existing resource group to use; None creates one for the platform."
    )
    subscription_id: str | None = Field(default=None, description="Subscription; None uses the provider's ambient one.")


class GcpSettings(Settings):
    enabled: bool = Field(default=False, description="Create the GCS backup vault.")
    project: str | None = Field(default=None, description="GCP project id; required when enabled.")
    region: str = Field(default="us-central1", description="Region for the KMS key ring and regional resources.")

    @model_validator(mode="after")
    def _project_when_enabled(self) -> GcpSettings:
        raise_problems(["project: required when gcp.enabled is true"] if self.enabled and not self.project else [])
        return self


class KubernetesSettings(Settings):
    context: str | None = Field(
        default=None, description="kubeconfig context; None uses the current context of the ambient kubeconfig."
    )
    zones: tuple[str, ...] = Field(
        default=("zone-a", "zone-b", "zone-c"),
        min_length=1,
        description="Zone label values (topology.kubernetes.io/zone) replicas are spread over.",
    )
    storage_class: str = Field(default="gp3", description="StorageClass for persistent volumes.")


class CloudSettings(Settings):
    aws: AwsSettings = Field(default_factory=AwsSettings, description="AWS primary region provider.")
    azure: AzureSettings = Field(default_factory=AzureSettings, description="Azure provider (backup vault).")
    gcp: GcpSettings = Field(default_factory=GcpSettings, description="GCP provider (backup vault).")
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings, description="Kubernetes provider.")

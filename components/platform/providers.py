"""One explicit provider per target, created once from config and passed down through ``opts``.

Provider SDKs are imported inside :func:`build_providers` (not at module import): pulumi_cloudflare
alone costs ~2.8 s and 160 MB to import, and a stack that disables a cloud should not pay for it.
Creating a provider makes no cloud call; credentials are read by the engine's plugins at deploy time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.lib.tagging import aws_provider, standard_tags
from components.platform.config import StackConfig


@dataclass(frozen=True)
class Providers:
    """The providers every component receives; ``None`` where the stack disables that target."""

    aws: pulumi.ProviderResource
    kubernetes: pulumi.ProviderResource
    random: pulumi.ProviderResource
    azure: pulumi.ProviderResource | None
    gcp: pulumi.ProviderResource | None
    cloudflare: pulumi.ProviderResource | None


def build_providers(config: StackConfig, parent: pulumi.Resource | None = None) -> Providers:
    """Create the providers for a stack. Tags go on as AWS ``default_tags`` / GCP ``default_labels``."""
    import pulumi_kubernetes as k8s
    import pulumi_random as random

    tags = standard_tags(config.tags, config.environment)
    opts = pulumi.ResourceOptions(parent=parent)
    # The DR region's provider belongs to the DisasterRecovery component, which is that region's owner.
    primary = aws_provider("aws-primary", config.cloud.aws.region, tags, config.cloud.aws.account_id, opts)
    kube = k8s.Provider(
        "kubernetes",
        context=config.cloud.kubernetes.context,
        namespace=config.namespace,
        enable_server_side_apply=True,
        opts=opts,
    )
    # Random values (passwords) live in state only; an explicit provider keeps every resource's provider named.
    rand = random.Provider("random", opts=opts)
    azure = None
    if config.cloud.azure.enabled:
        import pulumi_azure_native as azure_native

        azure = azure_native.Provider(
            "azure", location=config.cloud.azure.location, subscription_id=config.cloud.azure.subscription_id, opts=opts
        )
    gcp = None
    if config.cloud.gcp.enabled:
        import pulumi_gcp as gcp_sdk

        gcp = gcp_sdk.Provider(
            "gcp", project=config.cloud.gcp.project, region=config.cloud.gcp.region, default_labels=tags, opts=opts
        )
    cloudflare = None
    if config.cdn.enabled:
        import pulumi_cloudflare as cf

        # The API token comes from the provider's own secret config (cloudflare:apiToken), never ours.
        cloudflare = cf.Provider("cloudflare", opts=opts)
    return Providers(aws=primary, kubernetes=kube, random=rand, azure=azure, gcp=gcp, cloudflare=cloudflare)

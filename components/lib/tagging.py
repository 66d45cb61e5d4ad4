"""Tags and labels, applied once.

AWS gets them through the provider's ``default_tags`` and GCP through ``default_labels``; Azure and
Kubernetes have no provider-level equivalent, so a stack-level resource transform adds them to every
resource that accepts them. Components never copy tags by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

#: azure-native resource types we create that accept ``tags`` (sending tags to a type that has no such
#: property is an error from the provider, so this is an allowlist).
AZURE_TAGGABLE = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:keyvault:Vault",
    }
)

LABEL_PREFIX = "platform.example.com/"


def standard_tags(tags: Mapping[str, str], environment: str) -> dict[str, str]:
    """The full tag set: configured tags plus the environment and who manages the resource."""
    return {**tags, "environment": environment, "managed-by": "pulumi"}


def kubernetes_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags as Kubernetes labels under our prefix, so they never collide with app labels."""
    return {f"{LABEL_PREFIX}{key}": value for key, value in tags.items()}


def _with_labels(metadata: Any, labels: Mapping[str, str]) -> Any:
    if not isinstance(metadata, dict):
        return metadata
    existing = metadata.get("labels")
    merged = {**labels, **existing} if isinstance(existing, dict) else dict(labels)
    return {**metadata, "labels": merged}


def tag_transform(tags: Mapping[str, str]) -> pulumi.ResourceTransform:
    """A stack transform adding tags to Azure resources and labels to Kubernetes objects."""
    labels = kubernetes_labels(tags)

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if not args.custom or args.type_.startswith("pulumi:providers:"):
            return None
        props = dict(args.props)
        if args.type_ in AZURE_TAGGABLE:
            own = props.get("tags")
            props["tags"] = {**tags, **own} if isinstance(own, dict) else dict(tags)
        elif args.type_.startswith("kubernetes:") and "metadata" in props:
            props["metadata"] = _with_labels(props["metadata"], labels)
            # Pod templates carry the labels too, so per-pod metrics and cost tools see them.
            spec = props.get("spec")
            if isinstance(spec, dict):
                template = spec.get("template")
                if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
                    labelled = {**template, "metadata": _with_labels(template["metadata"], labels)}
                    props["spec"] = {**spec, "template": labelled}
        else:
            return None
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    return transform


def aws_provider(
    name: str, region: str, tags: Mapping[str, str], account_id: str | None, opts: pulumi.ResourceOptions
) -> pulumi.ProviderResource:
    """An AWS provider for one region with the stack's tags as ``default_tags`` (and the account guard).

    Every AWS provider of the stack is made here, so the primary region's and the DR region's carry the
    same tags and refuse the same wrong accounts.
    """
    import pulumi_aws as aws

    return aws.Provider(
        name,
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(tags)),
        allowed_account_ids=[account_id] if account_id else None,
        opts=opts,
    )

"""Every taggable resource carries the required tags/labels (cost allocation and ownership): AWS through
its provider's default_tags (applied to every taggable resource) or its own tags, GCP through the
provider's default_labels, Azure resources that take tags, and Kubernetes objects through labels."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, dig, resource_rule

AZURE_TAGGABLE = {
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:managedidentity:UserAssignedIdentity",
}


def _provider_tags(args: ResourceValidationArgs, key: str) -> Mapping[str, Any]:
    raw = args.provider.props.get(key) if args.provider else None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return {}
    if key == "defaultTags" and isinstance(raw, Mapping):
        raw = raw.get("tags")
    return raw if isinstance(raw, Mapping) else {}


def check(args: ResourceValidationArgs, report: Report) -> None:
    config = args.get_config()
    required = list(config.get("requiredKeys") or [])
    package = args.resource_type.split(":", 1)[0]
    if package == "aws":
        tags = {**_provider_tags(args, "defaultTags"), **(args.props.get("tags") or {})}
    elif package == "gcp":
        tags = {**_provider_tags(args, "defaultLabels"), **(args.props.get("labels") or {})}
    elif args.resource_type in AZURE_TAGGABLE:
        tags = dict(args.props.get("tags") or {})
    elif package == "kubernetes" and isinstance(args.props.get("metadata"), Mapping):
        prefix = str(config.get("kubernetesLabelPrefix", ""))
        labels = dig(args.props, "metadata", "labels", default={}) or {}
        tags = {k.removeprefix(prefix): v for k, v in labels.items() if k.startswith(prefix)}
    else:
        return
    missing = [k for k in required if not tags.get(k)]
    if missing:
        report(f"missing required tags/labels {missing}")


POLICY = resource_rule(
    "tags-required",
    "Taggable resources carry the required ownership and cost tags/labels.",
    check,
    severity=Severity.MEDIUM,
    remediation="Set platform:tags (owner, cost-center); they reach AWS/GCP via provider defaults and Azure/"
    "Kubernetes via the stack transform. Do not create providers outside components/platform/providers.py.",
    config={
        "requiredKeys": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["owner", "cost-center", "environment"],
        },
        "kubernetesLabelPrefix": {"type": "string", "default": "platform.example.com/"},
    },
)

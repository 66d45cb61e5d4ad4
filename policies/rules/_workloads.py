"""Stack-level view of Kubernetes workloads and their autoscalers, shared by the stack rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource

from ._support import dig, is_kind, metadata_name

SCALABLE_KINDS = ("Deployment", "StatefulSet")


@dataclass
class Autoscaler:
    resource: PolicyResource
    kind: str  # "HorizontalPodAutoscaler" | "ScaledObject"
    target_kind: str
    target_name: str
    min_replicas: float | None
    max_replicas: float | None
    utilization_resources: set[str] = field(default_factory=set)


def _namespace(props: Mapping[str, Any]) -> str:
    return str(dig(props, "metadata", "namespace", default="default"))


def autoscalers(resources: Iterable[PolicyResource]) -> list[Autoscaler]:
    found = []
    for r in resources:
        props = r.props
        if is_kind(r.resource_type, "HorizontalPodAutoscaler"):
            utilization = {
                str(dig(m, "resource", "name"))
                for m in dig(props, "spec", "metrics", default=[]) or []
                if dig(m, "type") == "Resource" and dig(m, "resource", "target", "type") == "Utilization"
            }
            found.append(
                Autoscaler(
                    r,
                    "HorizontalPodAutoscaler",
                    str(dig(props, "spec", "scaleTargetRef", "kind", default="Deployment")),
                    str(dig(props, "spec", "scaleTargetRef", "name")),
                    dig(props, "spec", "minReplicas", default=1),
                    dig(props, "spec", "maxReplicas"),
                    utilization,
                )
            )
        elif r.resource_type.startswith("kubernetes:keda.sh/") and r.resource_type.endswith(":ScaledObject"):
            utilization = {
                str(t.get("type"))
                for t in dig(props, "spec", "triggers", default=[]) or []
                if t.get("type") in ("cpu", "memory") and t.get("metricType", "Utilization") == "Utilization"
            }
            found.append(
                Autoscaler(
                    r,
                    "ScaledObject",
                    str(dig(props, "spec", "scaleTargetRef", "kind", default="Deployment")),
                    str(dig(props, "spec", "scaleTargetRef", "name")),
                    dig(props, "spec", "minReplicaCount", default=0),
                    dig(props, "spec", "maxReplicaCount", default=100),
                    utilization,
                )
            )
    return found


def workloads(resources: Iterable[PolicyResource]) -> dict[tuple[str, str, str], PolicyResource]:
    """Scalable workloads keyed by (namespace, kind, name)."""
    return {
        (_namespace(r.props), r.resource_type.rsplit(":", 1)[-1], str(metadata_name(r.props))): r
        for r in resources
        if is_kind(r.resource_type, *SCALABLE_KINDS)
    }


def target_key(scaler: Autoscaler) -> tuple[str, str, str]:
    return (_namespace(scaler.resource.props), scaler.target_kind, scaler.target_name)


def pod_labels(workload: PolicyResource) -> Mapping[str, str]:
    return dig(workload.props, "spec", "template", "metadata", "labels", default={}) or {}

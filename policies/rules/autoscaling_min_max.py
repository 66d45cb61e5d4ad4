"""Autoscaler bounds are consistent: 1 <= min <= max. An inverted range makes the HPA controller
reject the object (or KEDA pin the workload), so the service never scales."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, dig, is_kind, num, resource_rule


def bounds(resource_type: str, props: dict) -> tuple[float | None, float | None] | None:
    if is_kind(resource_type, "HorizontalPodAutoscaler"):
        return dig(props, "spec", "minReplicas", default=1), dig(props, "spec", "maxReplicas")
    if resource_type.startswith("kubernetes:keda.sh/") and resource_type.endswith(":ScaledObject"):
        return dig(props, "spec", "minReplicaCount", default=0), dig(props, "spec", "maxReplicaCount", default=100)
    return None


def check(args: ResourceValidationArgs, report: Report) -> None:
    found = bounds(args.resource_type, dict(args.props))
    if found is None:
        return
    low, high = found
    if not isinstance(high, int | float) or not isinstance(low, int | float):
        report(f"autoscaler bounds are not numbers: min={low!r} max={high!r}")
    elif low > high:
        report(f"min replicas {num(low)} is above max replicas {num(high)}")
    elif high < 1:
        report(f"max replicas {num(high)} is below 1")


POLICY = resource_rule(
    "autoscaling-min-le-max",
    "Autoscaler minimum replicas do not exceed the maximum.",
    check,
    severity=Severity.HIGH,
    remediation="Fix services[].scaling.min_replicas / max_replicas so that min <= max.",
)

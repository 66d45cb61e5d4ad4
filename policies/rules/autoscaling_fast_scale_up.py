"""Scale-up is not held back: an HPA (or KEDA's HPA) with a scale-up stabilization window takes the lowest
recommendation of that window, so every scale-up waits up to its length while demand is already above
capacity. Seed 004 wants scale-up in under a minute; a cooldown between scaling steps belongs in the
policies' ``periodSeconds``, which limit the *next* step without delaying the first. Scale-up with
``selectPolicy: Disabled`` never scales up at all."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, dig, is_kind, num, resource_rule

DEFAULT_MAX_SECONDS = 60


def scale_up_rules(resource_type: str, props: dict[str, Any]) -> dict[str, Any] | None:
    """The ``behavior.scaleUp`` of an HPA or a ScaledObject ({} when unset), None for anything else."""
    if is_kind(resource_type, "HorizontalPodAutoscaler"):
        return dig(props, "spec", "behavior", "scaleUp", default={}) or {}
    if resource_type.startswith("kubernetes:keda.sh/") and resource_type.endswith(":ScaledObject"):
        path = ("spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleUp")
        return dig(props, *path, default={}) or {}
    return None


def check(args: ResourceValidationArgs, report: Report) -> None:
    rules = scale_up_rules(args.resource_type, dict(args.props))
    if rules is None:
        return
    limit = int(args.get_config().get("maxSeconds", DEFAULT_MAX_SECONDS))
    window = rules.get("stabilizationWindowSeconds", 0)  # Kubernetes' scale-up default is 0
    if not isinstance(window, int | float):
        report(f"scale-up stabilizationWindowSeconds is not a number: {window!r}")
    elif window > limit:
        report(
            f"scale-up stabilization window is {num(window)} s: every scale-up waits up to that long (limit {limit} s); "
            "express a cooldown as the policies' periodSeconds"
        )
    if rules.get("selectPolicy") == "Disabled":
        report("scale-up selectPolicy is Disabled: the autoscaler can never add replicas")


POLICY = resource_rule(
    "autoscaling-fast-scale-up",
    "HPAs and KEDA ScaledObjects request new replicas within a minute of needing them.",
    check,
    severity=Severity.MEDIUM,
    remediation="Set services[].scaling.scale_up.stabilization_window_seconds to 60 or less (default 0) and put "
    "the cooldown in the scale-up policies' period_seconds.",
    config={"maxSeconds": {"type": "integer", "minimum": 0, "maximum": 3600, "default": DEFAULT_MAX_SECONDS}},
)

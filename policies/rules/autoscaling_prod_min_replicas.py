"""In prod every autoscaled workload keeps at least ``minReplicas`` (default 2) replicas: with one, a node
drain or a crash is an outage. Staging may run single replicas (config ``environment``)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import ENVIRONMENT_SCHEMA, Report, num, resource_rule
from .autoscaling_min_max import bounds


def check(args: ResourceValidationArgs, report: Report) -> None:
    config = args.get_config()
    if config.get("environment", "prod") != "prod":
        return
    found = bounds(args.resource_type, dict(args.props))
    floor = int(config.get("minReplicas", 2))
    if found and isinstance(found[0], int | float) and found[0] < floor:
        report(f"min replicas {num(found[0])} is below {floor} in prod")


POLICY = resource_rule(
    "autoscaling-prod-min-replicas",
    "Prod autoscalers keep at least two replicas.",
    check,
    severity=Severity.HIGH,
    remediation="Raise services[].scaling.min_replicas to 2 or more in the prod stack.",
    config={"environment": ENVIRONMENT_SCHEMA, "minReplicas": {"type": "integer", "minimum": 1, "default": 2}},
)

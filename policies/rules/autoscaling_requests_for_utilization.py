"""Utilization targets only where requests exist: CPU/memory utilization is a percentage of the
container requests, so without them the HPA reports ``missing request for cpu`` and never scales."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._support import Report, containers, dig, pod_spec, stack_rule
from ._workloads import autoscalers, target_key, workloads


def check(args: StackValidationArgs, report: Report) -> None:
    known = workloads(args.resources)
    for scaler in autoscalers(args.resources):
        workload = known.get(target_key(scaler))
        if workload is None:
            continue
        spec = pod_spec(workload.resource_type, workload.props)
        for resource in sorted(scaler.utilization_resources):
            lacking = [
                c.get("name", "?")
                for c in containers(spec, include_init=False)
                if dig(c, "resources", "requests", resource) in (None, "")
            ]
            if lacking:
                report(
                    f"{scaler.kind} scales {scaler.target_name!r} on {resource} utilization but containers "
                    f"{lacking} have no {resource} request",
                    scaler.resource.urn,
                )


POLICY = stack_rule(
    "autoscaling-utilization-needs-requests",
    "CPU/memory utilization targets only on workloads whose containers request that resource.",
    check,
    severity=Severity.HIGH,
    remediation="Add resources.requests for the metric to every container of the target, or scale on another metric.",
)

"""One autoscaler per workload. Two HPAs (or an HPA plus a KEDA ScaledObject, whose webhook rejects it:
kedacore/keda#3083) fight over ``spec.replicas`` and the replica count flaps. Also: an autoscaled
Deployment must not pin ``spec.replicas`` itself, or every deploy resets the autoscaler's choice."""

from __future__ import annotations

from collections import defaultdict

from pulumi_policy import Severity, StackValidationArgs

from ._support import Report, dig, stack_rule
from ._workloads import autoscalers, target_key, workloads


def check(args: StackValidationArgs, report: Report) -> None:
    by_target: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    scalers = autoscalers(args.resources)
    for scaler in scalers:
        by_target[target_key(scaler)].append(scaler.resource.urn)
    known = workloads(args.resources)
    for key, urns in sorted(by_target.items()):
        if len(urns) > 1:
            for urn in urns:
                report(f"{key[1]} {key[2]!r} has {len(urns)} autoscalers; keep exactly one", urn)
        workload = known.get(key)
        if workload is not None and dig(workload.props, "spec", "replicas") is not None:
            report(f"{key[1]} {key[2]!r} is autoscaled but sets spec.replicas", workload.urn)
    for scaler in scalers:
        if target_key(scaler) not in known:
            report(
                f"{scaler.kind} targets {scaler.target_kind} {scaler.target_name!r}, which this stack does not declare",
                scaler.resource.urn,
            )


POLICY = stack_rule(
    "autoscaling-one-controller",
    "Each workload has exactly one autoscaler, targets exist, and autoscaled workloads do not pin replicas.",
    check,
    severity=Severity.HIGH,
    remediation="Use an HPA or a KEDA ScaledObject, not both; drop spec.replicas from autoscaled Deployments.",
)

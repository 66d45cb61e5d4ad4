"""Replicated workloads have a PodDisruptionBudget selecting their pods: without one a node drain can
evict every replica at once. Replicated = more than one replica, or autoscaled with min >= 2."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._support import Report, dig, is_kind, stack_rule
from ._workloads import autoscalers, pod_labels, target_key, workloads


def check(args: StackValidationArgs, report: Report) -> None:
    known = workloads(args.resources)
    min_by_target = {target_key(s): s.min_replicas or 0 for s in autoscalers(args.resources)}
    pdbs = [r for r in args.resources if is_kind(r.resource_type, "PodDisruptionBudget")]
    for key, workload in sorted(known.items()):
        replicas = dig(workload.props, "spec", "replicas")
        replicated = (isinstance(replicas, int | float) and replicas > 1) or min_by_target.get(key, 0) >= 2
        if not replicated:
            continue
        labels = pod_labels(workload)
        covered = any(
            dig(p.props, "metadata", "namespace", default="default") == key[0]
            and (selector := dig(p.props, "spec", "selector", "matchLabels"))
            and all(labels.get(k) == v for k, v in selector.items())
            for p in pdbs
        )
        if not covered:
            report(f"{key[1]} {key[2]!r} is replicated but no PodDisruptionBudget selects its pods", workload.urn)


POLICY = stack_rule(
    "k8s-pdb-for-replicated",
    "Replicated workloads are covered by a PodDisruptionBudget.",
    check,
    severity=Severity.MEDIUM,
    remediation="Declare a PodDisruptionBudget whose selector matches the pod template labels.",
)

"""Every container declares CPU and memory requests and a memory limit (checkov CKV_K8S_10/11/12/13).

Without requests the scheduler overcommits nodes and utilization-based autoscaling has no base; without
a memory limit one leaking pod can take a node down with it.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, containers, dig, pod_spec, resource_rule


def check(args: ResourceValidationArgs, report: Report) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        name = container.get("name", "?")
        missing = [
            path
            for path, value in (
                ("requests.cpu", dig(container, "resources", "requests", "cpu")),
                ("requests.memory", dig(container, "resources", "requests", "memory")),
                ("limits.memory", dig(container, "resources", "limits", "memory")),
            )
            if value in (None, "")
        ]
        if missing:
            report(f"container {name!r} lacks resources {', '.join(missing)}")


POLICY = resource_rule(
    "k8s-requests-limits",
    "Containers declare CPU/memory requests and a memory limit.",
    check,
    severity=Severity.HIGH,
    remediation="Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container.",
)

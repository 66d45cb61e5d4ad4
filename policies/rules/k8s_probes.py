"""Long-running containers have readiness and liveness probes (checkov CKV_K8S_8/9).

Without readiness a starting pod takes traffic it cannot serve; without liveness a wedged process is
never restarted. Jobs and CronJobs run to completion and are exempt.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, containers, is_kind, pod_spec, resource_rule


def check(args: ResourceValidationArgs, report: Report) -> None:
    if not is_kind(args.resource_type, "Deployment", "StatefulSet", "DaemonSet"):
        return
    for container in containers(pod_spec(args.resource_type, args.props), include_init=False):
        missing = [p for p in ("readinessProbe", "livenessProbe") if not container.get(p)]
        if missing:
            report(f"container {container.get('name', '?')!r} has no {' or '.join(missing)}")


POLICY = resource_rule(
    "k8s-probes",
    "Long-running containers have readiness and liveness probes.",
    check,
    severity=Severity.MEDIUM,
    remediation="Add readinessProbe and livenessProbe (httpGet, tcpSocket or exec) to every container.",
)

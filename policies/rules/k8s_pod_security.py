"""Pods run as non-root, without privilege escalation, privileged mode or extra capabilities
(Pod Security Standard "restricted"; checkov CKV_K8S_16/20/23/28/37)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, containers, dig, pod_spec, resource_rule


def check(args: ResourceValidationArgs, report: Report) -> None:
    spec = pod_spec(args.resource_type, args.props)
    if spec is None:
        return
    pod_non_root = dig(spec, "securityContext", "runAsNonRoot") is True
    for container in containers(spec):
        name = container.get("name", "?")
        ctx = container.get("securityContext") or {}
        problems = []
        if not (ctx.get("runAsNonRoot") is True or (pod_non_root and ctx.get("runAsNonRoot") is not False)):
            problems.append("runAsNonRoot is not true")
        if ctx.get("runAsUser") == 0:
            problems.append("runAsUser is 0")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation is not false")
        if ctx.get("privileged") is True:
            problems.append("privileged is true")
        if "ALL" not in (dig(ctx, "capabilities", "drop") or []):
            problems.append("capabilities.drop lacks ALL")
        if dig(ctx, "capabilities", "add"):
            problems.append(f"capabilities.add {dig(ctx, 'capabilities', 'add')}")
        if problems:
            report(f"container {name!r}: {'; '.join(problems)}")


POLICY = resource_rule(
    "k8s-pod-security",
    "Containers run as non-root with no privilege escalation, no privileged mode and all capabilities dropped.",
    check,
    severity=Severity.HIGH,
    remediation="Set securityContext: runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities.drop: [ALL].",
)

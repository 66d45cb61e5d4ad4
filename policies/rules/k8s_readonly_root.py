"""Containers use a read-only root filesystem (checkov CKV_K8S_22): an attacker who gets code execution
cannot drop tools or tamper with the image. Writable paths go on emptyDir/PVC mounts. A container that
genuinely needs a writable root is waived per URN with a reason."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, containers, dig, pod_spec, resource_rule


def check(args: ResourceValidationArgs, report: Report) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        if dig(container, "securityContext", "readOnlyRootFilesystem") is not True:
            report(f"container {container.get('name', '?')!r} has a writable root filesystem")


POLICY = resource_rule(
    "k8s-readonly-root-fs",
    "Containers use a read-only root filesystem.",
    check,
    severity=Severity.MEDIUM,
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes.",
)

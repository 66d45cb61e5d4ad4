"""Images are pinned to a version tag or digest, never ``latest`` or untagged (checkov CKV_K8S_14):
a floating tag makes rollouts and rollbacks unrepeatable."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, containers, pod_spec, resource_rule


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the 'latest' tag"
    return None


def check(args: ResourceValidationArgs, report: Report) -> None:
    for container in containers(pod_spec(args.resource_type, args.props)):
        image = container.get("image")
        if not isinstance(image, str):
            continue
        problem = image_problem(image)
        if problem:
            report(f"container {container.get('name', '?')!r} image {image!r} {problem}")


POLICY = resource_rule(
    "k8s-image-pinned",
    "Container images are pinned to a version tag or digest.",
    check,
    severity=Severity.HIGH,
    remediation="Reference images as registry/name:1.2.3 or name@sha256:<digest>.",
)

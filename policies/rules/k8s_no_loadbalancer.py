"""No ``LoadBalancer`` Service unless allowed by name: each one is a public endpoint with its own cost,
bypassing the CDN and its rate limits. Ingress goes through the edge."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._support import Report, dig, is_kind, metadata_name, resource_rule


def check(args: ResourceValidationArgs, report: Report) -> None:
    if not is_kind(args.resource_type, "Service") or dig(args.props, "spec", "type") != "LoadBalancer":
        return
    allowed = set(args.get_config().get("allowedServices") or [])
    name = metadata_name(args.props)
    if name not in allowed:
        report(f"Service {name!r} is type LoadBalancer; allowed: {sorted(allowed) or 'none'}")


POLICY = resource_rule(
    "k8s-no-loadbalancer",
    "Services are not of type LoadBalancer unless allowed by name.",
    check,
    severity=Severity.HIGH,
    remediation="Use ClusterIP behind the ingress/CDN, or add the Service name to allowedServices with a reason.",
    config={"allowedServices": {"type": "array", "items": {"type": "string"}, "default": []}},
)

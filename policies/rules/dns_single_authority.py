"""One DNS authority per name: a plan must not create a public Route 53 zone for a domain (or a name inside a
domain) that Cloudflare serves. Only one of the two answers for the name (the registrar's NS records decide),
so failover records in the other one silently do nothing. A Route 53 zone for a *delegated* subdomain that
Cloudflare only points at (e.g. ``origin.example.com`` as a load-balancer origin) is fine, as long as no name
Cloudflare serves lies inside it.

Cloudflare-served names come from the plan (``cloudflare`` Zone names, LoadBalancer and DnsRecord hostnames)
and from the pack config ``cloudflareDomains`` (zones that exist outside this program, such as the CDN zones
it only references by id). Private zones (``vpcs`` set) answer only inside their VPCs and are not checked.
"""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._support import Report, stack_rule

ROUTE53_ZONE = "aws:route53/zone:Zone"
CLOUDFLARE_ZONE = "cloudflare:index/zone:Zone"
CLOUDFLARE_HOSTNAMES = ("cloudflare:index/loadBalancer:LoadBalancer", "cloudflare:index/dnsRecord:DnsRecord")


def _name(value: object) -> str:
    return str(value or "").strip().rstrip(".").lower()


def _inside(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def check(args: StackValidationArgs, report: Report) -> None:
    config = args.get_config()
    domains = {_name(d) for d in config.get("cloudflareDomains") or []}
    hostnames: set[str] = set()
    for resource in args.resources:
        if resource.resource_type == CLOUDFLARE_ZONE:
            domains.add(_name(resource.props.get("name")))
        elif resource.resource_type in CLOUDFLARE_HOSTNAMES:
            hostnames.add(_name(resource.props.get("name")))
    domains.discard("")
    hostnames.discard("")
    for resource in args.resources:
        if resource.resource_type != ROUTE53_ZONE or resource.props.get("vpcs"):
            continue
        zone = _name(resource.props.get("name"))
        for domain in sorted(domains):
            if _inside(domain, zone):
                report(
                    f"public Route 53 zone {zone!r} claims {domain!r}, which Cloudflare serves: only one of them answers",
                    resource.urn,
                )
        for hostname in sorted(hostnames):
            if _inside(hostname, zone):
                report(
                    f"public Route 53 zone {zone!r} claims {hostname!r}, a name Cloudflare serves (load balancer or "
                    "record): fail over in Cloudflare, or delegate a separate origin name to Route 53",
                    resource.urn,
                )


POLICY = stack_rule(
    "dns-single-authority",
    "No public Route 53 zone for a domain or name that Cloudflare serves.",
    check,
    severity=Severity.HIGH,
    remediation="Remove the Route 53 zone and fail over with Cloudflare Load Balancing (dr section), or give Route 53 "
    "only a delegated origin name that no Cloudflare hostname lies in.",
    config={
        "cloudflareDomains": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "Zones served by Cloudflare that this program references but does not create.",
        }
    },
)

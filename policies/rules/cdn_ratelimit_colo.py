"""Every rate-limit rule counts per data centre (``cf.colo.id`` in its characteristics): Cloudflare's
counters are per colo, and the API rejects rules without it. Also rejects limits of zero requests."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, Severity

from ._cloudflare import RULESET
from ._support import Report, dig, resource_rule


def check(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != RULESET or args.props.get("phase") != "http_ratelimit":
        return
    for rule in args.props.get("rules") or []:
        ref = rule.get("ref", "?")
        characteristics = dig(rule, "ratelimit", "characteristics", default=[]) or []
        if "cf.colo.id" not in characteristics:
            report(f"rate-limit rule {ref!r} lacks cf.colo.id in characteristics {characteristics}")
        requests = dig(rule, "ratelimit", "requestsPerPeriod")
        if not isinstance(requests, int | float) or requests <= 0:
            report(f"rate-limit rule {ref!r} allows {requests!r} requests per period")


POLICY = resource_rule(
    "cdn-ratelimit-per-colo",
    "Cloudflare rate-limit rules include cf.colo.id and allow a positive number of requests.",
    check,
    severity=Severity.HIGH,
    remediation="Add cf.colo.id to ratelimit.characteristics and set requestsPerPeriod > 0.",
)

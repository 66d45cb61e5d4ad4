"""Responses carry HSTS with a long max-age: without it the first request of every visit can be
downgraded to HTTP by anyone on the path."""

from __future__ import annotations

import re

from pulumi_policy import Severity, StackValidationArgs

from ._cloudflare import zone_of, zone_rulesets
from ._support import Report, dig, is_mapping, stack_rule

MAX_AGE = re.compile(r"max-age=(\d+)")


def check(args: StackValidationArgs, report: Report) -> None:
    minimum = int(args.get_config().get("minMaxAgeSeconds", 15_552_000))
    rulesets = zone_rulesets(args.resources)
    for zone in sorted({zone_of(r) for r in rulesets}):
        headers = [
            r for r in rulesets if zone_of(r) == zone and r.props.get("phase") == "http_response_headers_transform"
        ]
        best = 0
        for ruleset in headers:
            for rule in ruleset.props.get("rules") or []:
                header = dig(rule, "actionParameters", "headers", "Strict-Transport-Security")
                if is_mapping(header) and header.get("operation") == "set":
                    match = MAX_AGE.search(str(header.get("value", "")))
                    best = max(best, int(match.group(1)) if match else 0)
        if best < minimum:
            report(
                f"zone {zone}: no Strict-Transport-Security header with max-age >= {minimum} (found {best or 'none'})",
                headers[0].urn if headers else None,
            )


POLICY = stack_rule(
    "cdn-hsts",
    "Cloudflare zones set Strict-Transport-Security with a long max-age on responses.",
    check,
    severity=Severity.HIGH,
    remediation="Set Strict-Transport-Security: max-age=31536000; includeSubDomains in the response headers ruleset.",
    config={"minMaxAgeSeconds": {"type": "integer", "minimum": 0, "default": 15_552_000}},
)

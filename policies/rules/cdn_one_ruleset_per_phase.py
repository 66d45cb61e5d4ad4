"""Exactly one zone entry-point ruleset per phase: Cloudflare allows one, and a second declaration makes
the apply fail or two stacks overwrite each other (terraform-provider-cloudflare#2090)."""

from __future__ import annotations

from collections import defaultdict

from pulumi_policy import Severity, StackValidationArgs

from ._cloudflare import zone_of, zone_rulesets
from ._support import Report, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    by_phase: dict[tuple[str, str], list[str]] = defaultdict(list)
    for ruleset in zone_rulesets(args.resources):
        by_phase[(zone_of(ruleset), str(ruleset.props.get("phase")))].append(ruleset.urn)
    for (zone, phase), urns in sorted(by_phase.items()):
        if len(urns) > 1:
            for urn in urns:
                report(f"zone {zone} declares {len(urns)} rulesets for phase {phase}; merge them into one", urn)


POLICY = stack_rule(
    "cdn-one-ruleset-per-phase",
    "Each Cloudflare zone has at most one entry-point ruleset per phase.",
    check,
    severity=Severity.HIGH,
    remediation="Put all rules of a phase into the zone's single ruleset for that phase.",
)

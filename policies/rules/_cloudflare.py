"""Cloudflare resource helpers shared by the CDN rules."""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import PolicyResource

RULESET = "cloudflare:index/ruleset:Ruleset"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"


def zone_rulesets(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == RULESET and r.props.get("kind") == "zone"]


def zone_settings(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == ZONE_SETTING]


def zone_of(resource: PolicyResource) -> str:
    return str(resource.props.get("zoneId", "?"))

"""dns-single-authority: the real plans pass; a public Route 53 zone for a Cloudflare-served domain, or one
holding the load-balanced hostname, fails naming the zone; a private zone or a delegated origin name passes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import records_of, violations

POLICY = "dns-single-authority"


def _with_zone(records: list[dict[str, Any]], zone: str, **inputs: Any) -> list[dict[str, Any]]:
    added = copy.deepcopy(records)
    added.append(
        {
            "urn": f"urn:pulumi:prod::platform::aws:route53/zone:Zone::zone-{zone}",
            "type": "aws:route53/zone:Zone",
            "name": f"zone-{zone}",
            "parent": None,
            "provider": None,
            "inputs": {"name": zone, **inputs},
        }
    )
    return added


def _found(records: list[dict[str, Any]], stack: str = "prod") -> list[str]:
    return [v.message for v in violations(records, stack) if v.policy == POLICY]


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass(stack: str) -> None:
    assert _found(records_of(plan_of(stack)), stack) == []


def test_second_public_zone_for_the_cloudflare_domain_fails() -> None:
    records = records_of(plan_of("prod"))
    messages = _found(_with_zone(records, "example.com."))
    assert any("'example.com' claims 'example.com', which Cloudflare serves" in m for m in messages), messages
    assert any("claims 'app.example.com', a name Cloudflare serves" in m for m in messages), messages


def test_zone_holding_the_load_balanced_hostname_fails_even_without_pack_config() -> None:
    records = records_of(plan_of("prod"))
    found = [
        v.message
        for v in violations(_with_zone(records, "app.example.com"), "prod", config={POLICY: {"cloudflareDomains": []}})
        if v.policy == POLICY
    ]
    assert found and "claims 'app.example.com', a name Cloudflare serves" in found[0]


def test_private_zone_and_delegated_origin_name_pass() -> None:
    records = records_of(plan_of("prod"))
    assert _found(_with_zone(records, "example.com", vpcs=[{"vpcId": "vpc-1"}])) == []
    assert _found(_with_zone(records, "origin.example.com")) == []

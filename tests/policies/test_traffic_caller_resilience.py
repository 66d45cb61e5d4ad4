"""traffic-caller-resilience: both plans pass; a callee without a DestinationRule or VirtualService, outlier
detection that never ejects, a route without timeout or per-try timeout, or objects not exported to the caller
fail naming the URN; callers come from the network declarations, or from the traffic objects without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies.rules.traffic_caller_resilience import WIRING_ANNOTATION
from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, records_of, violations

POLICY = "traffic-caller-resilience"


def _found(records: list[dict[str, Any]], stack: str = "prod") -> list[Any]:
    return [v for v in violations(records, stack) if v.policy == POLICY]


def _urn(records: list[dict[str, Any]], name: str) -> str:
    return next(r["urn"] for r in records if r["name"] == name)


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass_and_have_service_to_service_calls(stack: str) -> None:
    records = records_of(plan_of(stack))
    annotations = [
        r["inputs"]["metadata"].get("annotations", {}) for r in records if r["type"].endswith(":NetworkPolicy")
    ]
    assert any(WIRING_ANNOTATION in a for a in annotations), "the plan declares no callers: nothing is checked"
    callers = [
        r["inputs"]["metadata"]["annotations"]["platform.example.com/callers"]
        for r in records
        if r["type"].endswith(":DestinationRule")
    ]
    assert any(callers), "no service calls another in this plan"
    assert _found(records, stack) == []


def test_missing_destination_rule_fails_naming_the_callee_service() -> None:
    records = [r for r in records_of(plan_of("prod")) if r["name"] != "traffic-backend-destination-rule"]
    found = _found(records)
    assert [v.urn for v in found] == [_urn(records, "backend-service")], [v.message for v in found]
    assert "api-gateway calls backend" in found[0].message


def test_missing_virtual_service_fails_naming_the_callee_service() -> None:
    records = [r for r in records_of(plan_of("prod")) if r["name"] != "traffic-api-gateway-virtual-service"]
    found = _found(records)
    assert [v.urn for v in found] == [_urn(records, "api-gateway-service")], [v.message for v in found]


def _outlier(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: change(inputs["spec"]["trafficPolicy"]["outlierDetection"])


def _route(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: change(inputs["spec"]["http"][0])


MUTATIONS = [
    (
        "no-outlier",
        ":DestinationRule",
        lambda i: i["spec"]["trafficPolicy"].pop("outlierDetection"),
        "outlierDetection",
    ),
    (
        "never-ejects",
        ":DestinationRule",
        _outlier(lambda o: o.update(consecutive5xxErrors=0, consecutiveGatewayErrors=0)),
        "never ejects",
    ),
    ("no-interval", ":DestinationRule", _outlier(lambda o: o.pop("interval")), "lacks interval"),
    ("dr-not-exported", ":DestinationRule", lambda i: i["spec"].update(exportTo=["other"]), "no DestinationRule"),
    ("no-timeout", ":VirtualService", _route(lambda r: r.pop("timeout")), "has no timeout"),
    ("zero-timeout", ":VirtualService", _route(lambda r: r.update(timeout="0s")), "has no timeout"),
    ("no-per-try", ":VirtualService", _route(lambda r: r["retries"].pop("perTryTimeout")), "perTryTimeout"),
    ("vs-not-exported", ":VirtualService", lambda i: i["spec"].update(exportTo=["other"]), "no VirtualService"),
]


@pytest.mark.parametrize(("case", "suffix", "change", "expected"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutated_backend_policy_fails_naming_the_urn(
    case: str, suffix: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    kind = "destination-rule" if suffix == ":DestinationRule" else "virtual-service"
    records, urn = mutate(records_of(plan_of("prod")), suffix, change, f"traffic-backend-{kind}")
    found = _found(records)
    expected_urn = _urn(records, "backend-service") if "not-exported" in case else urn
    assert found and all(v.urn == expected_urn for v in found), (case, [(v.urn, v.message) for v in found])
    assert any(expected in v.message for v in found), (case, [v.message for v in found])


def test_without_network_declarations_the_traffic_callers_are_used() -> None:
    records = [r for r in records_of(plan_of("prod")) if not r["type"].endswith(":NetworkPolicy")]
    assert _found(records) == []
    records = [r for r in records if r["name"] != "traffic-api-gateway-destination-rule"]
    found = _found(records)
    assert [v.urn for v in found] == [_urn(records, "api-gateway-service")]
    assert "frontend calls api-gateway" in found[0].message

"""services[].traffic: seed defaults rendered into Istio objects; impossible policies are config errors that
name the key."""

from __future__ import annotations

from typing import Any

import pytest

from components.platform.config import ConfigError, parse_config
from components.traffic.config import Retries, ServiceTraffic, TrafficService, TrafficSettings, worst_case_seconds
from components.traffic.istio import destination_rule, duration, virtual_service
from tests.plans import stack_values


def _with_traffic(traffic: dict[str, Any], index: int = 0) -> dict[str, Any]:
    values = stack_values("prod")
    services = [dict(s) for s in values["services"]]
    services[index] = {**services[index], "traffic": traffic}
    return {**values, "services": services}


def test_defaults_are_the_seeds() -> None:
    traffic = ServiceTraffic()
    service = TrafficService(name="backend", port=80, traffic=traffic, callers=("api-gateway",))
    rule = destination_rule(service, "platform", TrafficSettings())
    outlier = rule["spec"]["trafficPolicy"]["outlierDetection"]
    assert outlier["consecutive5xxErrors"] == 5
    assert outlier["interval"] == "10s"
    assert outlier["baseEjectionTime"] == "60s"
    assert rule["spec"]["trafficPolicy"]["loadBalancer"] == {"simple": "ROUND_ROBIN"}
    assert rule["spec"]["host"] == "backend.platform.svc.cluster.local"
    assert rule["metadata"]["annotations"]["platform.example.com/callers"] == "api-gateway"
    route = virtual_service(service, "platform", TrafficSettings())["spec"]["http"][0]
    assert route["timeout"] == "10s"
    assert route["retries"]["perTryTimeout"] == "2s"
    assert route["retries"]["backoff"] == "25ms"
    assert route["route"] == [
        {"destination": {"host": "backend.platform.svc.cluster.local", "port": {"number": 80}}, "weight": 100}
    ]


def test_weighted_subsets_become_subsets_and_weighted_routes() -> None:
    traffic = ServiceTraffic.model_validate(
        {
            "subsets": [
                {"name": "stable", "labels": {"app.kubernetes.io/version": "v1"}, "weight": 90},
                {"name": "canary", "labels": {"app.kubernetes.io/version": "v2"}, "weight": 10},
            ]
        }
    )
    service = TrafficService(name="backend", port=80, traffic=traffic)
    rule = destination_rule(service, "platform", TrafficSettings())
    assert [s["name"] for s in rule["spec"]["subsets"]] == ["stable", "canary"]
    routes = virtual_service(service, "platform", TrafficSettings())["spec"]["http"][0]["route"]
    assert [(r["destination"]["subset"], r["weight"]) for r in routes] == [("stable", 90), ("canary", 10)]


def test_worst_case_retry_time_counts_every_attempt_and_the_jittered_backoff() -> None:
    # 4 tries x 2 s + back-off caps (1, 3, 7) x 25 ms = 8.275 s
    assert worst_case_seconds(Retries()) == pytest.approx(8.275)
    # the cap of 10 x base applies from the 4th retry on: (1+3+7+10+10) x 100 ms
    assert worst_case_seconds(Retries(attempts=5, per_try_timeout_seconds=1, backoff_base_ms=100)) == pytest.approx(9.1)


@pytest.mark.parametrize(("seconds", "text"), [(10, "10s"), (2.5, "2500ms"), (0.025, "25ms"), (60, "60s")])
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


_SUBSET = {"labels": {"app.kubernetes.io/version": "v1"}}
BAD_CONFIGS = [
    (
        "weights-not-100",
        {"subsets": [{**_SUBSET, "name": "stable", "weight": 80}, {**_SUBSET, "name": "canary", "weight": 10}]},
        "services[0].traffic.subsets: weights add up to 90 (stable=80, canary=10); they must add up to 100",
    ),
    (
        "weight-over-100",
        {"subsets": [{**_SUBSET, "name": "stable", "weight": 120}]},
        "services[0].traffic.subsets[0].weight: 120 is above the maximum 100",
    ),
    (
        "duplicate-subset",
        {"subsets": [{**_SUBSET, "name": "a", "weight": 50}, {**_SUBSET, "name": "a", "weight": 50}]},
        "services[0].traffic.subsets: name 'a' appears more than once",
    ),
    (
        "subset-without-labels",
        {"subsets": [{"name": "stable", "labels": {}, "weight": 100}]},
        "services[0].traffic.subsets[0].labels",
    ),
    (
        "health-check-under-1s",
        {"health_check_interval_seconds": 0.5},
        "services[0].traffic.health_check_interval_seconds: 0.5 is under 1 s",
    ),
    (
        "ejection-over-100",
        {"circuit_breaker": {"max_ejection_percent": 150}},
        "services[0].traffic.circuit_breaker.max_ejection_percent: 150 is outside 0-100 %",
    ),
    (
        "retries-exceed-timeout",
        {"timeout_seconds": 5, "retries": {"attempts": 3, "per_try_timeout_seconds": 2}},
        "services[0].traffic.retries: 3 retries of 2.0 s each plus back-off take up to 8.275 s, above timeout_seconds 5",
    ),
    (
        "per-try-above-timeout",
        {"timeout_seconds": 1, "retries": {"attempts": 0, "per_try_timeout_seconds": 2}},
        "services[0].traffic.retries.per_try_timeout_seconds: 2.0 is above timeout_seconds 1",
    ),
    (
        "zero-failures",
        {"circuit_breaker": {"consecutive_errors": 0}},
        "services[0].traffic.circuit_breaker.consecutive_errors: 0 is below the minimum 1",
    ),
    (
        "unknown-balancer",
        {"load_balancer": "WEIGHTED"},
        "services[0].traffic.load_balancer: 'WEIGHTED' is not allowed",
    ),
    (
        "misspelt-key",
        {"retrys": {"attempts": 2}},
        "services[0].traffic.retrys: is not a known setting",
    ),
    (
        "bad-retry-on",
        {"retries": {"retry_on": "5xx; reset"}},
        "services[0].traffic.retries.retry_on",
    ),
]


@pytest.mark.parametrize(("case", "traffic", "expected"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_traffic_config_is_an_error_naming_the_key(case: str, traffic: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with_traffic(traffic))
    assert any(p.startswith(expected) for p in info.value.problems), (case, info.value.problems)


def test_a_valid_override_loads() -> None:
    config = parse_config(_with_traffic({"timeout_seconds": 15, "retries": {"attempts": 2}}))
    assert config.services[0].traffic.timeout_seconds == 15

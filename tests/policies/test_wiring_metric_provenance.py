"""wiring-metric-provenance: passes on both real plans, and each way a query can lose its producer (a monitor
removed, a rule, KEDA trigger, adapter rule, forecaster query or dashboard panel naming a metric nothing
produces, an expression that does not parse) fails the gate naming the URN of the resource holding the query."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from policies.rules._promql import selected_names
from policies.rules.wiring_metric_provenance import POLICY
from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, records_of, violations

NAME = "wiring-metric-provenance"
Mutation = Callable[[dict[str, Any]], object]


def _found(records: list[dict[str, Any]], stack: str = "prod") -> list[Any]:
    return [v for v in violations(records, stack) if v.policy == NAME]


@pytest.mark.parametrize("stack", STACKS)
def test_real_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    assert any(r["type"].endswith(":ServiceMonitor") for r in records), "the plan declares no monitors"
    found = _found(records, stack)
    assert found == [], "\n".join(f"{v.urn}: {v.message}" for v in found)


def test_the_rule_reads_every_kind_of_query_in_the_prod_plan() -> None:
    """Not vacuous: the rule sees rules, KEDA triggers, adapter rules, the forecaster and dashboards."""
    from policies.check import build_resources
    from policies.rules._promql import queries

    found = list(queries(build_resources(records_of(plan_of("prod")), {})))
    kinds = {q.where.split(" ", 1)[0] for q in found}
    assert {"rule", "KEDA", "adapter", "container", "dashboard"} <= kinds, kinds


def _rename_in_rule(inputs: dict[str, Any]) -> None:
    inputs["spec"]["groups"][0]["rules"][0]["expr"] = "redis_memory_used_bytez > 0"


def _keda_typo(inputs: dict[str, Any]) -> None:
    trigger = next(t for t in inputs["spec"]["triggers"] if t["type"] == "prometheus")
    trigger["metadata"]["query"] = trigger["metadata"]["query"].replace("http_requests_total", "http_request_total")


def _adapter_typo(inputs: dict[str, Any]) -> None:
    config = yaml.safe_load(inputs["data"]["config.yaml"])
    config["rules"][0]["seriesQuery"] = 'http_requests{namespace!="",pod!=""}'
    inputs["data"]["config.yaml"] = yaml.safe_dump(config)


def _forecaster_typo(inputs: dict[str, Any]) -> None:
    container = inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    args[args.index("--query") + 1] = 'sum(rate(requests_total{{service="{service}"}}[5m]))'


def _dashboard_typo(inputs: dict[str, Any]) -> None:
    key = next(iter(inputs["data"]))
    model = json.loads(inputs["data"][key])
    model["panels"][0]["targets"][0]["expr"] = "sum(rate(http_requests_totl[5m]))"
    inputs["data"][key] = json.dumps(model)


def _unparsable(inputs: dict[str, Any]) -> None:
    inputs["spec"]["groups"][0]["rules"][0]["expr"] = "sum by service (http_requests_total)"


def _regex_name(inputs: dict[str, Any]) -> None:
    inputs["spec"]["groups"][0]["rules"][0]["expr"] = '{__name__=~"redis_.*"} > 0'


# (type suffix, resource name, mutation, message fragment)
CASES: list[tuple[str, str, Mutation, str]] = [
    (":PrometheusRule", "monitoring-rules-platform-cache", _rename_in_rule, "'redis_memory_used_bytez'"),
    (":ScaledObject", "backend-autoscaling-scaledobject", _keda_typo, "'http_request_total'"),
    (":ConfigMap", "prometheus-adapter-rules-configmap", _adapter_typo, "'http_requests'"),
    (":CronJob", "backend-autoscaling-predictive-cronjob", _forecaster_typo, "'requests_total'"),
    (":ConfigMap", "monitoring-dashboard-operations", _dashboard_typo, "'http_requests_totl'"),
    (":PrometheusRule", "monitoring-rules-platform-http", _unparsable, "not valid PromQL"),
    (":PrometheusRule", "monitoring-rules-platform-cache", _regex_name, "has no fixed metric name"),
]


@pytest.mark.parametrize(("suffix", "name", "change", "expected"), CASES, ids=[c[3] for c in CASES])
def test_a_query_without_a_producer_fails_naming_its_urn(
    suffix: str, name: str, change: Mutation, expected: str
) -> None:
    records, urn = mutate(records_of(plan_of("prod")), suffix, change, name=name)
    found = _found(records)
    assert any(v.urn == urn and expected in v.message for v in found), found
    assert all(v.urn == urn for v in found), "only the mutated resource may fail"


def test_a_removed_monitor_fails_every_query_of_its_series() -> None:
    records = [r for r in records_of(plan_of("prod")) if r["name"] != "monitoring-monitor-redis"]
    found = _found(records)
    by_urn = {v.urn for v in found}
    cache_rules = next(r["urn"] for r in records if r["name"] == "monitoring-rules-platform-cache")
    performance = next(r["urn"] for r in records if r["name"] == "monitoring-dashboard-performance")
    assert {cache_rules, performance} <= by_urn
    assert all("'redis_" in v.message for v in found), [v.message for v in found]


def test_a_monitor_that_stops_declaring_a_series_fails() -> None:
    def drop_pg_up(inputs: dict[str, Any]) -> None:
        annotations = inputs["metadata"]["annotations"]
        names = annotations["platform.example.com/metrics"].split(",")
        annotations["platform.example.com/metrics"] = ",".join(n for n in names if n != "pg_up")

    records = records_of(plan_of("prod"))
    # Every monitor that declares pg_up (the database's own exporters and the standalone ones) stops declaring it.
    producers = [
        r["name"]
        for r in records
        if r["type"].endswith(("PodMonitor", "ServiceMonitor"))
        and "pg_up" in r["inputs"]["metadata"].get("annotations", {}).get("platform.example.com/metrics", "").split(",")
    ]
    assert producers, "no monitor of the prod plan declares pg_up"
    for monitor in producers:
        records, _ = mutate(records, "Monitor", drop_pg_up, name=monitor)
    found = _found(records)
    assert found and all("'pg_up'" in v.message for v in found)


def test_pushed_series_count_only_when_the_pushgateway_monitor_carries_them() -> None:
    def no_pushed(inputs: dict[str, Any]) -> None:
        del inputs["metadata"]["annotations"]["platform.example.com/pushed-metrics"]

    records, _ = mutate(
        records_of(plan_of("prod")), ":ServiceMonitor", no_pushed, name="monitoring-monitor-pushgateway"
    )
    found = _found(records)
    assert found and all("'backup_" in v.message for v in found)


def test_recording_rules_produce_their_series() -> None:
    def add_recording(inputs: dict[str, Any]) -> None:
        inputs["spec"]["groups"][0]["rules"] += [
            {"record": "service:http_requests:rate5m", "expr": "sum by (service) (rate(http_requests_total[5m]))"},
            {"alert": "UsesRecorded", "expr": "service:http_requests:rate5m > 1e6"},
        ]

    records, _ = mutate(
        records_of(plan_of("prod")), ":PrometheusRule", add_recording, name="monitoring-rules-platform-http"
    )
    assert _found(records) == []


def test_names_come_from_the_parse_not_the_text() -> None:
    names, unresolved = selected_names(
        'sum by (service) (rate(http_requests_total{code=~"5..", path="/metrics/pg_up"}[5m])) '
        '/ on (service) group_left count(label_replace(up, "job", "redis_up", "", ""))'
    )
    assert names == {"http_requests_total", "up"} and unresolved == []
    assert POLICY.name == NAME

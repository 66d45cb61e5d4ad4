"""Monitoring on the mock engine: what the plan renders (rules, routing, dashboards), strict schema checks of
the prometheus-operator objects, and the config mistakes that must be refused with the key named."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from components.monitoring.config import MonitoringSettings
from components.monitoring.coverage import metric_names
from components.monitoring.dashboards import panel_queries
from components.monitoring.rules import METRICS, alert_rules, backup_max_age_seconds, schedule_interval_seconds
from components.platform.config import ConfigError, parse_config
from tests.components.crd_schemas import alertmanager_config_schema, prometheus_rule_schema, validate
from tests.plans import STACKS, manifests_of_kind, plan_of, stack_values


@pytest.mark.parametrize("stack", STACKS)
def test_rules_carry_the_release_label_and_routable_labels(stack: str) -> None:
    plan = plan_of(stack)
    rules = manifests_of_kind(plan, "PrometheusRule")
    assert {r["metadata"]["name"] for r in rules} == {
        "platform-http",
        "platform-cache",
        "platform-database",
        "platform-backup",
        "platform-absent",
        "platform-jobs",
    }
    config = parse_config(stack_values(stack))
    for manifest in rules:
        assert manifest["metadata"]["labels"]["release"] == config.monitoring.release_label
        assert manifest["metadata"]["namespace"] == config.namespace
        for group in manifest["spec"]["groups"]:
            for rule in group["rules"]:
                # Every alert reaches a receiver: a routed severity and the AlertmanagerConfig's namespace.
                assert config.monitoring.routes[rule["labels"]["severity"]]
                assert rule["labels"]["namespace"] == config.namespace
                assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_seed_thresholds_reach_the_expressions() -> None:
    config = parse_config(stack_values("prod"))
    rules = {(r.alert, r.expr.split("class=")[-1]): r for r in alert_rules(config.monitoring, config.backup.classes)}
    by_name = {alert: rule for (alert, _), rule in rules.items()}
    assert by_name["HighErrorRate"].expr.endswith("> 0.05") and by_name["HighErrorRate"].for_ == "2m"
    assert by_name["CacheMemoryCritical"].expr.startswith("redis_memory_used_bytes / redis_memory_max_bytes > 0.9")
    assert "and redis_memory_max_bytes > 0" in by_name["CacheMemoryCritical"].expr
    assert by_name["CacheHitRateLow"].expr.endswith("< 0.7") and by_name["CacheHitRateLow"].for_ == "5m"
    assert by_name["HighResponseTime"].expr.endswith("> 2") and by_name["HighResponseTime"].for_ == "5m"
    # Tied to the 1-minute RPO, not the 5 minutes one guide gives.
    lag = by_name["ReplicationLagHigh"]
    assert float(lag.expr.rsplit(">", 1)[1]) < config.dr.rpo_target_seconds
    assert by_name["BackupFailed"].severity == by_name["HighErrorRate"].severity == "critical"


def test_backup_staleness_follows_each_class_schedule() -> None:
    assert schedule_interval_seconds("*/5 * * * *") == 300
    assert schedule_interval_seconds("0 */6 * * *") == 6 * 3600
    assert schedule_interval_seconds("0 4 1 * *") == 31 * 86400  # the longest gap, not the first
    assert backup_max_age_seconds("0 * * * *", 2) == 7200
    config = parse_config(stack_values("prod"))
    stale = [r for r in alert_rules(config.monitoring, config.backup.classes) if r.alert == "BackupStale"]
    assert {r.expr for r in stale} == {
        'time() - backup_completion_time{class="chain"} > 600',
        'time() - backup_completion_time{class="db"} > 43200',
        'time() - backup_completion_time{class="state"} > 7200',
    }


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_rules_validate_against_the_operator_schema(stack: str) -> None:
    for manifest in manifests_of_kind(plan_of(stack), "PrometheusRule"):
        validate(manifest, prometheus_rule_schema())


def test_strict_rule_schema_rejects_a_misspelt_field() -> None:
    manifest = manifests_of_kind(plan_of("prod"), "PrometheusRule")[0]
    rule = dict(manifest["spec"]["groups"][0]["rules"][0])
    rule["fro"] = rule.pop("for", "1m")
    broken = {**manifest, "spec": {"groups": [{"name": "x", "rules": [rule]}]}}
    with pytest.raises(jsonschema.ValidationError, match="fro"):
        validate(broken, prometheus_rule_schema())


def _routing(stack: str) -> dict[str, Any]:
    (manifest,) = manifests_of_kind(plan_of(stack), "AlertmanagerConfig")
    return manifest


@pytest.mark.parametrize("stack", STACKS)
def test_alertmanager_config_validates_and_routes_by_severity(stack: str) -> None:
    manifest = _routing(stack)
    validate(manifest, alertmanager_config_schema())
    config = parse_config(stack_values(stack))
    routed: dict[str, list[str]] = {}
    for route in manifest["spec"]["route"]["routes"]:
        (matcher,) = route["matchers"]
        assert matcher["name"] == "severity" and matcher["matchType"] == "="
        routed.setdefault(matcher["value"], []).append(route["receiver"])
    assert routed == {sev: list(targets) for sev, targets in config.monitoring.routes.items()}
    assert manifest["spec"]["route"]["receiver"] == config.monitoring.default_receiver


def test_prod_routing_is_the_seed_matrix() -> None:
    routes = _routing("prod")["spec"]["route"]["routes"]
    pairs = [(r["matchers"][0]["value"], r["receiver"], r["continue"]) for r in routes]
    assert pairs == [
        ("critical", "pager", True),
        ("critical", "chat", False),
        ("high", "email", True),
        ("high", "chat", False),
        ("medium", "chat", False),
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_receiver_secrets_are_referenced_never_inlined(stack: str) -> None:
    receivers = {r["name"]: r for r in _routing(stack)["spec"]["receivers"]}
    for receiver in receivers.values():
        for config in receiver.get("pagerdutyConfigs", []):
            assert set(config["routingKey"]) == {"name", "key"}
        for config in receiver.get("slackConfigs", []):
            assert set(config["apiURL"]) == {"name", "key"}
    text = json.dumps(_routing(stack))
    assert "hooks.slack.com" not in text and "routing_key" not in text


@pytest.mark.parametrize("stack", STACKS)
def test_dashboards_are_labelled_json_from_catalogued_metrics(stack: str) -> None:
    maps = [m for m in manifests_of_kind(plan_of(stack), "ConfigMap") if m["metadata"]["name"].startswith("dashboard-")]
    assert {m["metadata"]["name"] for m in maps} == {
        "dashboard-operations",
        "dashboard-performance",
        "dashboard-disaster-recovery",
    }
    for manifest in maps:
        assert manifest["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((key, text),) = manifest["data"].items()
        model = json.loads(text)
        assert key.endswith(".json") and model["uid"] and model["panels"]
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids))
        for query in panel_queries(model):
            unknown = metric_names(query) - set(METRICS)
            assert not unknown, f"{manifest['metadata']['name']}: {query!r} uses uncatalogued {unknown}"


def test_rules_use_only_catalogued_metrics() -> None:
    config = parse_config(stack_values("prod"))
    rules = list(alert_rules(config.monitoring, config.backup.classes))
    assert rules, "the prod monitoring config yields no alert rules"
    for rule in rules:
        assert metric_names(rule.expr) <= set(METRICS), rule.alert


def test_metric_name_extraction() -> None:
    query = 'sum by (service, le) (rate(http_requests_total{code=~"5.."}[1m])) / on(job) group_left foo_bar > 0.5'
    assert metric_names(query) == {"http_requests_total", "foo_bar"}
    assert metric_names("time() - backup_completion_time") == {"backup_completion_time"}
    assert metric_names('absent({__name__="pg_up", job="x"}) or label_replace(up, "a", "b", "c", "d")') == {
        "pg_up",
        "up",
    }


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("unknown severity", {"monitoring": {"routes": {"urgent": ["chat"]}}}, "monitoring.routes.urgent"),
    (
        "receiver with no destination",
        {"monitoring": {"receivers": [{"name": "pager", "kind": "pagerduty"}]}},
        "monitoring.receivers[0].secret_name: a pagerduty receiver needs the Secret",
    ),
    (
        "email receiver without an address",
        {"monitoring": {"receivers": [{"name": "email", "kind": "email"}]}},
        "monitoring.receivers[0].to: an email receiver needs an address",
    ),
    (
        "email receiver with a bad address",
        {"monitoring": {"receivers": [{"name": "email", "kind": "email", "to": "oncall"}]}},
        "monitoring.receivers[0].to: 'oncall' is not an email address",
    ),
    (
        "severity without receivers",
        {"monitoring": {"routes": {"medium": []}}},
        "monitoring.routes.medium: no receivers",
    ),
    (
        "unknown default receiver",
        {"monitoring": {"default_receiver": "nobody"}},
        "monitoring.default_receiver: unknown receiver 'nobody'",
    ),
    (
        "threshold above its range",
        {"monitoring": {"thresholds": {"cache_memory_ratio": 1.5}}},
        "monitoring.thresholds.cache_memory_ratio: 1.5 is not below the maximum (exclusive) 1",
    ),
    (
        "threshold below its range",
        {"monitoring": {"thresholds": {"backup_missed_runs": 0}}},
        "monitoring.thresholds.backup_missed_runs: 0 is below the minimum 1",
    ),
    (
        "duration that does not parse",
        {"monitoring": {"thresholds": {"error_rate_for": "2 minutes"}}},
        "monitoring.thresholds.error_rate_for: '2 minutes' is not a duration",
    ),
    (
        "replication lag alert at or beyond the RPO",
        {"monitoring": {"thresholds": {"replication_lag_seconds": 300}}},
        "monitoring.thresholds.replication_lag_seconds: 300 is not below dr.rpo_target_seconds 60",
    ),
    (
        "release label that is not a label value",
        {"monitoring": {"release_label": "Kube Prometheus"}},
        "monitoring.release_label",
    ),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_monitoring_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    from tests.plans import deep_merge

    values = deep_merge(stack_values("prod"), changes)
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_defaults_are_the_seed_routing() -> None:
    settings = MonitoringSettings()
    assert settings.routes == {"critical": ("pager", "chat"), "high": ("email", "chat"), "medium": ("chat",)}


def test_disabled_monitoring_is_absent_from_plan_and_outputs() -> None:
    from tests.plans import plan_with

    plan = plan_with("staging", {"monitoring": {"enabled": False}})
    assert not manifests_of_kind(plan, "PrometheusRule") and not manifests_of_kind(plan, "AlertmanagerConfig")
    assert "monitoring" not in plan.outputs


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_name_what_was_declared(stack: str) -> None:
    plan = plan_of(stack)
    outputs = plan.outputs["monitoring"]
    assert set(outputs["prometheus_rules"]) == {
        m["metadata"]["name"] for m in manifests_of_kind(plan, "PrometheusRule")
    }
    assert outputs["alertmanager_config"] == "platform-routing"
    assert "CacheMemoryCritical" in outputs["alerts"]

"""Scraping on the mock engine: every workload that serves metrics has a monitor the operator accepts (strict
CRD schema), selecting objects the plan really declares on a port they really expose, labelled for
kube-prometheus-stack; absence and failed-Job alerts follow the declarations; bad input names its key."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from components.lib.scrape import METRICS_ANNOTATION, PUSHED_ANNOTATION
from components.platform.config import ConfigError, parse_config
from tests.components.crd_schemas import pod_monitor_schema, service_monitor_schema, validate
from tests.plans import STACKS, deep_merge, manifests_of_kind, plan_of, plan_with, stack_values


def _monitors(stack: str) -> list[dict[str, Any]]:
    plan = plan_of(stack)
    return manifests_of_kind(plan, "ServiceMonitor") + manifests_of_kind(plan, "PodMonitor")


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("stack", STACKS)
def test_monitors_pass_the_operator_schema_and_carry_the_release_label(stack: str) -> None:
    config = parse_config(stack_values(stack))
    monitors = _monitors(stack)
    assert monitors, "no monitors in the plan"
    for monitor in monitors:
        schema = service_monitor_schema() if monitor["kind"] == "ServiceMonitor" else pod_monitor_schema()
        validate(monitor, schema)
        assert monitor["metadata"]["labels"]["release"] == config.monitoring.release_label
        assert monitor["metadata"]["annotations"][METRICS_ANNOTATION]


def test_the_strict_schema_refuses_a_misspelt_field() -> None:
    monitor = json.loads(json.dumps(_monitors("prod")[0]))
    key = "endpoints" if monitor["kind"] == "ServiceMonitor" else "podMetricsEndpoints"
    monitor["spec"][key][0]["honorlabels"] = True
    schema = service_monitor_schema() if monitor["kind"] == "ServiceMonitor" else pod_monitor_schema()
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor, schema)


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_and_redis_is_scraped_on_a_port_it_exposes(stack: str) -> None:
    plan = plan_of(stack)
    config = parse_config(stack_values(stack))
    monitors = {m["metadata"]["name"]: m for m in _monitors(stack)}
    services = {s["metadata"]["name"]: s for s in manifests_of_kind(plan, "Service")}
    deployments = {d["metadata"]["name"]: d for d in manifests_of_kind(plan, "Deployment")}
    assert config.services
    for svc in config.services:
        monitor = monitors[svc.name]
        assert monitor["kind"] == "ServiceMonitor"
        service = services[svc.name]
        assert _matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
        port = monitor["spec"]["endpoints"][0]["port"]
        assert port in {p["name"] for p in service["spec"]["ports"]}
        container = deployments[svc.name]["spec"]["template"]["spec"]["containers"][0]
        assert port in {p["name"] for p in container["ports"]}, "the Service's targetPort must exist in the pod"
        assert "http_requests_total" in monitor["metadata"]["annotations"][METRICS_ANNOTATION]
    redis = monitors["redis"]
    assert redis["kind"] == "PodMonitor"
    pods = [s["spec"]["template"] for s in manifests_of_kind(plan, "StatefulSet")]
    selected = [p for p in pods if _matches(redis["spec"]["selector"]["matchLabels"], p["metadata"]["labels"])]
    assert selected and all(
        "metrics" in {port["name"] for c in p["spec"]["containers"] for port in c.get("ports", [])} for p in selected
    )


def test_prod_scrapes_the_pushgateway_with_honor_labels_and_the_database_pods_for_replication_lag() -> None:
    monitors = {m["metadata"]["name"]: m for m in _monitors("prod")}
    gateway = monitors["pushgateway"]
    assert gateway["spec"]["endpoints"][0]["honorLabels"] is True
    assert "backup_failures_total" in json.loads(gateway["metadata"]["annotations"][PUSHED_ANNOTATION])["backup"]
    # The self-managed database's own sidecars are the lag alert's producer; no exporter Deployment duplicates them.
    postgres = monitors["database-postgres"]
    assert "pg_replication_lag_seconds" in postgres["metadata"]["annotations"][METRICS_ANNOTATION].split(",")
    deployments = {d["metadata"]["name"] for d in manifests_of_kind(plan_of("prod"), "Deployment")}
    assert not {d for d in deployments if d.startswith("postgres-exporter-")}


def test_external_database_exporters_are_run_labelled_and_scraped() -> None:
    """For databases without an exporter of their own (RDS): one Deployment and PodMonitor per entry."""
    exporters = [
        {"name": "primary", "role": "primary", "url_secret": "monitoring-db-primary"},
        {"name": "dr-replica", "role": "replica", "url_secret": "monitoring-db-dr-replica"},
    ]
    plan = plan_with("prod", {"monitoring": {"scrape": {"database_exporters": exporters}}})
    monitors = {m["metadata"]["name"]: m for m in manifests_of_kind(plan, "PodMonitor")}
    deployments = {d["metadata"]["name"]: d for d in manifests_of_kind(plan, "Deployment")}
    for name, role in (("primary", "primary"), ("dr-replica", "replica")):
        monitor = monitors[f"postgres-exporter-{name}"]
        relabel = {r["targetLabel"]: r["replacement"] for r in monitor["spec"]["podMetricsEndpoints"][0]["relabelings"]}
        assert relabel == {"role": role, "database": name}
        pod = deployments[f"postgres-exporter-{name}"]["spec"]["template"]
        assert _matches(monitor["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
        env = pod["spec"]["containers"][0]["env"][0]
        assert env["name"] == "DATA_SOURCE_NAME" and "secretKeyRef" in env["valueFrom"]


def _rules(stack: str) -> list[dict[str, Any]]:
    return [
        rule
        for manifest in manifests_of_kind(plan_of(stack), "PrometheusRule")
        for group in manifest["spec"]["groups"]
        for rule in group["rules"]
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_absence_alerts_cover_each_service_and_every_critical_series(stack: str) -> None:
    config = parse_config(stack_values(stack))
    absent = [r["expr"] for r in _rules(stack) if r["alert"] == "MetricAbsent"]
    for svc in config.services:
        assert f'absent(http_requests_total{{namespace="{config.namespace}",service="{svc.name}"}})' in absent
    for metric in ("redis_memory_used_bytes", "redis_memory_max_bytes", "pg_up"):
        assert any(e.startswith(f"absent({metric}{{") for e in absent), metric
    for data_class in config.backup.classes:
        assert f'absent(backup_failures_total{{class="{data_class}"}})' in absent


def test_failed_job_patterns_match_the_plans_cronjobs() -> None:
    plan = plan_of("prod")
    cronjobs = [c["metadata"]["name"] for c in manifests_of_kind(plan, "CronJob")]
    patterns = [
        re.search(r'job_name=~"([^"]+)"', r["expr"]).group(1)  # type: ignore[union-attr]
        for r in _rules("prod")
        if r["alert"] == "JobFailed"
    ]
    groups = {r["labels"]["job_group"] for r in _rules("prod") if r["alert"] == "JobFailed"}
    assert {"backup", "verify", "restore-test", "maintenance", "forecaster", "bootstrap"} <= groups
    for name in cronjobs:  # a Job a CronJob creates is named <cronjob>-<scheduled minute>
        assert sum(bool(re.fullmatch(p, f"{name}-29000460")) for p in patterns) == 1, name
    assert not any(re.fullmatch(p, "backup-db") for p in patterns)


def test_response_time_is_a_p95_at_the_seed_threshold_beside_the_api_target() -> None:
    rules = {r["alert"]: r for r in _rules("prod")}
    assert rules["HighResponseTime"]["expr"].startswith("histogram_quantile(0.95,")
    assert rules["HighResponseTime"]["expr"].endswith("> 2") and rules["HighResponseTime"]["for"] == "5m"
    assert rules["LatencyP95AboveTarget"]["expr"].endswith("> 0.5")


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    (
        {
            "monitoring": {
                "scrape": {
                    "database_exporters": [
                        {"name": "a", "role": "primary", "url_secret": "x"},
                        {"name": "a", "role": "replica", "url_secret": "y"},
                    ]
                }
            }
        },
        "monitoring.scrape.database_exporters: name 'a' is used more than once",
    ),
    ({"monitoring": {"scrape": {"database_exporters": [{"name": "a", "role": "leader", "url_secret": "x"}]}}}, "role"),
    ({"monitoring": {"absence": {"delay": "ten minutes"}}}, "monitoring.absence.delay"),
    ({"monitoring": {"failed_jobs": {"severity": {"backup": "urgent"}}}}, "monitoring.failed_jobs.severity.backup"),
]


@pytest.mark.parametrize(("change", "expected"), BAD_INPUT, ids=[b[1][:40] for b in BAD_INPUT])
def test_bad_scrape_config_names_the_key(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(deep_merge(stack_values("prod"), change))
    assert expected in str(err.value)


def test_backup_jobs_without_a_scraped_pushgateway_are_refused() -> None:
    values = deep_merge(stack_values("prod"), {})
    values["monitoring"].setdefault("scrape", {})["pushgateway"] = None
    with pytest.raises(ConfigError) as err:
        parse_config(values)
    assert "monitoring.scrape.pushgateway: the backup jobs push" in str(err.value)


def test_a_service_metrics_port_equal_to_its_http_port_is_refused() -> None:
    values = stack_values("prod")
    services = [dict(s) for s in values["services"]]
    services[0]["metrics"] = {"port": services[0]["port"]}
    with pytest.raises(ConfigError) as err:
        parse_config({**values, "services": services})
    assert "services[0]" in str(err.value) and "metrics.port: 3000 is the http port" in str(err.value)

"""Declared uses become config errors or NetworkPolicies: the closed set of use names, the rendered
default deny, DNS, egress to exactly what each workload uses, ingress from exactly its callers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.network.policies import WIRING_ANNOTATION
from components.platform.config import ConfigError, parse_config
from tests.plans import REPO, STACKS, deep_merge, manifests, plan_of, stack_values


def _policies(stack: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests(plan_of(stack)) if m["kind"] == "NetworkPolicy"}


def _services(stack: str, **changes: dict[str, Any]) -> list[dict[str, Any]]:
    services = [dict(s) for s in stack_values(stack)["services"]]
    for s in services:
        s.update(changes.get(s["name"], {}))
    return services


def _problems(stack: str, changes: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values(stack), changes), f"Pulumi.{stack}.yaml")
    return caught.value.problems


def test_a_typo_in_uses_names_the_key_and_the_choices() -> None:
    problems = _problems("prod", {"services": _services("prod", frontend={"uses": ["rediss"]})})
    expected = "services[2].uses[0]: 'rediss' is not deployed in this stack nor a network.endpoints name; expected one"
    match = [p for p in problems if p.startswith(expected)]
    assert match, problems
    assert "api-gateway, backend, cloud-apis, database, istiod, kube-api, prometheus, pushgateway, redis" in match[0]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"redis": {"enabled": False}}, "services[0].uses[0]: 'redis' is not deployed in this stack"),
        ({"services": _services("staging", backend={"uses": ["backend"]})}, "services[0].uses[0]: 'backend' is the"),
        ({"services": _services("staging", backend={"uses": ["dns"]})}, "services[0].uses[0]: 'dns' is implied"),
        ({"services": _services("staging", backend={"uses": ["redis", "redis"]})}, "services[0].uses[1]: 'redis' is"),
        ({"network": {"endpoints": {"redis": {"cidrs": ["10.1.0.0/16"], "ports": [6379]}}}}, "network.endpoints.redis"),
        (
            {"network": {"endpoints": {"database": {"cidrs": ["10.1.0.0/16"], "ports": [5432]}}}},
            "network.endpoints.database: the stack deploys",
        ),
        ({"network": {"endpoints": {"x": {"cidrs": ["10.1.0.1/16"], "ports": [1]}}}}, "network.endpoints.x.cidrs[0]"),
        ({"network": {"endpoints": {"x": {"ports": [1]}}}}, "network.endpoints.x.peer: set exactly one"),
    ],
)
def test_bad_declarations_are_config_errors(changes: dict[str, Any], expected: str) -> None:
    problems = _problems("staging", changes)
    assert any(p.startswith(expected) for p in problems), problems


def test_jobs_need_the_database_endpoint_without_a_database_tier() -> None:
    values = stack_values("staging")
    values.pop("database")
    values["network"] = {"endpoints": {}}
    with pytest.raises(ConfigError) as caught:
        parse_config(values, "Pulumi.staging.yaml")
    assert any(p.startswith("network.endpoints.database: needed by the backup-db job") for p in caught.value.problems)


def test_the_plan_cli_exits_2_on_a_uses_typo(tmp_path: Path) -> None:
    text = (REPO / "Pulumi.staging.yaml").read_text().replace("uses: [redis, database]", "uses: [rediss, database]")
    link = REPO / "Pulumi.uses-typo-test.yaml"
    link.write_text(text)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "offline.plan", "--stack", "uses-typo-test", "--out", str(tmp_path / "out")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        link.unlink()
    assert proc.returncode == 2, proc.stderr
    assert "services[0].uses[0]: 'rediss' is not deployed in this stack" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_pod_is_denied_by_default_and_resolves_names(stack: str) -> None:
    policies = _policies(stack)
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    wiring = json.loads(policies["default-deny"]["metadata"]["annotations"][WIRING_ANNOTATION])
    assert wiring["implied"] == ["dns"]
    dns = policies["allow-dns"]["spec"]
    assert dns["podSelector"] == {} and dns["policyTypes"] == ["Egress"]
    assert dns["egress"][0]["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert {p["port"] for p in dns["egress"][0]["ports"]} == {53}
    scrape = policies["allow-metrics-scrape"]["spec"]["ingress"]
    assert scrape == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": "metrics"}],
        }
    ]


def test_prod_services_reach_exactly_what_they_use() -> None:
    policies = _policies("prod")
    backend = policies["backend-egress"]["spec"]["egress"]
    assert [r["ports"] for r in backend] == [
        [{"protocol": "TCP", "port": "redis"}],
        [{"protocol": "TCP", "port": "postgres"}],
        [{"protocol": "TCP", "port": 15012}],  # the sidecar's istiod (traffic enabled)
    ]
    assert backend[1]["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "database-pooler", "app.kubernetes.io/component": "pooler"}}}]  # fmt: skip
    gateway_in = policies["api-gateway-ingress"]["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "frontend", "app.kubernetes.io/component": "frontend"}}} in gateway_in  # fmt: skip
    assert any("namespaceSelector" in peer for peer in gateway_in), "public: the ingress controller is admitted"
    backend_in = policies["backend-ingress"]["spec"]["ingress"][0]["from"]
    assert all("namespaceSelector" not in peer for peer in backend_in), "backend is internal"
    assert "frontend-egress" in policies and "frontend-ingress" in policies


def test_services_that_use_redis_carry_the_label_its_policy_admits() -> None:
    deployments = {m["metadata"]["name"]: m for m in manifests(plan_of("prod")) if m["kind"] == "Deployment"}
    for name in ("backend", "api-gateway"):
        assert deployments[name]["spec"]["template"]["metadata"]["labels"]["redis-client"] == "true"
    assert "redis-client" not in deployments["frontend"]["spec"]["template"]["metadata"]["labels"]


def test_the_staging_restore_drill_gets_its_egress() -> None:
    drill = _policies("staging")["backup-drill-egress"]["spec"]["egress"]
    assert [r["ports"][0]["port"] for r in drill] == ["postgres", 443, 9091]


def test_jobs_get_their_egress() -> None:
    policies = _policies("prod")
    assert [r["ports"][0]["port"] for r in policies["backup-db-egress"]["spec"]["egress"]] == ["postgres", 443, 9091]
    assert [r["ports"][0]["port"] for r in policies["backup-verify-db-egress"]["spec"]["egress"]] == [443]
    forecaster = policies["backend-forecaster-egress"]["spec"]["egress"]
    assert [r["ports"][0]["port"] for r in forecaster] == [9090, 443]
    assert [r["ports"][0]["port"] for r in policies["maintenance-daily-egress"]["spec"]["egress"]] == ["postgres"]
    # PostgreSQL runs wal-push (archive_command): it ships WAL to the vaults and pushes its metrics.
    assert [r["ports"][0]["port"] for r in policies["database-egress"]["spec"]["egress"]] == ["postgres", 443, 9091]
    assert policies["database-server-ingress"]["spec"]["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": "postgres"}
    ]
    assert "redis-bootstrap-egress" in policies and "redis-data-egress" in policies


def test_unrestricted_traffic_is_an_explicit_opt_out() -> None:
    config = parse_config(deep_merge(stack_values("staging"), {"network": {"allow_unrestricted_traffic": True}}), "x")
    assert config.network.allow_unrestricted_traffic

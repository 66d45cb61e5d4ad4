"""Typed stack config: both stack files load; every kind of mistake names its YAML path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.platform.config import ConfigError, load_stack_file, parse_config
from tests.plans import REPO, STACKS, deep_merge, stack_values


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_load(stack: str) -> None:
    config = load_stack_file(REPO / f"Pulumi.{stack}.yaml")
    assert config.environment == stack
    assert config.services


def test_prod_carries_the_seed_figures() -> None:
    prod = load_stack_file(REPO / "Pulumi.prod.yaml")
    backend = next(s for s in prod.services if s.name == "backend")
    assert (backend.scaling.min_replicas, backend.scaling.max_replicas) == (5, 100)
    assert backend.scaling.target_cpu_utilization == 60 and backend.scaling.target_rps_per_pod == 50
    # The seed's 300 s scale-up cooldown is a step period, not a stabilization window (which would delay
    # every scale-up by up to 5 minutes; seed 004 wants scale-up under 60 s).
    assert backend.scaling.scale_up.stabilization_window_seconds == 0
    assert backend.scaling.scale_up.policies
    assert {p.period_seconds for p in backend.scaling.scale_up.policies} == {300}
    assert backend.scaling.scale_down.stabilization_window_seconds == 600
    assert backend.scaling.prediction.enabled and backend.scaling.prediction.confidence_threshold == 0.8
    frontend = next(s for s in prod.services if s.name == "frontend")
    assert (frontend.scaling.min_replicas, frontend.scaling.max_replicas) == (2, 10)
    assert prod.redis.pod_count == 6 and prod.redis.maxmemory_policy == "allkeys-lru"
    assert {k: v.retention_days for k, v in prod.backup.classes.items()} == {"db": 30, "chain": 90, "state": 7}
    assert (prod.dr.rto_target_seconds, prod.dr.rpo_target_seconds) == (300, 60)
    assert prod.budgets.monthly_limit_usd == 1000
    assert prod.protect


def test_staging_is_smaller_than_prod() -> None:
    staging = load_stack_file(REPO / "Pulumi.staging.yaml")
    prod = load_stack_file(REPO / "Pulumi.prod.yaml")
    assert max(s.scaling.max_replicas for s in staging.services) < max(s.scaling.max_replicas for s in prod.services)
    assert staging.redis.pod_count < prod.redis.pod_count
    assert staging.budgets.monthly_limit_usd < prod.budgets.monthly_limit_usd
    assert not staging.protect


def _svc(index: int, changes: dict[str, Any]) -> dict[str, Any]:
    values = stack_values("prod")
    services = list(values["services"])
    services[index] = deep_merge(services[index], changes)
    return {"services": services}


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    (
        "max below min",
        _svc(2, {"scaling": {"min_replicas": 5, "max_replicas": 3}}),
        "services[2].scaling.max_replicas: 3 is below min_replicas 5",
    ),
    ("unknown key", {"redis": {"maxmem": "1Gi"}}, "redis.maxmem: is not a known setting"),
    ("unknown eviction policy", {"redis": {"maxmemory_policy": "lru"}}, "redis.maxmemory_policy: 'lru' is not allowed"),
    ("too few masters", {"redis": {"masters": 2}}, "redis.masters: 2 is below 3"),
    ("prod without replicas", {"redis": {"replicas_per_master": 0}}, "redis.replicas_per_master: 0 in prod"),
    (
        "maxmemory above limit",
        {"redis": {"maxmemory": "4Gi", "memory_limit": "4Gi"}},
        "redis.maxmemory: 4Gi exceeds 75 %",
    ),
    ("bad memory quantity", {"redis": {"memory_limit": "lots"}}, "redis.memory_limit: 'lots' is not a memory quantity"),
    ("unpinned image", _svc(0, {"image": "ghcr.io/example/backend:latest"}), "services[0].image:"),
    (
        "window with start = end",
        _svc(0, {"scaling": {"schedules": [{"name": "x", "start": "08:00", "end": "08:00", "factor": 2}]}}),
        "services[0].scaling.schedules[0].end: 08:00 equals start",
    ),
    (
        "factor below 1",
        _svc(0, {"scaling": {"schedules": [{"name": "x", "start": "08:00", "end": "09:00", "factor": 0.5}]}}),
        "services[0].scaling.schedules[0].factor: 0.5 is below the minimum 1",
    ),
    (
        "bad clock time",
        _svc(0, {"scaling": {"schedules": [{"name": "x", "start": "25:00", "end": "09:00", "factor": 2}]}}),
        "services[0].scaling.schedules[0].start: '25:00' is not a time of day",
    ),
    (
        "lock longer than retention",
        {"backup": {"classes": {"db": {"retention_days": 7, "lock_days": 30, "schedule": "0 * * * *"}}}},
        "backup.classes.db.lock_days: 30 exceeds retention_days 7",
    ),
    (
        "bad cron",
        {"backup": {"classes": {"db": {"retention_days": 30, "lock_days": 30, "schedule": "every hour"}}}},
        "backup.classes.db.schedule: 'every hour' is not a 5-field cron expression",
    ),
    ("dr region equals primary", {"dr": {"region": "us-east-1"}}, "dr.region: 'us-east-1' equals cloud.aws.region"),
    (
        "health check interval below cloudflare's minimum",
        {"dr": {"health_check": {"interval_seconds": 5}}},
        "dr.health_check.interval_seconds: 5 is below the minimum 10",
    ),
    (
        "cloud vault without its provider",
        {"cloud": {"azure": {"enabled": False}}},
        "backup.azure.enabled: needs cloud.azure.enabled",
    ),
    (
        "gcp without project",
        {"cloud": {"gcp": {"enabled": True, "project": None}}},
        "cloud.gcp.project: required when gcp.enabled",
    ),
    (
        "receiver without destination",
        {"monitoring": {"receivers": [{"name": "chat", "kind": "slack"}]}},
        "monitoring.receivers[0].secret_name: a slack receiver needs the Secret",
    ),
    (
        "route to unknown receiver",
        {"monitoring": {"routes": {"critical": ["nobody"]}}},
        "monitoring.routes.critical: unknown receiver 'nobody'",
    ),
    ("unknown severity", {"monitoring": {"routes": {"urgent": ["pager"]}}}, "monitoring.routes.urgent"),
    (
        "threshold out of range",
        {"monitoring": {"thresholds": {"error_rate_ratio": 5}}},
        "monitoring.thresholds.error_rate_ratio: 5 is not below the maximum (exclusive) 1",
    ),
    ("missing required tag", {"tags": {"cost-center": None}}, "tags: missing required tag 'cost-center'"),
    (
        "duplicate service",
        {"services": [stack_values("prod")["services"][0]] * 2},
        "services[1].name: 'backend' is already used",
    ),
    ("port not a number", _svc(1, {"port": "http"}), "services[1].port: 'http'"),
    (
        "limits below requests",
        _svc(1, {"resources": {"limits": {"cpu": "100m", "memory": "512Mi"}}}),
        "services[1].resources.limits.cpu: 100m is below requests.cpu 250m",
    ),
    ("negative budget", {"budgets": {"monthly_limit_usd": -5}}, "budgets.monthly_limit_usd: -5"),
    ("bad environment", {"environment": "production"}, "environment: 'production' is not allowed"),
]


@pytest.mark.parametrize(("case", "changes", "expected"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_config_names_the_path(case: str, changes: dict[str, Any], expected: str) -> None:
    values = deep_merge(stack_values("prod"), changes)
    with pytest.raises(ConfigError) as caught:
        parse_config(values, "Pulumi.prod.yaml")
    assert any(problem.startswith(expected) or expected in problem for problem in caught.value.problems), (
        f"{case}: {caught.value.problems}"
    )


def test_all_problems_reported_together() -> None:
    values = deep_merge(
        stack_values("prod"), {"dr": {"region": "us-east-1"}, "budgets": {"emails": ["nope"]}, "bogus": 1}
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(values, "x")
    assert len(caught.value.problems) >= 2


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_stack_file(tmp_path / "Pulumi.nope.yaml")
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_stack_file(broken)


def test_schedule_replicas_are_clamped() -> None:
    prod = load_stack_file(REPO / "Pulumi.prod.yaml")
    backend = next(s for s in prod.services if s.name == "backend").scaling
    morning, evening = backend.schedules
    assert backend.scheduled_replicas(morning) == 15  # ceil(10 x 1.5)
    assert backend.scheduled_replicas(evening) == 20  # ceil(10 x 2.0)
    gateway = next(s for s in prod.services if s.name == "api-gateway").scaling
    assert gateway.scheduled_replicas(gateway.schedules[1]) == 6  # ceil(3 x 2)

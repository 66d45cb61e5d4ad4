"""Velero application-state Schedule: hourly, 7-day TTL, namespaces from config, valid against a schema
derived from Velero's Schedule CRD (tests/components/crd_schemas.py names the source)."""

from __future__ import annotations

import copy

import jsonschema
import pytest

from components.backup.snapshots import SnapshotsArgs, go_duration, schedule_manifest
from tests.components.crd_schemas import VELERO_SCHEDULE_SCHEMA, validate
from tests.plans import STACKS, manifests_of_kind, plan_of, plan_with


@pytest.mark.parametrize("stack", STACKS)
def test_schedule_is_hourly_kept_seven_days_and_valid(stack: str) -> None:
    (schedule,) = manifests_of_kind(plan_of(stack), "Schedule")
    validate(schedule, VELERO_SCHEDULE_SCHEMA)
    assert schedule["apiVersion"] == "velero.io/v1" and schedule["metadata"]["namespace"] == "velero"
    assert schedule["spec"]["schedule"] == "0 * * * *"
    template = schedule["spec"]["template"]
    assert template["ttl"] == "168h0m0s" and template["includedNamespaces"] == ["platform"]
    assert template["snapshotVolumes"] is True and "includeClusterResources" not in template
    assert schedule["spec"]["useOwnerReferencesInBackup"] is False
    assert plan_of(stack).outputs["snapshots"] == {
        "schedule": "velero/app-state-hourly",
        "cron": "0 * * * *",
        "ttl": "168h0m0s",
    }


def test_schema_rejects_what_velero_would_prune_or_refuse() -> None:
    good = schedule_manifest(SnapshotsArgs())
    misspelt = copy.deepcopy(good)
    misspelt["spec"]["template"]["includeNamespaces"] = ["platform"]
    bad_ttl = copy.deepcopy(good)
    bad_ttl["spec"]["template"]["ttl"] = "7d"
    missing = copy.deepcopy(good)
    del missing["spec"]["schedule"]
    broken_schedules = [misspelt, bad_ttl, missing]
    assert all(broken != good for broken in broken_schedules), "every broken schedule must differ from the valid one"
    for broken in broken_schedules:
        with pytest.raises(jsonschema.ValidationError):
            validate(broken, VELERO_SCHEDULE_SCHEMA)


def test_ttl_and_namespaces_follow_backup_settings() -> None:
    plan = plan_with("staging", {"backup": {"velero_ttl_hours": 72, "velero_namespaces": ["platform", "jobs"]}})
    (schedule,) = manifests_of_kind(plan, "Schedule")
    assert schedule["spec"]["template"]["ttl"] == go_duration(72) == "72h0m0s"
    assert schedule["spec"]["template"]["includedNamespaces"] == ["platform", "jobs"]


def test_no_namespaces_means_no_schedule() -> None:
    plan = plan_with("staging", {"backup": {"velero_namespaces": []}})
    assert not manifests_of_kind(plan, "Schedule") and "snapshots" not in plan.outputs


def test_bad_velero_cron_is_refused_with_the_key() -> None:
    from components.platform.config import ConfigError, parse_config
    from tests.plans import deep_merge, stack_values

    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), {"backup": {"velero_schedule": "hourly"}}))
    assert any(p.startswith("backup.velero_schedule: 'hourly' is not") for p in caught.value.problems)

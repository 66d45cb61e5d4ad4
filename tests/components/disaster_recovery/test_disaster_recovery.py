"""DisasterRecovery: RTO/RPO arithmetic on hand-checked cases, targets enforced at config time, and what
the plan declares (replication ordering, DR-region resources, failover records, database replica)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.disaster_recovery.component import promotion_command, replication_role_policy
from components.disaster_recovery.config import (
    DrSettings,
    HealthCheckSettings,
    recovery_bounds,
    recovery_target_problems,
)
from components.platform.config import ConfigError, parse_config
from offline.engine import PlanResult
from tests.plans import deep_merge, named, of_type, plan_of, plan_with, stack_values


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return plan_of("prod")


def _dr(interval: int, threshold: int, ttl: int, promotion: int, *, lag: int = 5, rtc: bool = True) -> DrSettings:
    return DrSettings.model_validate(
        {
            "region": "us-west-2",
            "dns_ttl_seconds": ttl,
            "health_check": {"interval_seconds": interval, "failure_threshold": threshold},
            "database": {"promotion_seconds": promotion, "replication_lag_bound_seconds": lag},
            "replication_time_control": rtc,
        }
    )


# Hand-checked: RTO = interval x threshold + TTL + promotion; RPO = max(lag bound, archive_timeout).
ARITHMETIC = [
    # interval, threshold, ttl, promotion, lag, wal, rto, rpo
    (10, 3, 60, 60, 5, 30, 150, 30),  # the seed/prod figures: 30 + 60 + 60
    (30, 3, 60, 120, 5, 30, 270, 30),  # 90 + 60 + 120
    (30, 10, 60, 60, 5, 30, 420, 30),  # 300 + 60 + 60: misses a 300 s target
    (10, 1, 1, 1, 90, 30, 12, 90),  # replica lag dominates the RPO
    (10, 2, 30, 45, 0, 60, 95, 60),  # WAL archive dominates
]


@pytest.mark.parametrize("case", ARITHMETIC)
def test_bounds_arithmetic(case: tuple[int, int, int, int, int, int, int, int]) -> None:
    interval, threshold, ttl, promotion, lag, wal, rto, rpo = case
    bounds = recovery_bounds(_dr(interval, threshold, ttl, promotion, lag=lag), wal)
    assert (bounds.rto_seconds, bounds.rpo_seconds) == (rto, rpo)
    assert bounds.detection_seconds == interval * threshold


def test_backup_copy_rpo_needs_replication_time_control() -> None:
    assert recovery_bounds(_dr(10, 3, 60, 60), 30).backup_copy_rpo_seconds == 30 + 15 * 60
    assert recovery_bounds(_dr(10, 3, 60, 60, rtc=False), 30).backup_copy_rpo_seconds is None


def test_targets_met_gives_no_problem() -> None:
    assert recovery_target_problems(_dr(10, 3, 60, 60), 30) == []
    slow = HealthCheckSettings(interval_seconds=30, failure_threshold=10)
    assert recovery_target_problems(DrSettings(enabled=False, health_check=slow), 3600) == []  # no DR, no bound


def test_prod_tuned_to_miss_rto_fails_naming_the_keys() -> None:
    values = deep_merge(
        stack_values("prod"), {"dr": {"health_check": {"interval_seconds": 30, "failure_threshold": 10}}}
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(values, "Pulumi.prod.yaml")
    (problem,) = [p for p in caught.value.problems if p.startswith("dr.rto_target_seconds:")]
    assert "420 s, above the target 300 s" in problem
    for key in (
        "dr.health_check.interval_seconds 30",
        "dr.health_check.failure_threshold 10",
        "dr.dns_ttl_seconds 60",
        "dr.database.promotion_seconds 60",
    ):
        assert key in problem


def test_prod_tuned_to_miss_rpo_fails_naming_the_keys() -> None:
    values = deep_merge(stack_values("prod"), {"backup": {"wal_archive_timeout_seconds": 300}})
    with pytest.raises(ConfigError) as caught:
        parse_config(values, "Pulumi.prod.yaml")
    (problem,) = [p for p in caught.value.problems if p.startswith("dr.rpo_target_seconds:")]
    assert "300 s, above the target 60 s" in problem
    assert "backup.wal_archive_timeout_seconds 300" in problem
    assert "replication_lag_bound_seconds" not in problem


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("dr region equals primary", {"dr": {"region": "us-east-1"}}, "dr.region: 'us-east-1' equals cloud.aws.region"),
    (
        "interval not offered",
        {"dr": {"health_check": {"interval_seconds": 20}}},
        "dr.health_check.interval_seconds: 20 is not allowed",
    ),
    ("ttl above 60", {"dr": {"dns_ttl_seconds": 300}}, "dr.dns_ttl_seconds: 300 is above the maximum 60"),
    (
        "threshold above 10",
        {"dr": {"health_check": {"failure_threshold": 11}}},
        "dr.health_check.failure_threshold: 11",
    ),
    ("record outside zone", {"dr": {"record_name": "app.other.org"}}, "dr.record_name: 'app.other.org' is not inside"),
    ("same targets", {"dr": {"secondary_target": "primary-lb.example.com"}}, "dr.secondary_target:"),
    (
        "dr without the s3 vault",
        # (the backup jobs then need their key from a Secret instead of KMS; set it so only our check fires)
        {"backup": {"aws": {"enabled": False}}, "backup_jobs": {"key": {"key_file_secret": "backup-key"}}},
        "dr.enabled: needs backup.aws.enabled",
    ),
    ("bad zone id", {"dr": {"hosted_zone_id": "example.com"}}, "dr.hosted_zone_id:"),
    ("unknown replica kind", {"dr": {"database": {"kind": "dynamo"}}}, "dr.database.kind: 'dynamo' is not allowed"),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_dr_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), changes), "Pulumi.prod.yaml")
    assert any(expected in p for p in caught.value.problems), f"{case}: {caught.value.problems}"


# --- the plan -----------------------------------------------------------------------------------------


def test_replication_waits_for_versioning_on_both_sides(prod: PlanResult) -> None:
    replication = named(prod, "dr-replication")
    depends = replication.options["dependsOn"]
    source_versioning = named(prod, "backup-s3-versioning").urn
    dr_versioning = named(prod, "dr-versioning").urn
    assert source_versioning in depends and dr_versioning in depends
    # Neither versioning resource feeds an input: the dependency is the explicit depends_on.
    assert not {"versioningConfiguration"} & set(replication.inputs)


def test_replication_rule(prod: PlanResult) -> None:
    replication = named(prod, "dr-replication").inputs
    (rule,) = replication["rules"]
    dest = rule["destination"]
    assert replication["bucket"] == prod.outputs["backup"]["aws"]["bucket"]
    assert dest["bucket"] == f"arn:aws:s3:::{prod.outputs['dr']['dr_bucket']}"
    assert dest["encryptionConfiguration"]["replicaKmsKeyId"].startswith("arn:aws:kms:us-west-2:")
    assert dest["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert dest["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
    assert rule["deleteMarkerReplication"] == {"status": "Disabled"}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}


def test_replica_bucket_is_locked_encrypted_and_in_the_dr_region(prod: PlanResult) -> None:
    dr_provider = named(prod, "aws-dr").urn
    for name in (
        "dr-bucket",
        "dr-key",
        "dr-versioning",
        "dr-object-lock",
        "dr-lifecycle",
        "dr-encryption",
        "dr-db-replica",
        "dr-db-replica-key",
    ):
        assert named(prod, name).provider == dr_provider, name
    for name in ("dr-replication", "dr-replication-role", "dr-db-primary", "dr-health-check"):
        assert named(prod, name).provider != dr_provider, name
    assert named(prod, "dr-bucket").inputs["objectLockEnabled"] is True
    assert named(prod, "dr-object-lock").inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 7}
    assert named(prod, "dr-key").inputs["enableKeyRotation"] is True


def test_replication_role_least_privilege() -> None:
    doc = replication_role_policy(
        "arn:aws:s3:::src", "arn:aws:s3:::dst", "k1", "k2", primary_region="us-east-1", dr_region="us-west-2"
    )
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "s3:ReplicateDelete" not in actions and not any("*" in a for a in actions)
    assert {"s3:GetObjectRetention", "s3:GetObjectLegalHold"} <= actions  # object-lock replication needs both


def test_health_check_and_failover_records(prod: PlanResult) -> None:
    check = named(prod, "dr-health-check").inputs
    assert (check["requestInterval"], check["failureThreshold"]) == (10, 3)
    assert (check["type"], check["fqdn"], check["resourcePath"], check["port"]) == (
        "HTTPS",
        "origin.example.com",
        "/healthz",
        443,
    )
    records = {
        r.inputs["failoverRoutingPolicies"][0]["type"]: r.inputs for r in of_type(prod, "aws:route53/record:Record")
    }
    assert set(records) == {"PRIMARY", "SECONDARY"}
    assert all(r["ttl"] <= 60 and r["name"] == "app.example.com" for r in records.values())
    assert records["PRIMARY"]["healthCheckId"] == prod.outputs["dr"]["health_check_id"]
    assert "healthCheckId" not in records["SECONDARY"]
    assert records["PRIMARY"]["zoneId"] == records["SECONDARY"]["zoneId"] == prod.outputs["dr"]["zone_id"]


def test_cross_region_rds_replica(prod: PlanResult) -> None:
    primary = named(prod, "dr-db-primary").inputs
    replica = named(prod, "dr-db-replica").inputs
    assert primary["storageEncrypted"] is True and primary["manageMasterUserPassword"] is True
    assert primary["backupRetentionPeriod"] >= 1  # a read replica needs automated backups on its source
    assert replica["replicateSourceDb"].startswith("arn:aws:rds:us-east-1:")
    assert replica["kmsKeyId"].startswith("arn:aws:kms:us-west-2:")
    assert prod.outputs["dr"]["replica_db_endpoint"].endswith(".us-west-2.rds.amazonaws.com")
    assert prod.outputs["dr"]["promotion_command"].startswith("aws rds promote-read-replica --region us-west-2")


def test_outputs_carry_the_bounds(prod: PlanResult) -> None:
    dr = prod.outputs["dr"]
    assert (dr["rto_seconds_bound"], dr["rpo_seconds_bound"]) == (150, 30)
    assert dr["bounds"]["detection_seconds"] == 30 and dr["bounds"]["backup_copy_rpo_seconds"] == 930


def test_declared_promotion_and_aurora_global() -> None:
    promoted = plan_with("prod", {"dr": {"database": {"promote": True}}})
    assert "replicateSourceDb" not in named(promoted, "dr-db-replica").inputs
    aurora = plan_with("prod", {"dr": {"database": {"kind": "aurora_global", "engine_version": "15.8"}}})
    global_cluster = named(aurora, "dr-db-global").inputs
    assert global_cluster["engine"] == "aurora-postgresql" and global_cluster["storageEncrypted"] is True
    secondary = named(aurora, "dr-db-replica")
    assert (
        secondary.inputs["globalClusterIdentifier"] == named(aurora, "dr-db-primary").inputs["globalClusterIdentifier"]
    )
    assert secondary.provider == named(aurora, "aws-dr").urn
    assert named(aurora, "dr-db-primary-1").urn in secondary.options["dependsOn"]
    assert "failover-global-cluster" in aurora.outputs["dr"]["promotion_command"]


def test_promotion_command_text() -> None:
    rds = DrSettings(region="eu-west-1")
    assert (
        promotion_command(rds, "db-1")
        == "aws rds promote-read-replica --region eu-west-1 --db-instance-identifier db-1"
    )
    assert json.dumps(promotion_command(rds, "db-1"))

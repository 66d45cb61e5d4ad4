"""DisasterRecovery: RTO/RPO arithmetic on hand-checked cases, targets enforced at config time, and what
the plan declares (replication ordering, DR-region resources, the Cloudflare failover, the failover
controller, database replica)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.disaster_recovery.component import promotion_command, replication_role_policy
from components.disaster_recovery.config import (
    DrSettings,
    HealthCheckSettings,
    edge_problems,
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
            "proxied": False,
            "dns_ttl_seconds": ttl,
            "health_check": {"interval_seconds": interval, "failure_threshold": threshold},
            "database": {"promotion_seconds": promotion, "replication_lag_bound_seconds": lag},
            "replication_time_control": rtc,
        }
    )


# Hand-checked: RTO = interval x threshold + TTL (unproxied) + promotion; RPO = max(lag bound, archive_timeout).
ARITHMETIC = [
    # interval, threshold, ttl, promotion, lag, wal, rto, rpo
    (10, 3, 60, 60, 5, 30, 150, 30),  # an unproxied hostname with the seed figures: 30 + 60 + 60
    (30, 3, 60, 120, 5, 30, 270, 30),  # 90 + 60 + 120
    (30, 10, 60, 60, 5, 30, 420, 30),  # 300 + 60 + 60: misses a 300 s target
    (10, 1, 30, 1, 90, 30, 41, 90),  # replica lag dominates the RPO
    (10, 2, 30, 45, 0, 60, 95, 60),  # WAL archive dominates
]


@pytest.mark.parametrize("case", ARITHMETIC)
def test_bounds_arithmetic(case: tuple[int, int, int, int, int, int, int, int]) -> None:
    interval, threshold, ttl, promotion, lag, wal, rto, rpo = case
    bounds = recovery_bounds(_dr(interval, threshold, ttl, promotion, lag=lag), wal)
    assert (bounds.rto_seconds, bounds.rpo_seconds) == (rto, rpo)
    assert bounds.detection_seconds == interval * threshold


def test_proxied_hostname_has_no_ttl_term() -> None:
    proxied = DrSettings.model_validate({**_dr(10, 3, 60, 60).model_dump(), "proxied": True})
    bounds = recovery_bounds(proxied, 30)
    assert (bounds.ttl_seconds, bounds.rto_seconds) == (0, 90)


def test_edge_needs_a_cloudflare_zone_on_a_plan_that_probes_that_often() -> None:
    dr = DrSettings.model_validate({**_dr(10, 3, 60, 60).model_dump(), "cloudflare_account_id": "a" * 32})
    enterprise = [("example.com", "z" * 32, "enterprise")]
    assert edge_problems(dr, enterprise, cdn_enabled=True) == []
    (problem,) = edge_problems(dr, [("example.com", "z" * 32, "business")], cdn_enabled=True)
    assert problem.startswith("dr.health_check.interval_seconds: 10 is below the 15 s minimum")
    (problem,) = edge_problems(dr, enterprise, cdn_enabled=False)
    assert "needs cdn.enabled" in problem


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
    assert "330 s, above the target 300 s" in problem  # 30 x 10 + 0 (proxied) + 30 (standby promotion)
    for key in (
        "dr.health_check.interval_seconds 30",
        "dr.health_check.failure_threshold 10",
        "DNS TTL 0 (dr.dns_ttl_seconds, 0 when dr.proxied)",
        "dr.database.promotion_seconds 30",
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
        "interval below the monitor minimum",
        {"dr": {"health_check": {"interval_seconds": 5}}},
        "dr.health_check.interval_seconds: 5 is below the minimum 10",
    ),
    ("ttl below cloudflare's", {"dr": {"dns_ttl_seconds": 20}}, "dr.dns_ttl_seconds: 20 is below the minimum 30"),
    (
        "threshold above 10",
        {"dr": {"health_check": {"failure_threshold": 11}}},
        "dr.health_check.failure_threshold: 11",
    ),
    (
        "hostname outside the cloudflare zones",
        {"dr": {"record_name": "app.other.org"}},
        "dr.record_name: 'app.other.org' is in none of cdn.zones",
    ),
    ("same targets", {"dr": {"secondary_target": "primary-lb.example.com"}}, "dr.secondary_target:"),
    (
        "dr without the s3 vault",
        # (the backup jobs then need their key from a Secret instead of KMS; set it so only our check fires)
        {"backup": {"aws": {"enabled": False}}, "backup_jobs": {"key": {"key_file_secret": "backup-key"}}},
        "dr.enabled: needs backup.aws.enabled",
    ),
    ("no cloudflare account", {"dr": {"cloudflare_account_id": None}}, "dr.cloudflare_account_id: required"),
    (
        "auto promotion that cannot tell an app crash",
        {"dr": {"controller": {"subnet_ids": [], "security_group_ids": []}}},
        "dr.controller.subnet_ids: auto_promote needs the controller to reach the primary database",
    ),
    ("a route 53 key that is gone", {"dr": {"hosted_zone_id": "Z123"}}, "dr.hosted_zone_id"),
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
        "dr-standby-volumes",
        "dr-standby-dsn",
    ):
        assert named(prod, name).provider == dr_provider, name
    for name in ("dr-replication", "dr-replication-role"):
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


def test_one_dns_authority_cloudflare_load_balancer(prod: PlanResult) -> None:
    assert not of_type(prod, "aws:route53/zone:Zone") and not of_type(prod, "aws:route53/record:Record")
    monitor = named(prod, "dr-monitor").inputs
    assert (monitor["interval"], monitor["consecutiveDown"], monitor["retries"]) == (10, 3, 0)
    assert (monitor["type"], monitor["path"], monitor["header"]) == (
        "https",
        "/healthz",
        {"Host": ["origin.example.com"]},
    )
    pools = {role: named(prod, f"dr-pool-{role}").inputs for role in ("primary", "dr")}
    assert pools["primary"]["origins"][0]["address"] == "primary-lb.example.com"
    assert pools["dr"]["origins"][0]["address"] == "dr-lb.example.com"  # the DR endpoint, declared from config
    assert all(p["monitor"] == prod.outputs["dr"]["health_check_id"] for p in pools.values())
    balancer = named(prod, "dr-load-balancer").inputs
    lb = prod.outputs["dr"]["load_balancer"]
    assert balancer["name"] == "app.example.com" and balancer["proxied"] is True
    assert balancer["zoneId"] == prod.outputs["dr"]["zone_id"] == stack_values("prod")["cdn"]["zones"][0]["zone_id"]
    assert balancer["defaultPools"] == [lb["pool_ids"]["primary"], lb["pool_ids"]["dr"]]
    assert balancer["fallbackPool"] == lb["pool_ids"]["dr"] and balancer["steeringPolicy"] == "off"
    notification = named(prod, "dr-pool-health").inputs
    assert notification["alertType"] == "load_balancing_health_alert"
    assert sorted(notification["filters"]["poolIds"]) == sorted(lb["pool_ids"].values())
    (webhook_ref,) = notification["mechanisms"]["webhooks"]
    assert isinstance(webhook_ref["id"], str) and webhook_ref["id"]
    webhook = named(prod, "dr-webhook").inputs
    assert webhook["url"].startswith("https://") and webhook["secret"]  # the controller's function URL


def test_dr_traffic_weight_steers_a_share_to_the_dr_pool() -> None:
    weighted = plan_with("prod", {"dr": {"dr_traffic_weight": 0.1}})
    balancer = named(weighted, "dr-load-balancer").inputs
    pools = weighted.outputs["dr"]["load_balancer"]["pool_ids"]
    assert balancer["steeringPolicy"] == "random"
    assert balancer["randomSteering"]["poolWeights"] == {pools["primary"]: 0.9, pools["dr"]: 0.1}


def test_controller_runs_in_the_dr_region_with_the_exported_numbers(prod: PlanResult) -> None:
    from functions.dr.bounds import rto_bound
    from functions.dr.config import parse_config as parse_controller_config

    dr_provider = named(prod, "aws-dr").urn
    for name in ("dr-controller", "dr-controller-lease", "dr-writer-endpoint", "dr-events", "dr-controller-schedule"):
        assert named(prod, name).provider == dr_provider, name
    function = named(prod, "dr-controller").inputs
    assert function["handler"] == "functions.dr.handler.lambda_handler"
    assert function["code"] == {"archive": "build/lambda/dr-controller-arm64.zip"}
    config = parse_controller_config(json.loads(function["environment"]["variables"]["DR_CONFIG_JSON"]), "plan")
    bounds = prod.outputs["dr"]["bounds"]
    assert (config.health.interval_seconds, config.health.failure_threshold) == (
        bounds["interval_seconds"],
        bounds["failure_threshold"],
    )
    assert config.dns_ttl_seconds == bounds["ttl_seconds"] == 0
    assert config.database.promotion_budget_seconds == bounds["promotion_seconds"]
    exported = rto_bound(
        interval_seconds=bounds["interval_seconds"],
        failure_threshold=bounds["failure_threshold"],
        dns_ttl_seconds=bounds["ttl_seconds"],
        promotion_budget_seconds=bounds["promotion_seconds"],
    )
    assert exported.seconds == prod.outputs["dr"]["rto_seconds_bound"] == 60
    assert config.auto_promote is True and config.database.kind == "postgres"
    assert config.health.primary_database == prod.outputs["dr"]["primary_db_endpoint"]
    controller = prod.outputs["dr"]["controller"]
    assert config.publish.ssm_parameter == controller["writer_parameter"] == "/platform/prod/db/writer-endpoint"
    assert config.lock.table == controller["lease_table"]
    assert named(prod, "dr-writer-endpoint").options.get("ignoreChanges") == ["value"]
    variables = function["environment"]["variables"]
    assert set(variables) == {"DR_CONFIG_JSON", "DR_WEBHOOK_SECRET_PARAMETER"}  # the secret itself is not there
    assert named(prod, "dr-webhook-secret-parameter").inputs["type"] == "SecureString"


def test_controller_events_reach_on_call_and_a_silent_controller_alarms(prod: PlanResult) -> None:
    dr_provider = named(prod, "aws-dr").urn
    subscriptions = [
        r for r in of_type(prod, "aws:sns/topicSubscription:TopicSubscription") if r.name.startswith("dr-")
    ]
    assert subscriptions, "the events topic has no subscriber: held promotions would reach nobody"
    topic_arn = prod.outputs["dr"]["controller"]["events_topic_arn"]
    assert all(s.inputs["topic"] == topic_arn and s.provider == dr_provider for s in subscriptions)
    silent = named(prod, "dr-controller-silent").inputs
    assert (silent["metricName"], silent["treatMissingData"], silent["namespace"]) == (
        "dr_controller_primary_up",
        "breaching",
        "Platform/DR",
    )
    assert silent["dimensions"] == {"DatabaseId": "dr"}
    errors = named(prod, "dr-controller-errors").inputs
    assert errors["dimensions"] == {"FunctionName": prod.outputs["dr"]["controller"]["function_name"]}
    for alarm in (silent, errors):
        assert alarm["alarmActions"] == [topic_arn]


def test_controller_policy_names_its_resources() -> None:
    from components.disaster_recovery.controller import controller_role_policy

    doc = controller_role_policy(
        table_arn="t",
        parameter_arn="p",
        secret_parameter_arn="w",
        topic_arn="s",
        log_group_arn="l",
        promote_actions=["rds:PromoteReadReplica"],
        promote_resources=["db"],
    )
    for statement in doc["Statement"]:
        if statement["Resource"] == "*":
            assert statement["Action"] == ["cloudwatch:PutMetricData"] and "Condition" in statement
        assert not any(a.endswith("*") for a in statement["Action"])


KEEP_RDS = {"dr": {"database": {"kind": "rds_replica", "primary_endpoint": None, "standby_endpoint": None}}}
"""Prod's dr section as a stack that keeps RDS declares it (kind rds_replica, no standby endpoints)."""


@pytest.fixture(scope="module")
def prod_rds() -> PlanResult:
    return plan_with("prod", KEEP_RDS)


def test_cross_region_rds_replica(prod_rds: PlanResult) -> None:
    prod = prod_rds
    assert named(prod, "dr-db-replica").provider == named(prod, "aws-dr").urn
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
    # RTO 10 x 3 + 0 (proxied) + 30 (standby promotion); RPO: the worst failure, archive_timeout 30 + push bound 10
    assert (dr["rto_seconds_bound"], dr["rpo_seconds_bound"]) == (60, 40)
    assert dr["bounds"]["detection_seconds"] == 30 and dr["bounds"]["backup_copy_rpo_seconds"] == 940


def test_declared_promotion_and_aurora_global() -> None:
    promoted = plan_with("prod", deep_merge(KEEP_RDS, {"dr": {"database": {"promote": True}}}))
    assert "replicateSourceDb" not in named(promoted, "dr-db-replica").inputs
    aurora = plan_with("prod", deep_merge(KEEP_RDS, {"dr": {"database": {"kind": "aurora_global"}}}))
    global_cluster = named(aurora, "dr-db-global").inputs
    assert global_cluster["engine"] == "aurora-postgresql" and global_cluster["storageEncrypted"] is True
    secondary = named(aurora, "dr-db-replica")
    assert (
        secondary.inputs["globalClusterIdentifier"] == named(aurora, "dr-db-primary").inputs["globalClusterIdentifier"]
    )
    assert secondary.provider == named(aurora, "aws-dr").urn
    assert named(aurora, "dr-db-primary-1").urn in secondary.options["dependsOn"]
    assert "failover-global-cluster" in aurora.outputs["dr"]["promotion_command"]
    from functions.dr.config import parse_config as parse_controller_config

    variables = named(aurora, "dr-controller").inputs["environment"]["variables"]
    database = parse_controller_config(json.loads(variables["DR_CONFIG_JSON"]), "plan").database
    assert database.kind == "aurora_global"
    assert (database.target_cluster_arn or "").startswith("arn:aws:rds:us-west-2:")


def test_promotion_command_text() -> None:
    rds = DrSettings(region="eu-west-1")
    assert (
        promotion_command(rds, "db-1")
        == "aws rds promote-read-replica --region eu-west-1 --db-instance-identifier db-1"
    )
    assert json.dumps(promotion_command(rds, "db-1"))

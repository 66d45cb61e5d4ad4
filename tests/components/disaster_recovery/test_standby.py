"""The warm standby as prod's plan declares it: the database package's objects in the DR cluster, its restore
and bootstrap from the copies that survive the primary region, the controller pointed at it, config errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.platform.config import ConfigError, parse_config
from offline.engine import PlanResult
from tests.plans import deep_merge, named, plan_of, stack_values


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return plan_of("prod")


STANDBY_K8S = (
    "dr-standby",
    "dr-standby-config",
    "dr-standby-wal-archive",
    "dr-standby-credentials",
    "dr-standby-rw",
    "dr-standby-headless",
    "dr-standby-sa",
    "dr-standby-tls",
    "dr-standby-storage",
    "dr-standby-gcp-credentials",
)


def test_every_standby_object_goes_to_the_dr_cluster(prod: PlanResult) -> None:
    dr_cluster = named(prod, "kubernetes-dr")
    assert dr_cluster.inputs["context"] == "prod-dr" and dr_cluster.inputs["namespace"] == "platform"
    assert dr_cluster.parent == named(prod, "dr").urn  # owned by the DR component, like aws-dr
    for name in STANDBY_K8S:
        assert named(prod, name).provider == dr_cluster.urn, name
    primary_cluster = named(prod, "database-primary").provider
    assert primary_cluster != dr_cluster.urn
    assert named(prod, "dr-standby-volumes").provider == named(prod, "aws-dr").urn


def test_the_standby_runs_the_primarys_server_configuration(prod: PlanResult) -> None:
    primary = named(prod, "database-config").inputs["data"]
    standby = named(prod, "dr-standby-config").inputs["data"]
    # Hot standby refuses lower max_wal_senders/max_connections than its primary's: the same file, byte for byte.
    assert standby["postgresql.conf"] == primary["postgresql.conf"]
    assert standby["pg_hba.conf"] == primary["pg_hba.conf"]
    assert "hot_standby = on" in standby["postgresql.conf"]
    assert "include_if_exists = '/etc/postgresql/conf.d/backup-archive.conf'" in standby["postgresql.conf"]
    assert "init-roles.sh" not in standby  # roles come with the base backup


def test_restore_reads_azure_and_gcs_with_keys_outside_aws(prod: PlanResult) -> None:
    fragment = named(prod, "dr-standby-wal-archive").inputs["data"]["backup-archive.conf"]
    restore = next(line for line in fragment.splitlines() if line.startswith("restore_command"))
    assert " wal-fetch %f %p " in restore
    assert "--target azblob://" in restore and "--target gs://" in restore and "s3://" not in restore
    assert "--gcp-kms-key projects/" in restore and "--kms-key-id" not in restore
    assert "recovery_target_timeline = 'latest'" in fragment
    archive = next(line for line in fragment.splitlines() if line.startswith("archive_command"))
    assert "wal-push %p" in archive and "s3://" not in archive
    entry = named(prod, "dr-standby-config").inputs["data"]["standby-entrypoint.sh"]
    assert 'if [ ! -s "$PGDATA/PG_VERSION" ]' in entry
    assert "functions.backup restore --class db --kind base" in entry
    assert 'touch "$PGDATA.tmp/standby.signal"' in entry


def test_the_pod_is_the_database_packages_with_the_standby_entrypoint_and_identity(prod: PlanResult) -> None:
    spec = named(prod, "dr-standby").inputs["spec"]
    pod = spec["template"]["spec"]
    postgres = next(c for c in pod["containers"] if c["name"] == "postgres")
    assert postgres["command"] == ["sh", "/etc/postgresql/platform/standby-entrypoint.sh"]
    assert not any("docker-entrypoint-initdb.d" in m["mountPath"] for m in postgres["volumeMounts"])
    assert {c["name"] for c in pod["containers"]} == {"postgres", "exporter"}
    assert pod["serviceAccountName"] == "backup-wal-archiver" and pod["automountServiceAccountToken"] is True
    env = {e["name"] for e in postgres["env"]}
    assert {"AZURE_CLIENT_ID", "GOOGLE_APPLICATION_CREDENTIALS"} <= env
    assert not any(name.startswith("AWS_") for name in env)
    assert spec["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "platform-database-encrypted"
    assert named(prod, "dr-standby-storage").inputs["parameters"]["encrypted"] == "true"
    gcp = named(prod, "dr-standby-gcp-provider").inputs
    assert gcp["oidc"]["issuerUri"] == stack_values("prod")["dr"]["kubernetes"]["oidc_issuer_url"]
    assert gcp["workloadIdentityPoolProviderId"] == "cluster-oidc-dr"
    assert named(prod, "dr-standby-federated").inputs["subject"] == "system:serviceaccount:platform:backup-wal-archiver"


def test_the_controller_promotes_the_standby_through_its_dsn_secrets(prod: PlanResult) -> None:
    from functions.dr.config import PostgresDatabase
    from functions.dr.config import parse_config as parse_controller_config

    variables = named(prod, "dr-controller").inputs["environment"]["variables"]
    config = parse_controller_config(json.loads(variables["DR_CONFIG_JSON"]), "plan")
    database = config.database
    assert isinstance(database, PostgresDatabase)
    dr = stack_values("prod")["dr"]["database"]
    assert database.writer_endpoint == dr["standby_endpoint"] == prod.outputs["dr"]["replica_db_endpoint"]
    assert config.health.primary_database == dr["primary_endpoint"]
    assert database.standby_dsn_secret and database.primary_dsn_secret
    assert database.promotion_budget_seconds == 30 == prod.outputs["dr"]["bounds"]["promotion_seconds"]
    policy = json.loads(named(prod, "dr-controller-policy").inputs["policy"])
    promote = next(s for s in policy["Statement"] if s["Sid"] == "Promote")
    assert promote["Action"] == ["secretsmanager:GetSecretValue"] and len(promote["Resource"]) == 2
    assert "failover --scenario region --confirm" in prod.outputs["dr"]["promotion_command"]


def test_a_standby_that_stops_replaying_alarms(prod: PlanResult) -> None:
    alarm = named(prod, "dr-controller-standby-stale")
    assert alarm.provider == named(prod, "aws-dr").urn
    inputs = alarm.inputs
    assert (inputs["metricName"], inputs["namespace"], inputs["dimensions"]) == (
        "dr_controller_standby_replay_age_seconds",
        "Platform/DR",
        {"DatabaseId": "dr"},
    )
    # one controller run 60 + archive_timeout 30 + push bound 10 + restore retry 5 + alerted lag 5
    assert (inputs["threshold"], inputs["evaluationPeriods"], inputs["period"]) == (110, 5, 60)
    assert inputs["alarmActions"] == [prod.outputs["dr"]["controller"]["events_topic_arn"]]


def _problems(changes: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(deep_merge(stack_values("prod"), changes), "Pulumi.prod.yaml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"dr": {"kubernetes": {"context": None}}}, "dr.kubernetes.context: required with database.kind"),
        ({"dr": {"kubernetes": {"oidc_issuer_url": None}}}, "dr.kubernetes.oidc_issuer_url: required"),
        ({"dr": {"database": {"standby_endpoint": None}}}, "dr.database.standby_endpoint: required with kind"),
        (
            {"dr": {"controller": {"subnet_ids": None, "security_group_ids": None}}},
            "dr.controller.subnet_ids: required with database.kind postgres_standby",
        ),
        ({"dr": {"database": {"primary_endpoint": "Not A Host"}}}, "dr.database.primary_endpoint"),
        ({"dr": {"database": {"promote": True}}}, "promoted by the failover controller"),
        ({"dr": {"database": {"promotion_seconds": 2}}}, "below replication_lag_bound_seconds 5"),
        ({"dr": {"database": {"kind": "rds_replica"}}}, "only with kind postgres_standby"),
        ({"database": None}, "dr.database.kind: postgres_standby copies the self-managed database"),
        (
            {"backup_jobs": {"wal_archive": {"mode": "rds"}}, "database": {"allow_no_wal_archive": True}},
            "backup_jobs.wal_archive.mode is rds; set it to archive_command",
        ),
        ({"backup": {"azure": {"enabled": False}, "gcs": {"enabled": False}}}, "enable backup.azure or backup.gcs"),
        ({"dr": {"kubernetes": {"context": "prod"}}}, "is the primary cluster's (cloud.kubernetes.context)"),
    ],
)
def test_config_errors_name_the_key(changes: dict[str, Any], expected: str) -> None:
    problems = _problems(changes)
    assert any(expected in p for p in problems), problems

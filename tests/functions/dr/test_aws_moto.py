"""The controller's AWS calls against moto's server (real AWS wire protocol on loopback): the DynamoDB lease
and record, SSM and Secrets Manager publication, SNS events, CloudWatch metrics, RDS promotion and the CLI
wired end to end. Aurora's ``failover_global_cluster`` is not implemented by moto: checked with botocore's
Stubber against the service model instead."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from functions.dr.backends import RdsBackend
from functions.dr.cli import run
from functions.dr.clock import SimClock
from functions.dr.config import RdsDatabase
from functions.dr.errors import DrError, LockHeldError
from functions.dr.events import Events
from functions.dr.lease import Lease
from functions.dr.metrics import Metrics
from functions.dr.publish import Endpoint, Publisher
from tests.functions.dr.conftest import Moto, make_config

pytestmark = pytest.mark.real


def _lease(moto: Moto, table: str, owner: str, clock: SimClock) -> Lease:
    return Lease(moto.client("dynamodb"), table, "prod-main", owner=owner, lease_seconds=600, clock=clock)


def test_lease_is_exclusive_until_it_expires(moto: Moto) -> None:
    table, clock = moto.table(), SimClock()
    first, second = _lease(moto, table, "a", clock), _lease(moto, table, "b", clock)
    first.acquire()
    first.acquire()  # the holder may renew
    with pytest.raises(LockHeldError, match="held by a until"):
        second.acquire()
    second.release()  # not the holder: nothing happens
    assert first.holder() is not None and first.holder()["owner"] == "a"  # type: ignore[index]
    clock.advance(601)
    second.acquire()  # a crashed holder's lease expired
    with pytest.raises(LockHeldError, match="held by b"):
        first.acquire()
    second.release()
    first.acquire()


def test_record_round_trip_and_missing_table(moto: Moto) -> None:
    clock = SimClock()
    lease = _lease(moto, moto.table(), "a", clock)
    assert lease.record() is None
    lease.write_record({"status": "promoted", "writer_endpoint": "db:5432", "rto_seconds": 85.5})
    assert lease.record() == {
        "id": "failover#prod-main",
        "status": "promoted",
        "writer_endpoint": "db:5432",
        "rto_seconds": "85.5",
    }
    assert lease.clear_record() is True and lease.record() is None and lease.clear_record() is False
    assert lease.probe_state() is None
    lease.save_probe_state(2, 1_750_000_010.5, 1_750_000_020.25)
    assert lease.probe_state() == {
        "consecutive": 2.0,
        "first_failure_wall": 1_750_000_010.5,
        "last_probe_wall": 1_750_000_020.25,
    }
    with pytest.raises(DrError, match="does not exist"):
        _lease(moto, "no-such-table", "a", clock).acquire()


def test_publication_moves_host_and_port_and_keeps_credentials(moto: Moto) -> None:
    parameter = f"/platform/test/{uuid.uuid4().hex[:6]}/db-writer"
    moto.client("ssm").put_parameter(Name=parameter, Value="db-rw.primary:5432", Type="String")
    secret = moto.secret(json.dumps({"host": "db-rw.primary", "port": 5432, "username": "app", "password": "pw"}))
    config = make_config(publish={"ssm_parameter": parameter, "secret_id": secret})
    publisher = Publisher(config.publish, ssm=moto.client("ssm"), secrets=moto.client("secretsmanager"))
    assert publisher.current() == {"ssm": "db-rw.primary:5432", "secret": "db-rw.primary:5432"}
    changed = publisher.publish(Endpoint("db-rw.dr", 6432))
    assert changed == [f"ssm:{parameter}", f"secret:{secret}"]
    assert moto.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"] == "db-rw.dr:6432"
    doc = json.loads(moto.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])
    assert doc == {"host": "db-rw.dr", "port": 6432, "username": "app", "password": "pw"}
    assert publisher.publish(Endpoint("db-rw.dr", 6432)) == [], "publishing the same endpoint changes nothing"


def test_missing_secret_is_a_clear_error(moto: Moto) -> None:
    config = make_config(publish={"secret_id": "does-not-exist"})
    with pytest.raises(DrError, match=r"publish\.secret_id: secret 'does-not-exist' does not exist"):
        Publisher(config.publish, secrets=moto.client("secretsmanager")).publish(Endpoint("h", 1))


def test_events_reach_sns_subscribers_and_metrics_reach_cloudwatch(moto: Moto) -> None:
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic = sns.create_topic(Name=f"dr-events-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"oncall-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    clock = SimClock()
    events = Events(clock, "prod-main", stream=io.StringIO(), sns=sns, topic_arn=topic)
    events.emit("probe_failed", consecutive=1)  # not notified
    events.emit("failover_finished", "critical", notify=True, writer="db-rw.dr:5432")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert body["event"] == "failover_finished" and body["writer"] == "db-rw.dr:5432"

    namespace = f"Platform/DR/{uuid.uuid4().hex[:6]}"
    cloudwatch = moto.client("cloudwatch")
    metrics = Metrics("prod-main", cloudwatch=cloudwatch, namespace=namespace)
    metrics.send({"dr_controller_rto_seconds": 85.0, "dr_controller_promoted": 1.0}, clock.wall())
    listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert {m["MetricName"] for m in listed} == {"dr_controller_rto_seconds", "dr_controller_promoted"}
    assert all(m["Dimensions"] == [{"Name": "DatabaseId", "Value": "prod-main"}] for m in listed)
    assert metrics.warnings == []


def test_sns_outage_is_a_warning_not_an_abort(moto: Moto) -> None:
    events = Events(
        SimClock(),
        "prod-main",
        stream=io.StringIO(),
        sns=moto.client("sns"),
        topic_arn="arn:aws:sns:us-west-2:123456789012:missing",
    )
    events.emit("failover_finished", notify=True)
    assert events.warnings and "sns publish" in events.warnings[0]


def _rds_pair(moto: Moto) -> tuple[str, str]:
    rds = moto.client("rds")
    primary, replica = f"prod-{uuid.uuid4().hex[:6]}", f"dr-{uuid.uuid4().hex[:6]}"
    rds.create_db_instance(
        DBInstanceIdentifier=primary,
        Engine="postgres",
        DBInstanceClass="db.r6g.large",
        AllocatedStorage=100,
        MasterUsername="platform_admin",
        MasterUserPassword="not-a-real-password",
    )
    rds.create_db_instance_read_replica(DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=primary)
    return primary, replica


def test_rds_backend_promotes_the_replica(moto: Moto) -> None:
    _, replica = _rds_pair(moto)
    backend = RdsBackend(RdsDatabase(replica_id=replica), "prod-main", moto.client("rds"))
    assert backend.status().role == "standby"
    assert backend.writer_endpoint().host.startswith(replica)
    backend.promote()
    ok, why = backend.writable()
    assert ok and "available" in why
    with pytest.raises(DrError, match="not found"):
        RdsBackend(RdsDatabase(replica_id="missing-replica"), "prod-main", moto.client("rds")).status()


def test_cli_fails_over_an_rds_replica_end_to_end(
    moto: Moto, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`failover --confirm` through the CLI with the config file: lease, promote, publish, record; the second
    run is a no-op although moto still shows the replica's source (the record decides)."""
    from pathlib import Path

    _, replica = _rds_pair(moto)
    parameter = f"/platform/test/{uuid.uuid4().hex[:6]}/db-writer"
    secret = moto.secret(json.dumps({"host": "old", "port": 5432, "username": "app", "password": "pw"}))
    table = moto.table()
    config = make_config(
        auto_promote=False,
        # nothing listens on port 9 of loopback: the primary "region" is gone
        health={"interval_seconds": 2, "failure_threshold": 2, "timeout_seconds": 1, "primary_database": "127.0.0.1:9"},
        database={"kind": "rds_replica", "replica_id": replica, "promotion_budget_seconds": 30, "poll_seconds": 0.2},
        publish={"ssm_parameter": parameter, "secret_id": secret},
        lock={"table": table, "owner": "cli-test"},
    ).model_dump(mode="json")
    path = Path(str(tmp_path)) / "dr.json"
    path.write_text(json.dumps(config))

    code, result = run(["--config", str(path), "failover", "--scenario", "region"])
    assert code == 3 and result["action"] == "held", result
    code, result = run(["--config", str(path), "failover", "--scenario", "region", "--confirm"])
    assert code == 0 and result["action"] == "promoted", result
    writer = result["writer"]
    assert writer.startswith(replica) and writer.endswith(":5432")
    assert moto.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"] == writer
    assert "not supported for RDS" in result["fence"]
    code, again = run(["--config", str(path), "failover", "--scenario", "region", "--confirm"])
    assert code == 0 and again["action"] == "already_promoted" and again["republished"] == []
    code, status = run(["--config", str(path), "status"])
    assert code == 0 and status["failover_record"]["status"] == "promoted" and status["lock"] is None
    assert status["primary"]["up"] is False
    code, reset = run(["--config", str(path), "reset", "--confirm"])
    assert code == 0 and reset == {"cleared": True}


def test_aurora_global_failover_request_matches_the_service_model() -> None:
    import boto3
    from botocore.stub import Stubber

    rds = boto3.client("rds", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="y")
    settings = RdsDatabase(
        kind="aurora_global",
        replica_id="dr-cluster",
        global_cluster_id="platform-global",
        target_cluster_arn="arn:aws:rds:us-west-2:123456789012:cluster:dr-cluster",
    )
    backend = RdsBackend(settings, "prod-main", rds)
    member = {"DBClusterArn": settings.target_cluster_arn, "IsWriter": True}
    with Stubber(rds) as stub:
        stub.add_response(
            "failover_global_cluster",
            {"GlobalCluster": {"GlobalClusterIdentifier": "platform-global"}},
            {
                "GlobalClusterIdentifier": "platform-global",
                "TargetDbClusterIdentifier": settings.target_cluster_arn,
                "AllowDataLoss": True,
            },
        )
        stub.add_response("describe_global_clusters", {"GlobalClusters": [{"GlobalClusterMembers": [member]}]})
        stub.add_response(
            "describe_db_clusters", {"DBClusters": [{"Status": "available", "Endpoint": "dr.cluster", "Port": 5432}]}
        )
        backend.promote()
        assert backend.writable() == (True, "available (no write check: database.writable_dsn_env not set)")
        stub.assert_no_pending_responses()


def test_connection_strings_from_secrets_manager(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Lambda environment holds no password: the standby's and the old primary's connections come from
    secrets (a URL, or RDS-style JSON) and win over the environment variables."""
    from psycopg.conninfo import conninfo_to_dict

    from functions.dr.backends import PostgresBackend, secret_dsn
    from functions.dr.config import PostgresDatabase
    from functions.dr.errors import UsageError

    secrets = moto.client("secretsmanager")
    as_json = moto.secret(json.dumps({"host": "db-rw.dr", "port": 5433, "username": "dr", "password": "p w'x"}))
    as_url = moto.secret("postgresql://fence@db-rw.primary:5432/postgres")
    parsed = conninfo_to_dict(secret_dsn(secrets, as_json, "standby_dsn_secret"))
    assert parsed == {"host": "db-rw.dr", "port": "5433", "user": "dr", "password": "p w'x", "dbname": "postgres"}
    monkeypatch.setenv("DR_STANDBY_DSN", "postgresql://ignored@elsewhere/postgres")
    settings = PostgresDatabase(writer_endpoint="db-rw.dr:5433", standby_dsn_secret=as_json, primary_dsn_secret=as_url)
    backend = PostgresBackend(settings, "prod-main", secrets=secrets)
    assert conninfo_to_dict(backend.standby_dsn)["host"] == "db-rw.dr"
    assert backend.primary_dsn == "postgresql://fence@db-rw.primary:5432/postgres"
    with pytest.raises(DrError, match="cannot read secret 'missing'"):
        secret_dsn(secrets, "missing", "standby_dsn_secret")
    with pytest.raises(UsageError, match="neither a postgresql:// URL nor JSON"):
        secret_dsn(secrets, moto.secret("just words"), "standby_dsn_secret")

"""The failover controller (``functions/dr``) deployed in the DR region: a Lambda function that probes the
primary every ``health_check.interval_seconds`` (an EventBridge schedule starts a one-minute ``watch`` run that
carries the failure count across runs), confirms Cloudflare's pool-health webhook from the DR side, promotes
the replica, and moves the writer endpoint in an SSM parameter.

Everything it needs lives in the DR region (lease table, parameter, events topic, logs), so losing the primary
region takes none of it away. Pure builders (:func:`controller_config`, :func:`controller_role_policy`) are
tested without an engine; :func:`declare_controller` creates the resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from components.disaster_recovery.config import DrSettings

HANDLER = "functions.dr.handler.lambda_handler"
RUNTIME = "python3.12"
METRICS_NAMESPACE = "Platform/DR"
SCHEDULE = "rate(1 minute)"
LAMBDA_MAX_TIMEOUT = 900


def endpoint_host(endpoint: str) -> str:
    """The host of an RDS endpoint (instances' ``endpoint`` carries ``:port``, ``address`` and clusters' do not)."""
    host, _, port = endpoint.rpartition(":")
    return host if host and port.isdigit() else endpoint


def host_port(endpoint: str) -> str:
    """``host:port`` of an endpoint: an RDS ``address`` (no port) gets PostgreSQL's 5432, a ``host:port`` (RDS
    instance ``endpoint``, or ``dr.database.primary_endpoint``) keeps its own."""
    host, _, port = endpoint.rpartition(":")
    return endpoint if host and port.isdigit() else f"{endpoint}:5432"


def function_timeout(dr: DrSettings) -> int:
    """A one-minute watch run, then a whole promotion budget, plus margin; Lambda allows 900 s at most."""
    return min(LAMBDA_MAX_TIMEOUT, 60 + dr.database.promotion_seconds + 60)


def controller_config(
    dr: DrSettings,
    *,
    database_id: str,
    database: dict[str, Any],
    primary_database: str | None,
    lock_table: str,
    topic_arn: str,
) -> dict[str, Any]:
    """The controller's config document (``$DR_CONFIG_JSON``): the same numbers the stack exports."""
    hc = dr.health_check
    health: dict[str, Any] = {
        "interval_seconds": hc.interval_seconds,
        "failure_threshold": hc.failure_threshold,
        "timeout_seconds": hc.timeout_seconds,
        "primary_url": f"https://{dr.primary_target}:{hc.port}{hc.path}",
    }
    if primary_database is not None:
        health["primary_database"] = primary_database
    return {
        "auto_promote": dr.auto_promote,
        "region": dr.region,
        "database_id": database_id,
        "health": health,
        "database": {**database, "promotion_budget_seconds": dr.database.promotion_seconds},
        "publish": {"ssm_parameter": dr.controller.writer_parameter},
        "lock": {"table": lock_table, "lease_seconds": dr.controller.lease_seconds},
        "metrics": {"cloudwatch_namespace": METRICS_NAMESPACE, "sns_topic_arn": topic_arn},
        "dns_ttl_seconds": dr.rto_ttl_seconds,
        "rto_target_seconds": dr.rto_target_seconds,
    }


def controller_role_policy(
    *,
    table_arn: str,
    parameter_arn: str,
    secret_parameter_arn: str,
    topic_arn: str,
    log_group_arn: str,
    promote_actions: list[str],
    promote_resources: list[str],
) -> dict[str, Any]:
    """Exactly what the controller calls, on its own resources; PutMetricData is unscoped by AWS (namespace
    condition instead)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Lease",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                "Resource": [table_arn],
            },
            {
                "Sid": "WriterEndpoint",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                "Resource": [parameter_arn],
            },
            {
                "Sid": "WebhookSecret",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": [secret_parameter_arn],
            },
            {"Sid": "Events", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic_arn]},
            {
                "Sid": "Metrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            },
            {"Sid": "Promote", "Effect": "Allow", "Action": promote_actions, "Resource": promote_resources},
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group_arn}:log-stream:*"],
            },
        ],
    }


@dataclass
class ControllerDatabase:
    """What the controller promotes, as the DR component declared it."""

    config: pulumi.Output[dict[str, Any]]  # the config's database section (kind, ids)
    promote_actions: list[str]
    promote_resources: list[pulumi.Input[str]]
    primary_address: pulumi.Output[str]
    writer_address: pulumi.Output[str]


@dataclass
class Controller:
    function: Any
    table: Any
    parameter: Any
    topic: Any
    url: Any | None
    webhook: Any | None


def _lambda_trust() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def declare_controller(
    name: str,
    dr: DrSettings,
    database: ControllerDatabase,
    *,
    subscriptions: tuple[tuple[str, str, str], ...],
    in_dr: pulumi.ResourceOptions,
    data_in_dr: pulumi.ResourceOptions,
    standby_stale_seconds: int | None = None,
) -> Controller:
    """``standby_stale_seconds``: with a warm standby, the replay age above which it counts as stale (alarmed)."""
    """Lease table, writer parameter, events topic, logs, role, function, schedule and (optionally) its URL."""
    import pulumi_aws as aws

    settings = dr.controller
    table = aws.dynamodb.Table(
        f"{name}-controller-lease",
        name=f"platform-{pulumi.get_stack()}-{name}-controller-lease",
        billing_mode="PAY_PER_REQUEST",
        hash_key="id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="id", type="S")],
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        opts=data_in_dr,
    )
    parameter = aws.ssm.Parameter(
        f"{name}-writer-endpoint",
        name=settings.writer_parameter,
        type="String",
        value=database.primary_address.apply(host_port),
        description="Database writer endpoint (host:port); the failover controller moves it to the DR database",
        # After creation the controller owns the value: an update must not move a failed-over writer back.
        opts=pulumi.ResourceOptions.merge(in_dr, pulumi.ResourceOptions(ignore_changes=["value"])),
    )
    topic = aws.sns.Topic(f"{name}-events", kms_master_key_id="alias/aws/sns", opts=in_dr)
    for receiver, protocol, endpoint in subscriptions:
        aws.sns.TopicSubscription(
            f"{name}-events-{receiver}", topic=topic.arn, protocol=protocol, endpoint=endpoint, opts=in_dr
        )
    logs = aws.cloudwatch.LogGroup(f"{name}-controller-logs", retention_in_days=settings.log_retention_days, opts=in_dr)
    role = aws.iam.Role(
        f"{name}-controller-role", description="DR failover controller", assume_role_policy=_lambda_trust(), opts=in_dr
    )
    import pulumi_random as random

    password = random.RandomPassword(
        f"{name}-webhook-secret", length=40, special=False, opts=pulumi.ResourceOptions(parent=in_dr.parent)
    )
    secret = pulumi.Output.secret(password.result)
    # The function reads it at run time: its configuration (and the plan) never holds the value.
    secret_parameter = aws.ssm.Parameter(
        f"{name}-webhook-secret-parameter",
        name=f"/platform/{pulumi.get_stack()}/{name}/webhook-secret",
        type="SecureString",
        value=secret,
        description="Shared secret of Cloudflare's webhook to the failover controller",
        opts=in_dr,
    )
    aws.iam.RolePolicy(
        f"{name}-controller-policy",
        role=role.id,
        policy=pulumi.Output.all(
            table.arn,
            parameter.arn,
            secret_parameter.arn,
            topic.arn,
            logs.arn,
            pulumi.Output.all(*database.promote_resources),
        ).apply(
            lambda a: json.dumps(
                controller_role_policy(
                    table_arn=a[0],
                    parameter_arn=a[1],
                    secret_parameter_arn=a[2],
                    topic_arn=a[3],
                    log_group_arn=a[4],
                    promote_actions=database.promote_actions,
                    promote_resources=list(a[5]),
                )
            )
        ),
        opts=in_dr,
    )
    if settings.subnet_ids:
        aws.iam.RolePolicyAttachment(
            f"{name}-controller-vpc",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
            opts=in_dr,
        )
    config = pulumi.Output.all(database.config, database.primary_address, table.name, topic.arn).apply(
        lambda a: json.dumps(
            controller_config(
                dr,
                database_id=name,
                database=a[0],
                primary_database=host_port(a[1]) if settings.subnet_ids else None,
                lock_table=a[2],
                topic_arn=a[3],
            ),
            sort_keys=True,
        )
    )
    function = aws.lambda_.Function(
        f"{name}-controller",
        role=role.arn,
        runtime=RUNTIME,
        handler=HANDLER,
        architectures=[settings.architecture],
        code=pulumi.FileArchive(settings.archive.format(arch=settings.architecture)),
        timeout=function_timeout(dr),
        memory_size=256,
        reserved_concurrent_executions=2,  # the schedule and a webhook; the lease serialises promotions anyway
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={"DR_CONFIG_JSON": config, "DR_WEBHOOK_SECRET_PARAMETER": secret_parameter.name}
        ),
        vpc_config=aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=list(settings.subnet_ids), security_group_ids=list(settings.security_group_ids)
        )
        if settings.subnet_ids
        else None,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
        opts=in_dr,
    )
    schedule = aws.cloudwatch.EventRule(
        f"{name}-controller-schedule",
        schedule_expression=SCHEDULE,
        description="Failover controller: one-minute watch runs",
        opts=in_dr,
    )
    aws.cloudwatch.EventTarget(f"{name}-controller-target", rule=schedule.name, arn=function.arn, opts=in_dr)
    aws.lambda_.Permission(
        f"{name}-controller-invoke-schedule",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="events.amazonaws.com",
        source_arn=schedule.arn,
        opts=in_dr,
    )
    url = webhook = None
    if settings.webhook:
        # Cloudflare cannot sign AWS requests: the URL is public and the handler refuses any request without the
        # shared secret in cf-webhook-auth (HTTP 401).
        url = aws.lambda_.FunctionUrl(
            f"{name}-controller-url", function_name=function.name, authorization_type="NONE", opts=in_dr
        )
        aws.lambda_.Permission(
            f"{name}-controller-invoke-url",
            action="lambda:InvokeFunctionUrl",
            function=function.name,
            principal="*",
            function_url_auth_type="NONE",
            opts=in_dr,
        )
        webhook = declare_webhook(name, dr, url.function_url, secret, in_dr)
    declare_watchdog(name, dr, function, topic, in_dr, standby_stale_seconds=standby_stale_seconds)
    return Controller(function, table, parameter, topic, url, webhook)


def standby_stale_alarm(name: str, threshold_seconds: int) -> dict[str, Any]:
    """The warm standby stopped replaying: its replay age (measured once per one-minute run right after a
    heartbeat commit on the primary) stays above ``threshold_seconds`` for five runs. Missing data is the
    ``silent`` alarm's business (the controller stopped) or a primary outage's (no heartbeat then)."""
    return {
        "alarm_description": f"The DR warm standby has replayed nothing for over {threshold_seconds} s (5 runs): a "
        "failover now would promote stale data or wait on a long catch-up; check its restore_command and the "
        "Azure/GCS archive",
        "namespace": METRICS_NAMESPACE,
        "metric_name": "dr_controller_standby_replay_age_seconds",
        "dimensions": {"DatabaseId": name},
        "statistic": "Minimum",
        "period": 60,
        "evaluation_periods": 5,
        "threshold": threshold_seconds,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
    }


def declare_watchdog(
    name: str,
    dr: DrSettings,
    function: Any,
    topic: Any,
    in_dr: pulumi.ResourceOptions,
    *,
    standby_stale_seconds: int | None = None,
) -> None:
    """A controller that stops running is a DR plan that silently stopped: alarm when its probe metric goes
    missing for five minutes (missing data breaches) or the function errors, to the events topic on-call reads;
    with a warm standby, also when the standby stops replaying."""
    import pulumi_aws as aws

    actions = [topic.arn]
    alarms: dict[str, dict[str, Any]] = {
        "silent": {
            "alarm_description": "The DR failover controller has reported no probe for 5 minutes: failover would "
            "not happen",
            "namespace": METRICS_NAMESPACE,
            "metric_name": "dr_controller_primary_up",
            "dimensions": {"DatabaseId": name},
            "statistic": "SampleCount",
            "period": 60,
            "evaluation_periods": 5,
            "threshold": 1,
            "comparison_operator": "LessThanThreshold",
            "treat_missing_data": "breaching",
        },
        "errors": {
            "alarm_description": "The DR failover controller's function failed (see its log group)",
            "namespace": "AWS/Lambda",
            "metric_name": "Errors",
            "dimensions": {"FunctionName": function.name},
            "statistic": "Sum",
            "period": 300,
            "evaluation_periods": 1,
            "threshold": 0,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
        },
    }
    if standby_stale_seconds is not None:
        alarms["standby-stale"] = standby_stale_alarm(name, standby_stale_seconds)
    for role, alarm in alarms.items():
        aws.cloudwatch.MetricAlarm(
            f"{name}-controller-{role}", alarm_actions=actions, ok_actions=actions, **alarm, opts=in_dr
        )


def declare_webhook(
    name: str, dr: DrSettings, url: pulumi.Input[str], secret: pulumi.Input[str], in_dr: pulumi.ResourceOptions
) -> Any:
    """The Cloudflare webhook destination (the controller's URL and secret); the notification policy that uses
    it is declared with the pools (:mod:`components.disaster_recovery.edge`)."""
    import pulumi_cloudflare as cloudflare

    return cloudflare.NotificationPolicyWebhooks(
        f"{name}-webhook",
        account_id=dr.cloudflare_account_id,
        name="platform DR failover controller",
        url=url,
        secret=secret,
        opts=pulumi.ResourceOptions(parent=in_dr.parent),
    )

"""The SNS topic that CloudWatch alarms notify, subscribed to the receivers Alertmanager routes to.

Declared: a customer-managed KMS key (SNS encryption; the AWS-managed ``alias/aws/sns`` key cannot be used by
CloudWatch, whose publishes would then fail silently), its key policy (the account administers it; CloudWatch
may only generate data keys and decrypt for this topic), the topic, a topic policy (CloudWatch alarms of this
account may publish, over TLS only) and one subscription per mirrored receiver.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

CLOUDWATCH = "cloudwatch.amazonaws.com"


class Subscription(BaseModel):
    """One receiver subscribed to the topic."""

    model_config = ConfigDict(frozen=True)

    receiver: str = Field(description="monitoring.receivers name it mirrors (part of the child's name).")
    protocol: str = Field(description="`email` or `https`.")
    endpoint: str = Field(description="Address or URL.")


class AlertingTopicArgs(BaseModel):
    """Inputs of :class:`AlertingTopic`."""

    model_config = ConfigDict(frozen=True)

    environment: str = Field(description="Environment tier (topic name).")
    subscriptions: tuple[Subscription, ...] = Field(min_length=1, description="Who the alarms reach.")


def key_policy(account_id: str) -> dict[str, Any]:
    """The account administers the key; CloudWatch may use it only through SNS for the alerting topic."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchPublishesEncrypted",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDWATCH},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    }


def topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """CloudWatch alarms of this account publish; nothing reaches the topic without TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDWATCH},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:*:{account_id}:alarm:*"},
                },
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


class AlertingTopic(pulumi.ComponentResource):
    """One encrypted SNS topic per stack; CloudWatch alarms anywhere in the stack notify it."""

    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlertingTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:alerting:AlertingTopic", name, None, opts)
        import pulumi_aws as aws

        self._child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"alerting SNS topic ({args.environment})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=self._child,
        )
        account_id = key.arn.apply(lambda arn: arn.split(":")[4])
        aws.kms.KeyPolicy(
            f"{name}-key-policy",
            key_id=key.key_id,
            policy=account_id.apply(lambda account: json.dumps(key_policy(account))),
            opts=self._child,
        )
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=f"platform-{args.environment}-alerts",
            kms_master_key_id=key.arn,
            opts=self._child,
        )
        self.topic_arn = self.topic.arn
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account_id).apply(
                lambda values: json.dumps(topic_policy(values[0], values[1]))
            ),
            opts=self._child,
        )
        for subscription in args.subscriptions:
            aws.sns.TopicSubscription(
                f"{name}-{subscription.receiver}",
                topic=self.topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                endpoint_auto_confirms=False,
                opts=self._child,
            )
        self.register_outputs({"topic_arn": self.topic.arn})

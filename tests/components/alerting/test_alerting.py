"""The alerting topic on the mock plan: encrypted with its own key CloudWatch may use, publishable only by this
account's alarms over TLS, subscribed to the email receivers of the configured route (and HTTPS endpoints when
given); the optimizer's alarms notify it. Bad input names the key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.platform.config import ConfigError, parse_config
from tests.plans import deep_merge, named, of_type, plan_of, plan_with, stack_values


def test_prod_topic_is_encrypted_and_only_cloudwatch_of_this_account_publishes() -> None:
    plan = plan_of("prod")
    topic = named(plan, "alerting-topic").inputs
    assert topic["name"] == "platform-prod-alerts" and topic["kmsMasterKeyId"].startswith("arn:aws:kms:")
    key_policy = json.loads(named(plan, "alerting-key-policy").inputs["policy"])
    cloudwatch = next(s for s in key_policy["Statement"] if s["Sid"] == "CloudWatchPublishesEncrypted")
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    policy = json.loads(named(plan, "alerting-topic-policy").inputs["policy"])
    publish, tls = policy["Statement"]
    assert publish["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_route_receivers_are_subscribed_and_alarms_notify_the_topic() -> None:
    plan = plan_of("prod")
    subs = [
        (s.inputs["protocol"], s.inputs["endpoint"])
        for s in of_type(plan, "aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("alerting-")
    ]
    assert subs == [("email", "oncall@example.com")]  # routes.high = [email, chat]; chat left out explicitly
    alarms = [a for a in of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.startswith("optimizer-")]
    assert len(alarms) == 5
    topic_urn = named(plan, "alerting-topic").urn
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] and alarm.inputs["okActions"]
        assert alarm.property_dependencies["alarmActions"] == [topic_urn]


def test_https_endpoint_mirrors_the_pager() -> None:
    url = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"
    plan = plan_with("prod", {"alerting": {"route": "critical", "endpoints": {"pager": url}}})
    subs = {
        s.name: (s.inputs["protocol"], s.inputs["endpoint"])
        for s in of_type(plan, "aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("alerting-")
    }
    assert subs == {"alerting-pager": ("https", url)}


def test_an_explicit_topic_wins_and_disabled_alerting_creates_none() -> None:
    arn = "arn:aws:sns:us-east-1:123456789012:existing-alerts"
    plan = plan_with("staging", {"alerting": {"enabled": False}, "optimizer": {"alarm_topic_arn": arn}})
    assert not of_type(plan, "aws:sns/topic:Topic")
    optimizer = [a for a in of_type(plan, "aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.startswith("optimizer-")]
    assert optimizer and {a.inputs["alarmActions"][0] for a in optimizer} == {arn}


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("receiver without a destination", {"alerting": {"unmirrored_receivers": []}}, "alerting.endpoints.chat: required"),
    (
        "endpoint not on the route",
        {"alerting": {"endpoints": {"pager": "https://x.example.com/"}}},
        "alerting.endpoints.pager: 'pager' is not",
    ),
    (
        "plain http endpoint",
        {"alerting": {"endpoints": {"chat": "http://relay.example.com/"}}},
        "alerting.endpoints: ['chat']",
    ),
    ("nobody left", {"alerting": {"route": "medium"}}, "alerting.unmirrored_receivers: leaves no receiver"),
    (
        "unknown unmirrored",
        {"alerting": {"unmirrored_receivers": ["chat", "pagr"]}},
        "alerting.unmirrored_receivers: 'pagr'",
    ),
    (
        "alarms to nobody",
        {"alerting": {"enabled": False}},
        "optimizer.alarm_topic_arn: required when alerting.enabled is false",
    ),
]


@pytest.mark.parametrize(("case", "changes", "expected"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_alerting_config_names_the_key(case: str, changes: dict[str, Any], expected: str) -> None:
    values = deep_merge(stack_values("prod"), changes)
    if "alerting" in changes:
        values["alerting"] = {**stack_values("prod")["alerting"], **changes["alerting"]}
    with pytest.raises(ConfigError) as caught:
        parse_config(values)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems

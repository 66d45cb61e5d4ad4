"""The alarm/budget receivers rule passes on both plans and fails, naming the URN, when an alarm loses its
actions or points at a topic nobody subscribes to, when a budget notification has no subscriber, and when the
budgets across clouds no longer add up to the configured monthly total (the same limit on every cloud)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plans import STACKS, plan_of
from tests.policies.helpers import mutate, pack_config, records_of, violations

RULE = "wiring-alarm-receivers"


def _violations(records: list[dict[str, Any]], stack: str = "prod", config: dict[str, Any] | None = None) -> list[Any]:
    return [v for v in violations(records, stack, config=config) if v.policy == RULE]


def _prod() -> list[dict[str, Any]]:
    return records_of(plan_of("prod"))


@pytest.mark.parametrize("stack", STACKS)
def test_both_plans_pass(stack: str) -> None:
    records = records_of(plan_of(stack))
    alarms = [r for r in records if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"]
    assert alarms, "the plan has CloudWatch alarms to check"
    assert _violations(records, stack) == []


def test_alarm_without_actions_fails() -> None:
    def drop(inputs: dict[str, Any]) -> None:
        inputs["alarmActions"] = []

    records, urn = mutate(_prod(), "MetricAlarm", drop, "optimizer-errors")
    for record in records:
        if record["urn"] == urn:
            record["propertyDependencies"].pop("alarmActions")
    found = _violations(records)
    assert [v.urn for v in found] == [urn] and "no alarmActions" in found[0].message, found


def test_alarm_to_an_undeclared_topic_fails() -> None:
    def elsewhere(inputs: dict[str, Any]) -> None:
        inputs["alarmActions"] = ["arn:aws:sns:us-east-1:123456789012:someone-elses"]

    records, urn = mutate(_prod(), "MetricAlarm", elsewhere, "optimizer-throttles")
    for record in records:
        if record["urn"] == urn:
            record["propertyDependencies"].pop("alarmActions")
    found = _violations(records)
    assert any(v.urn == urn and "no topic of this stack" in v.message for v in found), found
    config = {**pack_config("prod"), RULE: {"monthlyBudgetUsd": 1000, "externalTopicArns": [
        "arn:aws:sns:us-east-1:123456789012:someone-elses"]}}  # fmt: skip
    assert _violations(records, config=config) == []


def test_topic_without_subscription_fails_on_every_alarm() -> None:
    records = [r for r in _prod() if r["type"] != "aws:sns/topicSubscription:TopicSubscription"]
    alarms = {r["urn"] for r in records if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"}
    found = _violations(records)
    assert alarms and {v.urn for v in found} == alarms, found
    assert all("has no subscription" in v.message for v in found)


def test_budget_notification_without_subscriber_fails() -> None:
    def silence(inputs: dict[str, Any]) -> None:
        inputs["notifications"][1]["subscriberEmailAddresses"] = []

    records, urn = mutate(_prod(), "budgets/budget:Budget", silence)
    found = _violations(records)
    assert [v.urn for v in found] == [urn] and "notification #1 has no subscriber" in found[0].message, found


def test_azure_and_gcp_budgets_without_contacts_fail() -> None:
    def no_contacts(inputs: dict[str, Any]) -> None:
        for note in inputs["notifications"].values():
            note["contactEmails"] = []

    def no_channels(inputs: dict[str, Any]) -> None:
        inputs["allUpdatesRule"] = {"monitoringNotificationChannels": [], "disableDefaultIamRecipients": True}

    records, azure = mutate(_prod(), "consumption:Budget", no_contacts)
    records, gcp = mutate(records, "billing/budget:Budget", no_channels)
    found = _violations(records)
    assert {v.urn for v in found} == {azure, gcp}, found


def test_a_full_limit_on_every_cloud_fails_the_total() -> None:
    def full_azure(inputs: dict[str, Any]) -> None:
        inputs["amount"] = 1000

    def full_gcp(inputs: dict[str, Any]) -> None:
        inputs["amount"]["specifiedAmount"]["units"] = "1000"

    records, _ = mutate(_prod(), "consumption:Budget", full_azure)
    records, _ = mutate(records, "billing/budget:Budget", full_gcp)
    aws = next(r["urn"] for r in records if r["type"] == "aws:budgets/budget:Budget")
    found = _violations(records)
    assert [v.urn for v in found] == [aws], found
    assert "add up to 2700 USD a month" in found[0].message and "not the configured 1000" in found[0].message


def test_staging_total_is_its_own() -> None:
    config = {**pack_config("staging"), RULE: {"monthlyBudgetUsd": 1000}}
    found = _violations(records_of(plan_of("staging")), "staging", config=config)
    assert len(found) == 1 and "add up to 250 USD" in found[0].message, found

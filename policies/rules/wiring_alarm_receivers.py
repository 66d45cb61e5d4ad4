"""Every alarm and budget notification reaches someone, and the budgets add up to the one monthly total.

- a CloudWatch ``MetricAlarm`` has ``alarmActions``, each a topic this plan declares (the engine's property
  dependency on an ``aws:sns/topic:Topic``; an action written as a plain ARN must name a declared topic or be
  listed in ``externalTopicArns``), and each such topic has at least one ``TopicSubscription``;
- a budget notification has a subscriber: AWS ``subscriberEmailAddresses``/``subscriberSnsTopicArns``, Azure
  ``contactEmails``/``contactGroups``/``contactRoles``, a GCP budget's notification channels, Pub/Sub topic
  or default IAM recipients;
- the monthly limits of the AWS, Azure and GCP budgets add up to ``monthlyBudgetUsd`` (each cloud's budget
  sees only its own spend: a full limit per cloud allows the total several times over).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._support import Report, dig, is_mapping, num, stack_rule

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
AWS_BUDGET = "aws:budgets/budget:Budget"
AZURE_BUDGET = "azure-native:consumption:Budget"
GCP_BUDGET = "gcp:billing/budget:Budget"
CENT = 0.005


def _of_type(resources: Iterable[PolicyResource], token: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == token]


def _dependencies(resource: PolicyResource, prop: str, token: str) -> list[PolicyResource]:
    return [dep for dep in resource.property_dependencies.get(prop, []) if dep.resource_type == token]


def _topic_by_literal(arn: str, topics: list[PolicyResource]) -> PolicyResource | None:
    """A declared topic a literal ARN names (``arn:aws:sns:<region>:<account>:<name>``)."""
    name = arn.rsplit(":", 1)[-1]
    return next((t for t in topics if t.props.get("name") == name), None)


def _check_alarms(resources: list[PolicyResource], external: set[str], report: Report) -> None:
    topics = _of_type(resources, TOPIC)
    subscribed = {
        dep.urn for sub in _of_type(resources, SUBSCRIPTION) for dep in _dependencies(sub, "topic", TOPIC)
    } | {
        topic.urn
        for sub in _of_type(resources, SUBSCRIPTION)
        if isinstance(sub.props.get("topic"), str)
        for topic in [_topic_by_literal(sub.props["topic"], topics)]
        if topic is not None
    }
    for alarm in _of_type(resources, ALARM):
        actions = alarm.props.get("alarmActions")
        declared = _dependencies(alarm, "alarmActions", TOPIC)
        literal = [a for a in actions if isinstance(a, str)] if isinstance(actions, Sequence) else []
        if not declared and not literal:
            report("CloudWatch alarm has no alarmActions: it notifies nobody", alarm.urn)
            continue
        # With a property dependency the values are those topics' ARNs (resolved in a plan, unknown in a preview);
        # only actions written as plain ARNs are matched by name.
        for arn in literal if not declared else []:
            topic = _topic_by_literal(arn, topics)
            if topic is not None:
                declared.append(topic)
            elif arn not in external:
                report(f"alarm action {arn!r} is no topic of this stack (nor in externalTopicArns)", alarm.urn)
        for topic in declared:
            if topic.urn not in subscribed:
                report(f"alarm notifies topic {topic.name!r}, which has no subscription", alarm.urn)


def _aws_budget(budget: PolicyResource, report: Report) -> float | None:
    for i, note in enumerate(budget.props.get("notifications") or []):
        if not (note.get("subscriberEmailAddresses") or note.get("subscriberSnsTopicArns")):
            report(f"budget notification #{i} has no subscriber (emails or SNS topics)", budget.urn)
    try:
        return float(budget.props.get("limitAmount"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _azure_budget(budget: PolicyResource, report: Report) -> float | None:
    notes = budget.props.get("notifications")
    for key, note in notes.items() if isinstance(notes, Mapping) else []:
        if not any(note.get(k) for k in ("contactEmails", "contactGroups", "contactRoles")):
            report(f"budget notification {key!r} has no contact (emails, action groups or roles)", budget.urn)
    amount = budget.props.get("amount")
    return float(amount) if isinstance(amount, int | float) else None


def _gcp_budget(budget: PolicyResource, report: Report) -> float | None:
    found = budget.props.get("allUpdatesRule")
    rule: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    reaches = (
        rule.get("monitoringNotificationChannels")
        or rule.get("pubsubTopic")
        or rule.get("disableDefaultIamRecipients") is False
    )
    if budget.props.get("thresholdRules") and not reaches:
        report("budget thresholds notify nobody (no channels, no Pub/Sub topic, IAM recipients off)", budget.urn)
    amount = dig(budget.props, "amount", "specifiedAmount")
    if not is_mapping(amount):
        return None
    try:
        return int(amount.get("units") or 0) + (amount.get("nanos") or 0) / 1e9
    except (TypeError, ValueError):
        return None


def _check_budgets(resources: list[PolicyResource], total: float | None, report: Report) -> None:
    limits: list[tuple[PolicyResource, float | None]] = []
    for token, read in ((AWS_BUDGET, _aws_budget), (AZURE_BUDGET, _azure_budget), (GCP_BUDGET, _gcp_budget)):
        limits += [(budget, read(budget, report)) for budget in _of_type(resources, token)]
    unknown = [b for b, amount in limits if amount is None]
    for budget in unknown:
        report("budget limit is not a known amount; the total cannot be checked", budget.urn)
    if total is None or not limits or unknown:
        return
    found = sum(amount for _, amount in limits if amount is not None)
    if abs(found - total) > CENT:
        parts = ", ".join(f"{b.name} {num(a)}" for b, a in limits)
        report(
            f"budgets add up to {num(round(found, 2))} USD a month ({parts}), not the configured "
            f"{num(total)} (monthlyBudgetUsd)",
            limits[0][0].urn,
        )


def check(args: StackValidationArgs, report: Report) -> None:
    config: Mapping[str, Any] = args.get_config()
    resources = list(args.resources)
    _check_alarms(resources, set(config.get("externalTopicArns") or []), report)
    total = config.get("monthlyBudgetUsd")
    _check_budgets(resources, float(total) if isinstance(total, int | float) else None, report)


POLICY = stack_rule(
    "wiring-alarm-receivers",
    "Every CloudWatch alarm notifies a subscribed topic, every budget notification has a subscriber, and the "
    "budgets across clouds add up to the monthly total.",
    check,
    severity=Severity.HIGH,
    remediation="Route alarms to the stack's alerting topic (platform:alerting), give every budget notification "
    "an address, and divide budgets.monthly_limit_usd with budgets.split so the clouds' budgets add up to it.",
    config={
        "monthlyBudgetUsd": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "The stack's one monthly budget (USD) the clouds' budgets must add up to; absent: the "
            "sum is not checked.",
        },
        "externalTopicArns": {
            "type": "array",
            "items": {"type": "string", "pattern": "^arn:aws[a-z-]*:sns:"},
            "default": [],
            "description": "SNS topics outside this stack that alarms may notify (subscribed elsewhere).",
        },
    },
)

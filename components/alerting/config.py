"""Where cloud-side alarms (CloudWatch) go: the receivers Alertmanager already routes to, through one SNS topic.

Alertmanager routes Prometheus alerts by severity to named receivers (``monitoring.receivers``/``routes``).
CloudWatch alarms cannot reach Alertmanager, so the stack creates one SNS topic and subscribes the same
receivers to it: an email receiver's address directly, a PagerDuty or Slack receiver through the HTTPS
endpoint SNS posts to (``endpoints``: PagerDuty's CloudWatch integration URL, an AWS Chatbot/relay URL; an
HTTPS subscription must be confirmed by the endpoint, which Slack's incoming webhooks never do). A receiver
on the route that cannot be mirrored is a config error unless it is listed in ``unmirrored_receivers``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from components.lib.settings import DnsLabel, Settings

Severity = Literal["critical", "high", "medium"]
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s]*)?$")


class AlertingSettings(Settings):
    enabled: bool = Field(
        default=True, description="Create the SNS topic cloud alarms notify; without it they only show in a console."
    )
    route: Severity = Field(
        default="high",
        description="Which monitoring.routes severity the cloud alarms follow: its receivers are subscribed "
        "(the optimizer's failures are `high`, like a failed backup Job).",
    )
    endpoints: dict[DnsLabel, str] = Field(
        default_factory=dict,
        description="HTTPS endpoint per non-email receiver on the route (PagerDuty's CloudWatch integration URL, "
        "an AWS Chatbot or relay URL). Email receivers need none: their address is subscribed.",
    )
    unmirrored_receivers: tuple[DnsLabel, ...] = Field(
        default=(),
        description="Receivers on the route deliberately left out of the topic (say why in the stack file); any "
        "other receiver without a destination is a config error.",
    )

    @field_validator("endpoints")
    @classmethod
    def _https(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {name: url for name, url in value.items() if not _HTTPS.match(url)}
        if bad:
            raise ValueError(f"{sorted(bad)}: not https:// URLs (SNS delivers alarms over HTTPS only)")
        return value


Receivers = dict[str, tuple[str, str | None]]
"""monitoring.receivers as name -> (kind, email address or None)."""


def subscriptions(
    alerting: AlertingSettings, receivers: Receivers, routes: dict[str, tuple[str, ...]]
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The (receiver, protocol, endpoint) subscriptions mirroring the route's receivers, and the problems.

    ``receivers`` maps a receiver name to (kind, email address or None), as ``monitoring.receivers`` declares.
    """
    found: list[tuple[str, str, str]] = []
    problems: list[str] = []
    on_route = routes.get(alerting.route, ())
    for name in on_route:
        if name in alerting.unmirrored_receivers:
            continue
        kind, address = receivers[name]
        if name in alerting.endpoints:
            found.append((name, "https", alerting.endpoints[name]))
        elif kind == "email" and address:
            found.append((name, "email", address))
        else:
            problems.append(
                f"alerting.endpoints.{name}: required for the {kind} receiver on monitoring.routes.{alerting.route} "
                "(the HTTPS URL SNS posts to), or list it in alerting.unmirrored_receivers"
            )
    problems += [
        f"alerting.endpoints.{name}: {name!r} is not a receiver on monitoring.routes.{alerting.route} "
        f"({', '.join(on_route)})"
        for name in alerting.endpoints
        if name not in on_route
    ]
    problems += [
        f"alerting.unmirrored_receivers: {name!r} is not a receiver on monitoring.routes.{alerting.route}"
        for name in alerting.unmirrored_receivers
        if name not in on_route
    ]
    if alerting.enabled and not found and not problems:
        problems.append(
            f"alerting.unmirrored_receivers: leaves no receiver of monitoring.routes.{alerting.route}; the alarms "
            "would notify nobody"
        )
    return found, problems if alerting.enabled else []


def alerting_problems(
    alerting: AlertingSettings, receivers: Receivers, routes: dict[str, tuple[str, ...]], own_topic_users: list[str]
) -> list[str]:
    """Config errors of the section, and of each alarm owner (``own_topic_users``: the config keys of alarms with
    no topic of their own, e.g. ``optimizer.alarm_topic_arn``) when the stack's topic is switched off."""
    if not alerting.enabled:
        return [
            f"{key}: required when alerting.enabled is false (the CloudWatch alarms would notify nobody)"
            for key in own_topic_users
        ]
    return subscriptions(alerting, receivers, routes)[1]

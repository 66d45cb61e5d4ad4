"""Notification formats: CloudWatch alarms (SNS, Lambda, EventBridge) and Cloudflare webhooks."""

from __future__ import annotations

import json

import pytest

from functions.dr.errors import UsageError
from functions.dr.handler import lambda_handler
from functions.dr.signals import check_webhook_secret, parse_document, parse_text
from functions.dr.sim import build, outage
from tests.functions.dr.conftest import make_config

ALARM = {
    "AlarmName": "primary-origin-unhealthy",
    "NewStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed: 3 datapoints were less than the threshold (1.0).",
    "StateChangeTime": "2026-12-06T01:00:00.000+0000",
    "Region": "US East (N. Virginia)",
}
SNS_ENVELOPE = {
    "Type": "Notification",
    "MessageId": "0b7e-…",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:dr-alarms",
    "Subject": 'ALARM: "primary-origin-unhealthy"',
    "Message": json.dumps(ALARM),
}
CLOUDFLARE = {
    "name": "primary pool health",
    "text": "Pool primary is unhealthy",
    "data": {"pool_name": "primary", "new_health": "Unhealthy", "origin_name": "primary-lb"},
    "ts": 1765000000,
    "alert_type": "load_balancing_health_alert",
}


def test_sns_envelope_lambda_event_eventbridge_and_plain_alarm() -> None:
    lambda_event = {"Records": [{"EventSource": "aws:sns", "Sns": SNS_ENVELOPE}]}
    bridge = {
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {"alarmName": "primary-origin-unhealthy", "state": {"value": "ALARM", "reason": "r"}},
    }
    for doc in (SNS_ENVELOPE, lambda_event, bridge, ALARM):
        signal = parse_document(doc)
        assert (signal.source, signal.state, signal.name) == ("cloudwatch", "alarm", "primary-origin-unhealthy")
    ok = parse_document({**ALARM, "NewStateValue": "OK"})
    assert ok.state == "ok" and not ok.unhealthy


def test_cloudflare_webhook_and_subscription_confirmation() -> None:
    signal = parse_document(CLOUDFLARE)
    assert (signal.source, signal.state, signal.name) == ("cloudflare", "alarm", "primary")
    healthy = parse_document({**CLOUDFLARE, "data": {"pool_name": "primary", "new_health": "Healthy"}})
    assert healthy.state == "ok"
    sub = parse_document({"Type": "SubscriptionConfirmation", "Message": "x", "SubscribeURL": "https://sns/confirm"})
    assert sub.source == "sns-subscription" and sub.subscribe_url == "https://sns/confirm"


def test_unknown_or_broken_documents_say_what_is_accepted() -> None:
    with pytest.raises(UsageError, match="accepted: an SNS message"):
        parse_document({"hello": 1})
    with pytest.raises(UsageError, match="not JSON"):
        parse_text("{", "alarm.json")
    with pytest.raises(UsageError, match="SNS Message: not JSON"):
        parse_document({**SNS_ENVELOPE, "Message": "plain text"})


def test_webhook_secret_is_required_and_checked() -> None:
    with pytest.raises(UsageError, match="no secret configured"):
        check_webhook_secret({"cf-webhook-auth": "x"}, None)
    with pytest.raises(UsageError, match="missing or wrong"):
        check_webhook_secret({"cf-webhook-auth": "wrong"}, "right")
    check_webhook_secret({"CF-Webhook-Auth": "right"}, "right")


def test_a_signal_only_starts_the_dr_side_confirmation() -> None:
    # the alarm says down, the DR side sees the primary answer: no promotion
    sim = build(make_config(), lambda t: (False, False), promotion_seconds=5)
    result = lambda_handler({"Records": [{"Sns": SNS_ENVELOPE}]}, controller=sim.controller)
    assert result["exit_code"] == 0 and result["result"]["action"] == "not_confirmed"
    assert sim.backend.promote_calls == 0
    # the region is really gone: three probes from the DR side, then promotion
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    result = lambda_handler({"Records": [{"Sns": SNS_ENVELOPE}]}, controller=sim.controller)
    assert result["result"]["action"] == "promoted"
    assert len(sim.primary.probes) == 3


def test_function_url_webhook_needs_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    monkeypatch.setenv("DR_WEBHOOK_SECRET", "s3cret")
    request = {"headers": {"cf-webhook-auth": "nope"}, "body": json.dumps(CLOUDFLARE), "isBase64Encoded": False}
    assert lambda_handler(request, controller=sim.controller)["statusCode"] == 401
    assert sim.backend.promote_calls == 0
    request["headers"] = {"cf-webhook-auth": "s3cret"}
    response = lambda_handler(request, controller=sim.controller)
    assert response["statusCode"] == 200 and json.loads(response["body"])["action"] == "promoted"


def test_scheduled_event_runs_a_short_carried_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    monkeypatch.setenv("DR_WATCH_PROBES", "2")
    first = lambda_handler(event, controller=sim.controller)
    assert first["result"]["action"] == "not_confirmed" and len(sim.primary.probes) == 2
    sim.clock.advance(10)
    second = lambda_handler(event, controller=sim.controller)
    assert second["result"]["action"] == "promoted"
    monkeypatch.setenv("DR_WATCH_PROBES", "zero")
    assert lambda_handler(event, controller=sim.controller)["exit_code"] == 2


def test_webhook_secret_from_a_securestring_parameter(moto: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployed function gets the parameter's name, never the secret: read it once, then cache it."""
    from functions.dr import handler

    moto.client("ssm").put_parameter(Name="/platform/test/dr/webhook-secret", Value="s3cret", Type="SecureString")  # type: ignore[attr-defined]
    monkeypatch.delenv("DR_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("DR_WEBHOOK_SECRET_PARAMETER", "/platform/test/dr/webhook-secret")
    monkeypatch.setattr(handler, "_SECRET_CACHE", {})
    sim = build(make_config(), outage("region", 0), promotion_seconds=5)
    request = {"headers": {"cf-webhook-auth": "s3cret"}, "body": json.dumps(CLOUDFLARE)}
    assert lambda_handler(request, controller=sim.controller)["statusCode"] == 200
    monkeypatch.setenv("DR_WEBHOOK_SECRET_PARAMETER", "/platform/test/dr/missing")
    response = lambda_handler({**request, "headers": {"cf-webhook-auth": "s3cret"}}, controller=sim.controller)
    assert response["statusCode"] == 401 and "cannot read the secret parameter" in response["body"]

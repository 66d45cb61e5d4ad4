"""Notifications that wake the controller: CloudWatch alarms (through SNS, a Lambda SNS event, or EventBridge)
and Cloudflare Load Balancing health webhooks.

A notification never promotes by itself: it starts the DR-side confirmation (``failure_threshold`` probes in
a row), because the alarm was raised from another vantage point that may be the one that is cut off.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from functions.dr.errors import UsageError

ACCEPTED = (
    "an SNS message (Type=Notification) or Lambda SNS event carrying a CloudWatch alarm, an EventBridge "
    "'CloudWatch Alarm State Change' event, a CloudWatch alarm document (AlarmName, NewStateValue), or a "
    "Cloudflare notification webhook (alert_type, data.new_health)"
)


@dataclass(frozen=True)
class Signal:
    source: Literal["cloudwatch", "cloudflare", "sns-subscription"]
    state: Literal["alarm", "ok", "unknown"]
    name: str
    reason: str = ""
    subscribe_url: str | None = None

    @property
    def unhealthy(self) -> bool:
        return self.state == "alarm"


_CW_STATES: dict[str, Literal["alarm", "ok", "unknown"]] = {
    "ALARM": "alarm",
    "OK": "ok",
    "INSUFFICIENT_DATA": "unknown",
}


def _alarm(doc: dict[str, Any]) -> Signal:
    state = _CW_STATES.get(str(doc.get("NewStateValue")), "unknown")
    return Signal("cloudwatch", state, str(doc.get("AlarmName", "")), str(doc.get("NewStateReason", "")))


def _sns(envelope: dict[str, Any]) -> Signal:
    kind = envelope.get("Type", "Notification")
    if kind == "SubscriptionConfirmation":
        return Signal(
            "sns-subscription", "unknown", str(envelope.get("TopicArn", "")), "", envelope.get("SubscribeURL")
        )
    message = envelope.get("Message")
    try:
        doc = json.loads(message) if isinstance(message, str) else message
    except json.JSONDecodeError:
        raise UsageError("SNS Message: not JSON; expected a CloudWatch alarm document") from None
    if not isinstance(doc, dict):
        raise UsageError(f"SNS Message: expected a JSON object, got {type(doc).__name__}")
    return parse_document(doc)


def _cloudflare(doc: dict[str, Any]) -> Signal:
    data = doc.get("data") or {}
    health = str(data.get("new_health") or data.get("health") or "").lower()
    state: Literal["alarm", "ok", "unknown"] = (
        "alarm" if health in ("unhealthy", "down") else "ok" if health == "healthy" else "unknown"
    )
    name = str(data.get("pool_name") or data.get("origin_name") or doc.get("name") or "")
    return Signal("cloudflare", state, name, str(doc.get("text", "")))


def parse_document(doc: Any) -> Signal:
    """One notification document (already decoded JSON) -> Signal, or a UsageError saying what is accepted."""
    if not isinstance(doc, dict):
        raise UsageError(f"notification: expected a JSON object; accepted: {ACCEPTED}")
    if "Records" in doc:
        records = [r for r in doc["Records"] if isinstance(r, dict) and "Sns" in r]
        if not records:
            raise UsageError(f"notification: Records holds no SNS record; accepted: {ACCEPTED}")
        return _sns(records[0]["Sns"])
    if doc.get("Type") in ("Notification", "SubscriptionConfirmation") and "Message" in doc:
        return _sns(doc)
    if "AlarmName" in doc and "NewStateValue" in doc:
        return _alarm(doc)
    if doc.get("detail-type") == "CloudWatch Alarm State Change":
        detail = doc.get("detail") or {}
        value = str((detail.get("state") or {}).get("value", ""))
        return Signal(
            "cloudwatch",
            _CW_STATES.get(value, "unknown"),
            str(detail.get("alarmName", "")),
            str((detail.get("state") or {}).get("reason", "")),
        )
    if "alert_type" in doc and isinstance(doc.get("data"), dict):
        return _cloudflare(doc)
    raise UsageError(f"notification: unrecognised document (keys {sorted(doc)[:8]}); accepted: {ACCEPTED}")


def parse_text(text: str, source: str = "notification") -> Signal:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{source}: not JSON: {err}") from None
    return parse_document(doc)


def check_webhook_secret(headers: dict[str, str], expected: str | None) -> None:
    """Cloudflare sends the webhook's secret in ``cf-webhook-auth``; refuse a request without the right one."""
    if not expected:
        raise UsageError(
            "webhook: no secret configured ($DR_WEBHOOK_SECRET or $DR_WEBHOOK_SECRET_PARAMETER); refusing "
            "unauthenticated webhooks"
        )
    given = {k.lower(): v for k, v in headers.items()}.get("cf-webhook-auth", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise UsageError("webhook: cf-webhook-auth header missing or wrong")

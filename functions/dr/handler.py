"""AWS Lambda entry point: a scheduled event runs a short ``watch``, a notification starts a confirmation.

- EventBridge ``Scheduled Event`` (every minute): ``watch --carry`` for ``$DR_WATCH_PROBES`` probes (default:
  as many intervals as fit in a minute), the failure count carried from the previous run, so consecutive
  failures are counted across invocations as one loop would.
- SNS event (CloudWatch alarm, including Route 53 health-check alarms) or a Lambda function URL request
  carrying a Cloudflare notification webhook (shared secret in ``cf-webhook-auth``: ``$DR_WEBHOOK_SECRET``, or
  the SecureString parameter named by ``$DR_WEBHOOK_SECRET_PARAMETER``):
  the DR-side confirmation (``Controller.confirm``).

The config comes from ``$DR_CONFIG`` (a path) or ``$DR_CONFIG_JSON`` (the document).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from functions.dr.cli import build_controller
from functions.dr.config import load_config
from functions.dr.errors import DrError, UsageError
from functions.dr.signals import check_webhook_secret, parse_document, parse_text

_SECRET_CACHE: dict[str, str] = {}


def webhook_secret() -> str | None:
    """``$DR_WEBHOOK_SECRET``, else the SecureString SSM parameter named by ``$DR_WEBHOOK_SECRET_PARAMETER``
    (read once per execution environment), so the secret never sits in the function's configuration."""
    if os.environ.get("DR_WEBHOOK_SECRET"):
        return os.environ["DR_WEBHOOK_SECRET"]
    name = os.environ.get("DR_WEBHOOK_SECRET_PARAMETER")
    if not name:
        return None
    if name not in _SECRET_CACHE:
        import boto3

        try:
            answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
        except Exception as err:  # refused, missing, throttled: the webhook is refused, never let through
            raise UsageError(f"webhook: cannot read the secret parameter {name}: {err}") from None
        _SECRET_CACHE[name] = answer["Parameter"]["Value"]
    return _SECRET_CACHE[name]


def _signal(event: dict[str, Any]) -> Any:
    if "Records" in event:
        return parse_document(event)
    if "headers" in event and "body" in event:
        check_webhook_secret(event.get("headers") or {}, webhook_secret())
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        return parse_text(body, "webhook body")
    return parse_document(event)


def _probes_per_run(interval: int) -> int:
    text = os.environ.get("DR_WATCH_PROBES")
    if text is None:
        return max(1, 60 // interval)
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"$DR_WATCH_PROBES: {text!r} is not a positive integer")
    return int(text)


def lambda_handler(event: dict[str, Any], context: Any = None, controller: Any = None) -> dict[str, Any]:
    """Returns ``{"exit_code", "result"}`` (function URL requests: an HTTP response with that body)."""
    is_http = "headers" in event and "body" in event
    try:
        if event.get("detail-type") == "Scheduled Event":
            controller = controller or build_controller(load_config(None))
            interval = controller.config.health.interval_seconds
            probes = _probes_per_run(interval)
            outcome = controller.watch(max_probes=probes, carry=True)
        else:
            signal = _signal(event)
            controller = controller or build_controller(load_config(None))
            outcome = controller.confirm(signal)
        code, result = outcome.exit_code, outcome.as_dict()
    except UsageError as err:
        code, result = 2, {"error": str(err)}
    except DrError as err:
        code, result = 1, {"error": str(err)}
    if is_http:
        status = 401 if code == 2 and "webhook" in result.get("error", "") else 400 if code == 2 else 200
        return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(result)}
    return {"exit_code": code, "result": result}

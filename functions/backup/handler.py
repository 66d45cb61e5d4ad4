"""AWS Lambda entry point: an event names a command and its options; the CLI code runs it.

Event shape::

    {"command": "verify", "args": {"target": ["s3://b/p"], "kms-key-id": "arn:…", "backup": "ID"}}

List values repeat the flag, ``true`` becomes a bare flag, positional arguments go in ``"positional"``. Keys
are the CLI's: ``kms-key-id``, ``azure-key-id``, ``gcp-kms-key``, ``key-file`` (any together: one recipient each).
"""

from __future__ import annotations

from typing import Any

from functions.backup.cli import run
from functions.backup.errors import UsageError
from functions.backup.report import Reporter


def event_to_argv(event: dict[str, Any]) -> list[str]:
    command = event.get("command")
    if not isinstance(command, str) or not command:
        raise UsageError("event: 'command' (string) is required")
    argv = [command]
    for name, value in (event.get("args") or {}).items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    argv += [str(p) for p in event.get("positional", [])]
    return argv


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Returns ``{"exit_code", "result"}``; logs are JSON lines on stderr (CloudWatch)."""
    try:
        argv = event_to_argv(event)
    except UsageError as err:
        return {"exit_code": 2, "result": {"error": str(err)}}
    code, result = run(argv, Reporter(json_logs=True))
    return {"exit_code": code, "result": result}

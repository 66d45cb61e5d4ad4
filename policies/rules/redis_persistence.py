"""Redis persists its data: AOF on (``appendonly yes``) or RDB ``save`` rules, so a restarted node does
not come back empty and trigger a full resync or data loss."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._redis import directives, redis_configs
from ._support import Report, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    for configmap, key, text in redis_configs(args.resources):
        if key.endswith("sentinel.conf"):
            continue
        found = directives(text)
        aof = found.get("appendonly", ["no"])[-1].lower() == "yes"
        rdb = any(v.strip() not in ('""', "''", "") for v in found.get("save", []))
        if not (aof or rdb):
            report(f"{key} persists nothing (appendonly is not yes and there are no save rules)", configmap.urn)


POLICY = stack_rule(
    "redis-persistence",
    "Redis persists data with AOF or RDB snapshots.",
    check,
    severity=Severity.HIGH,
    remediation="Set appendonly yes (appendfsync everysec) and keep the save rules.",
)

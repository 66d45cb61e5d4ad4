"""The stack's computed recovery bounds meet the targets: the exported ``dr.rto_seconds_bound`` and
``dr.rpo_seconds_bound`` (derived from health-check interval x threshold + DNS TTL + promotion, and from
replication lag / WAL archive timeout) must not exceed ``rtoSeconds``/``rpoSeconds``. A prod stack
without a DR section fails: it has no bound at all. Reads the stack resource's outputs."""

from __future__ import annotations

from pulumi_policy import Severity, StackValidationArgs

from ._support import ENVIRONMENT_SCHEMA, Report, dig, is_mapping, num, stack_rule


def check(args: StackValidationArgs, report: Report) -> None:
    config = args.get_config()
    stack = next((r for r in args.resources if r.resource_type == "pulumi:pulumi:Stack"), None)
    outputs = stack.props if stack is not None else {}
    dr = outputs.get("dr")
    if not is_mapping(dr):
        if config.get("environment", "prod") == "prod":
            report(
                "prod stack exports no dr section (no disaster-recovery region, no recovery bounds)",
                stack.urn if stack else None,
            )
        return
    for output, target_key in (("rto_seconds_bound", "rtoSeconds"), ("rpo_seconds_bound", "rpoSeconds")):
        bound, target = dig(dr, output), config.get(target_key)
        if not isinstance(bound, int | float):
            report(f"dr.{output} is {bound!r}, not a number", stack.urn if stack else None)
        elif target is not None and bound > target:
            report(f"dr.{output} {num(bound)} s exceeds the target {num(target)} s", stack.urn if stack else None)


POLICY = stack_rule(
    "dr-recovery-bounds",
    "Exported RTO/RPO bounds are within the stack's recovery targets.",
    check,
    severity=Severity.CRITICAL,
    remediation="Tighten dr.health_check (interval, threshold), dr.dns_ttl_seconds, database promotion, or "
    "backup.wal_archive_timeout_seconds until the bounds meet the targets.",
    config={
        "environment": ENVIRONMENT_SCHEMA,
        "rtoSeconds": {"type": "number", "exclusiveMinimum": 0, "default": 300},
        "rpoSeconds": {"type": "number", "exclusiveMinimum": 0, "default": 60},
    },
)

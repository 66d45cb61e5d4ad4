"""The stack's computed recovery bounds meet the targets: the exported ``dr.rto_seconds_bound`` and
``dr.rpo_seconds_bound`` (derived from health-check interval x threshold + DNS TTL + promotion, and from
the WAL mechanism) must not exceed ``rtoSeconds``/``rpoSeconds``. Where the stack exports them, every cloud
copy's RPO (``dr.bounds.rpo_by_destination``: s3, azure_blob, gcs, and the DR replica when a mechanism bounds
it) and every failure's (``dr.bounds.rpo_by_failure``: region_loss, cloud_loss, corruption; null = no copy
survives) must be within ``rpoSeconds`` too; a copy bounded by RDS's 5-minute log upload or by the dump
schedule is named as such. A prod stack without a DR section fails: it has no bound at all. Reads the stack
resource's outputs."""

from __future__ import annotations

from typing import Any

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
    target = config.get("rpoSeconds")
    if target is not None:
        for message in _copy_problems(dig(dr, "bounds", default={}) or {}, float(target)):
            report(message, stack.urn if stack else None)


def _copy_problems(bounds: Any, target: float) -> list[str]:
    """Per destination (a bounded copy over target) and per failure (unbounded or over target)."""
    problems: list[str] = []
    destinations = dig(bounds, "rpo_by_destination", default={}) or {}
    for destination in destinations:
        seconds, mechanism = dig(destinations, destination, "seconds"), dig(destinations, destination, "mechanism")
        if isinstance(seconds, int | float) and seconds > target:
            rds = " (RDS's 300 s log upload is no RPO for the three-cloud copies)" if "RDS" in str(mechanism) else ""
            problems.append(
                f"dr.bounds.rpo_by_destination.{destination} {num(seconds)} s exceeds the target {num(target)} s: "
                f"{mechanism}{rds}"
            )
    failures = dig(bounds, "rpo_by_failure", default={}) or {}
    for failure in failures:
        seconds, via = dig(failures, failure, "seconds"), dig(failures, failure, "via")
        if seconds is None:
            problems.append(f"dr.bounds.rpo_by_failure.{failure}: no copy of the database survives it")
        elif isinstance(seconds, int | float) and seconds > target:
            problems.append(
                f"dr.bounds.rpo_by_failure.{failure} {num(seconds)} s (via {via}) exceeds the target {num(target)} s"
            )
    return problems


POLICY = stack_rule(
    "dr-recovery-bounds",
    "Exported RTO/RPO bounds are within the stack's recovery targets.",
    check,
    severity=Severity.CRITICAL,
    remediation="Tighten dr.health_check (interval, threshold), dr.dns_ttl_seconds, database promotion, or "
    "backup.wal_archive_timeout_seconds / backup_jobs.wal_archive.push_bound_seconds until the bounds meet the "
    "targets; ship WAL with backup_jobs.wal_archive.mode archive_command instead of relying on RDS or dumps.",
    config={
        "environment": ENVIRONMENT_SCHEMA,
        "rtoSeconds": {"type": "number", "exclusiveMinimum": 0, "default": 300},
        "rpoSeconds": {"type": "number", "exclusiveMinimum": 0, "default": 60},
    },
)

"""Backups run often enough for the recovery point objective: each backup CronJob's longest gap between
runs stays within ``maxIntervalSeconds`` for its data class (defaults: chain 300 s, state 3600 s), and the
database's continuous WAL archiving (``dr.bounds.wal_archive_seconds`` in the outputs) within
``rpoSeconds``: full database dumps may be daily because the WAL carries the recovery point."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

from pulumi_policy import Severity, StackValidationArgs

from ._support import Report, dig, is_kind, num, stack_rule

CLASS_LABEL = "platform.example.com/backup-class"


def longest_gap_seconds(schedule: str, samples: int = 400) -> float:
    """Longest interval between consecutive runs over the next ``samples`` runs (croniter)."""
    from croniter import croniter

    start = datetime(2026, 1, 1, tzinfo=UTC)
    it = croniter(schedule, start)
    runs = [it.get_next(datetime) for _ in range(samples)]
    return max((b - a).total_seconds() for a, b in pairwise(runs))


def backup_class(props: dict) -> str | None:
    labels = dig(props, "metadata", "labels", default={}) or {}
    if labels.get("app.kubernetes.io/component") != "backup":
        return None
    return labels.get(CLASS_LABEL) or str(dig(props, "metadata", "name", default="")).rsplit("-", 1)[-1]


def check(args: StackValidationArgs, report: Report) -> None:
    config = args.get_config()
    limits = {str(k): float(v) for k, v in (config.get("maxIntervalSeconds") or {}).items()}
    for r in args.resources:
        if not is_kind(r.resource_type, "CronJob"):
            continue
        klass = backup_class(dict(r.props))
        if klass is None or klass not in limits:
            continue
        schedule = str(dig(r.props, "spec", "schedule", default=""))
        try:
            gap = longest_gap_seconds(schedule)
        except (ValueError, KeyError) as error:
            report(f"backup schedule {schedule!r} does not parse: {error}", r.urn)
            continue
        if gap > limits[klass]:
            report(f"{klass} backups run up to {gap:g} s apart ({schedule!r}); the limit is {limits[klass]:g} s", r.urn)
    stack = next((r for r in args.resources if r.resource_type == "pulumi:pulumi:Stack"), None)
    wal = dig(stack.props if stack else {}, "dr", "bounds", "wal_archive_seconds")
    rpo = config.get("rpoSeconds")
    if isinstance(wal, int | float) and rpo is not None and wal > rpo:
        report(f"WAL archive interval {num(wal)} s exceeds the RPO {num(rpo)} s", stack.urn if stack else None)


POLICY = stack_rule(
    "backup-schedule-within-rpo",
    "Backup schedules and WAL archiving keep the data-loss window within the recovery point objectives.",
    check,
    severity=Severity.HIGH,
    remediation="Shorten backup.classes.<class>.schedule or backup.wal_archive_timeout_seconds.",
    config={
        "maxIntervalSeconds": {
            "type": "object",
            "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
            "default": {"chain": 300, "state": 3600},
        },
        "rpoSeconds": {"type": "number", "exclusiveMinimum": 0, "default": 60},
    },
)

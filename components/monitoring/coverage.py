"""Alerts on what the other alerts cannot see: series that are absent, and batch Jobs that failed.

An alert over an empty vector never fires, so a lost exporter, a renamed metric or a service that stopped
exposing ``http_requests_total`` looks exactly like health, and the scalers reading that series silently stop
scaling. :func:`absence_rules` alerts on ``absent()`` of every series a *critical* alert or a scaler reads,
for each declared target that produces it. :func:`failed_job_rules` alerts on kube-state-metrics'
``kube_job_failed`` for the Jobs the stack's CronJobs (and the Redis bootstrap, the video ScaledJob) create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import promql_parser

from components.backup.config import DataClass, DataClassSettings
from components.lib.scrape import ScrapeTarget
from components.monitoring.config import MonitoringSettings, duration_seconds
from components.monitoring.rules import AlertRule, alert_rules, backup_max_age_seconds

HTTP_REQUESTS = "http_requests_total"
"""What HighErrorRate, KEDA's prometheus trigger, the adapter rule and the forecaster all read."""


@dataclass(frozen=True)
class CoverageInputs:
    """What the stack declares: its scrape targets and the Jobs its CronJobs/ScaledJobs create, by group.

    ``batch_jobs`` maps a group (backup, verify, maintenance, ...) to RE2 patterns of Job names.
    """

    namespace: str
    targets: tuple[ScrapeTarget, ...] = ()
    batch_jobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def metric_names(expr: str) -> set[str]:
    """Series names an expression selects (parsed: names in label values or strings are not metrics)."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(
                m.value for m in node.matchers.matchers if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal
            )

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def _absent(metric: str, selector: Mapping[str, str], delay: str, settings: MonitoringSettings, why: str) -> AlertRule:
    matchers = ",".join(f'{k}="{v}"' for k, v in sorted(selector.items()))
    where = " ".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return AlertRule(
        group="platform-absent",
        alert="MetricAbsent",
        expr=f"absent({metric}{{{matchers}}})",
        for_=delay,
        severity=settings.absence.severity,
        labels={"metric": metric, "scope": where or "all"},
        summary=f"No {metric} series{(' for ' + where) if where else ''}",
        description=f"Prometheus has had no {metric} series{(' for ' + where) if where else ''} for {delay}; {why}.",
    )


def absence_rules(
    settings: MonitoringSettings,
    critical: list[AlertRule],
    inputs: CoverageInputs,
    backup_classes: Mapping[DataClass, DataClassSettings],
) -> list[AlertRule]:
    """``absent()`` per (series, producer) for the series critical alerts and the scalers read."""
    if not settings.absence.enabled:
        return []
    delay = settings.absence.delay
    needed = sorted({m for rule in critical for m in metric_names(rule.expr)} | {HTTP_REQUESTS})
    rules: list[AlertRule] = []
    for metric in needed:
        scraped = [t for t in inputs.targets if metric in t.metrics]
        pushed = any(metric in job.metrics for t in inputs.targets for job in t.pushed)
        if metric == HTTP_REQUESTS:
            # Per service: one silent service must not hide behind the others' series.
            why = "HighErrorRate and this service's autoscaler read it"
            rules += [
                _absent(metric, {"namespace": t.namespace, "service": t.name}, delay, settings, why) for t in scraped
            ]
        elif pushed:
            # Pushed by a batch job: nothing exists before its first run, so wait one staleness bound per class.
            for name, data_class in sorted(backup_classes.items()):
                max_age = backup_max_age_seconds(data_class.schedule, settings.thresholds.backup_missed_runs)
                wait = f"{max(max_age, duration_seconds(delay))}s"
                rules.append(
                    _absent(metric, {"class": name}, wait, settings, "no backup run of the class has reported")
                )
        elif scraped:
            rules += [
                _absent(metric, {"namespace": t.namespace}, delay, settings, f"a critical alert reads it ({t.name})")
                for t in _one_per_namespace(scraped)
            ]
    return rules


def _one_per_namespace(targets: list[ScrapeTarget]) -> list[ScrapeTarget]:
    seen: dict[str, ScrapeTarget] = {}
    for target in targets:
        seen.setdefault(target.namespace, target)
    return [seen[k] for k in sorted(seen)]


def failed_job_rules(settings: MonitoringSettings, inputs: CoverageInputs) -> list[AlertRule]:
    """One rule per Job group: a Job of the group failed (Failed condition) and started within the window."""
    if not settings.failed_jobs.enabled:
        return []
    window = duration_seconds(settings.failed_jobs.window)
    rules = []
    for group, patterns in sorted(inputs.batch_jobs.items()):
        if not patterns:
            continue
        names = "|".join(sorted(patterns))
        rules.append(
            AlertRule(
                group="platform-jobs",
                alert="JobFailed",
                expr=(
                    f'max by (namespace, job_name) (kube_job_failed{{namespace="{inputs.namespace}",'
                    f'condition="true",job_name=~"{names}"}}) > 0\n'
                    f"  and on (namespace, job_name) (time() - kube_job_status_start_time) < {window}"
                ),
                severity=settings.failed_jobs.severity.get(group, "high"),
                labels={"job_group": group},
                summary=f"{group} Job {{{{ $labels.job_name }}}} failed",
                description=(
                    f"Job {{{{ $labels.job_name }}}} ({group}) failed in the last {settings.failed_jobs.window}; "
                    "see `kubectl logs job/{{ $labels.job_name }}`. Deleting the Job clears the alert."
                ),
            )
        )
    return rules


def all_alert_rules(
    settings: MonitoringSettings,
    backup_classes: Mapping[DataClass, DataClassSettings],
    inputs: CoverageInputs | None = None,
) -> list[AlertRule]:
    """The threshold alerts, then the absences of what the critical ones and the scalers read, then failed Jobs."""
    base = alert_rules(settings, backup_classes)
    if inputs is None:
        return base
    critical = [rule for rule in base if rule.severity == "critical"]
    return [*base, *absence_rules(settings, critical, inputs, backup_classes), *failed_job_rules(settings, inputs)]

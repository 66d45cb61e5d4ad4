"""The alert rules and dashboard queries through the real Prometheus rule engine (promtool, Debian package).

- ``promtool check rules`` on the ``spec`` of every PrometheusRule the plan renders.
- ``promtool test rules`` generated from the thresholds in config: for every alert one series just on the
  safe side of its threshold (never fires) and one just past it (fires, with the expected labels and
  annotations, only once its ``for`` has elapsed), plus a Redis node with maxmemory 0 that must not fire.
- Every dashboard query evaluated against series of the catalogued metrics: each returns data.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.config import duration_seconds
from components.monitoring.dashboards import dashboards, panel_queries
from components.monitoring.rules import BACKUP_FAILURE_WINDOW, AlertRule, alert_rules, backup_max_age_seconds
from components.platform.config import StackConfig, parse_config
from tests.plans import STACKS, deep_merge, manifests_of_kind, plan_of, stack_values

pytestmark = pytest.mark.real

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
STEP = 15  # seconds between input samples and between rule evaluations


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, check=False, capture_output=True, text=True, timeout=120)


def _render(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)


@dataclass
class Case:
    """Input series plus, per evaluation time, the label sets of the alerts expected to fire."""

    series: list[tuple[str, str]] = field(default_factory=list)
    checks: list[tuple[int, list[dict[str, str]]]] = field(default_factory=list)


def _counter(per_second: float, steps: int, start: float = 0.0) -> str:
    return f"{start:g}+{per_second * STEP:g}x{steps}"


def _gauge(value: float, steps: int) -> str:
    return f"{value:g}x{steps}"


def _delay_checks(rule: AlertRule, labels: dict[str, str], onset: int = STEP) -> list[tuple[int, list[dict[str, str]]]]:
    """Not firing before ``for`` has elapsed since the condition became true; firing a minute after."""
    delay = duration_seconds(rule.for_) if rule.for_ else 0
    before = onset + delay - STEP
    return [(before, []), (onset + delay + 60, [labels])] if delay else [(onset + 60, [labels])]


def _side(threshold: float, above: bool, margin: float = 0.02) -> float:
    return threshold * (1 + margin) if above else threshold * (1 - margin)


def _case_high_error_rate(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """5xx share of requests just under and just over the error-rate threshold."""
    t = config.monitoring.thresholds
    case = Case()
    for side, ratio in (("safe", _side(t.error_rate_ratio, False)), ("breach", _side(t.error_rate_ratio, True))):
        case.series.append((f'http_requests_total{{service="{side}",code="500"}}', _counter(100 * ratio, steps)))
        case.series.append((f'http_requests_total{{service="{side}",code="200"}}', _counter(100 * (1 - ratio), steps)))
    case.checks = _delay_checks(rule, {"service": "breach"})
    return case


def _p95_case(rule: AlertRule, target: float, steps: int) -> Case:
    """Histogram buckets whose interpolated p95 lands just below or just above ``target``."""
    case = Case()
    # Buckets around the target; 96 % (safe) or 94 % (breach) of requests within it puts the
    # interpolated p95 just below or just above the target.
    bounds = [f"{target / 2:g}", f"{target:g}", f"{target * 2:g}", "+Inf"]
    for side, within in (("safe", 96), ("breach", 94)):
        for le, cumulative in zip(bounds, (0, within, 100, 100), strict=True):
            case.series.append(
                (f'http_request_duration_seconds_bucket{{service="{side}",le="{le}"}}', _counter(cumulative, steps))
            )
    case.checks = _delay_checks(rule, {"service": "breach"})
    return case


def _case_high_response_time(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """The seed's response-time alert: p95 either side of ``response_time_seconds`` (2000 ms)."""
    return _p95_case(rule, config.monitoring.thresholds.response_time_seconds, steps)


def _case_latency_p95(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """The stricter API target: p95 either side of ``p95_latency_seconds`` (500 ms)."""
    return _p95_case(rule, config.monitoring.thresholds.p95_latency_seconds, steps)


def _case_cache_memory(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """Redis memory use either side of the ratio, plus a node without maxmemory that must not page."""
    t = config.monitoring.thresholds
    case = Case()
    maxmemory = 4 * 2**30
    for node, used, limit in (
        ("safe:9121", _side(t.cache_memory_ratio, False) * maxmemory, maxmemory),
        ("breach:9121", _side(t.cache_memory_ratio, True) * maxmemory, maxmemory),
        ("unlimited:9121", 3 * maxmemory, 0),  # maxmemory 0: ratio +Inf, must not page
    ):
        case.series.append((f'redis_memory_used_bytes{{instance="{node}",job="redis"}}', _gauge(round(used), steps)))
        case.series.append((f'redis_memory_max_bytes{{instance="{node}",job="redis"}}', _gauge(limit, steps)))
    case.checks = _delay_checks(rule, {"instance": "breach:9121", "job": "redis"}, onset=0)
    return case


def _case_cache_hit_rate(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """Redis hit ratio just above (capped below 1) and just below the minimum."""
    floor = config.monitoring.thresholds.cache_hit_rate_min
    case = Case()
    for job, ratio in (("safe", min(_side(floor, True), (1 + floor) / 2)), ("breach", _side(floor, False))):
        case.series.append((f'redis_keyspace_hits_total{{job="{job}",instance="a"}}', _counter(100 * ratio, steps)))
        case.series.append(
            (f'redis_keyspace_misses_total{{job="{job}",instance="a"}}', _counter(100 * (1 - ratio), steps))
        )
    case.checks = _delay_checks(rule, {"job": "breach"})
    return case


def _case_database_down(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """One Postgres instance up, one down."""
    case = Case()
    case.series.append(('pg_up{instance="safe",job="postgres"}', _gauge(1, steps)))
    case.series.append(('pg_up{instance="breach",job="postgres"}', _gauge(0, steps)))
    case.checks = _delay_checks(rule, {"instance": "breach", "job": "postgres"}, onset=0)
    return case


def _case_cache_node_down(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """One Redis node up, one down."""
    case = Case()
    case.series.append(('redis_up{instance="safe",job="redis"}', _gauge(1, steps)))
    case.series.append(('redis_up{instance="breach",job="redis"}', _gauge(0, steps)))
    case.checks = _delay_checks(rule, {"instance": "breach", "job": "redis"}, onset=0)
    return case


def _case_replication_lag(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """Replication lag just under and just over the threshold."""
    t = config.monitoring.thresholds
    case = Case()
    for side, lag in (
        ("safe", _side(t.replication_lag_seconds, False)),
        ("breach", _side(t.replication_lag_seconds, True)),
    ):
        case.series.append((f'pg_replication_lag_seconds{{instance="{side}",job="postgres"}}', _gauge(lag, steps)))
    case.checks = _delay_checks(rule, {"instance": "breach", "job": "postgres"}, onset=0)
    return case


def _case_backup_failed(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """A failure counter that steps once: fires after the step, resolves once it leaves the window."""
    case = Case()
    jump = 10  # the breach series' failure counter goes 0 -> 1 at this sample
    case.series.append(('backup_failures_total{class="safe"}', _gauge(0, steps)))
    case.series.append(('backup_failures_total{class="breach"}', f"0x{jump - 1} 1x{steps - jump}"))
    window = duration_seconds(BACKUP_FAILURE_WINDOW)
    case.checks = [
        ((jump - 1) * STEP, []),
        ((jump + 1) * STEP, [{"class": "breach"}]),
        (jump * STEP + window + 2 * STEP, []),  # resolves once the failure leaves the window
    ]
    return case


def _case_backup_stale(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """Last-completion times one step inside and one step past the class's maximum age."""
    t = config.monitoring.thresholds
    case = Case()
    name = rule.expr.split('class="', 1)[1].split('"', 1)[0]
    data_class = next(v for k, v in config.backup.classes.items() if k == name)
    max_age = backup_max_age_seconds(data_class.schedule, t.backup_missed_runs)
    # Completion time trails the clock by a constant age: one sample inside the limit, one past it.
    for side, age in (("safe", max_age - STEP), ("breach", max_age + STEP)):
        case.series.append((f'backup_completion_time{{class="{name}",instance="{side}"}}', _counter(1, steps, -age)))
    case.checks = [
        (STEP, [{"class": name, "instance": "breach"}]),
        (10 * STEP, [{"class": name, "instance": "breach"}]),
    ]
    return case


def _absent_selector(rule: AlertRule) -> str:
    return rule.expr.removeprefix("absent(").removesuffix(")")


def _case_metric_absent(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """The selected series present for a while, then gone: no alert while present, firing once the series has
    been stale (5 m lookback) for the rule's ``for``; another series of the same metric does not count."""
    inner = _absent_selector(rule)
    labels = dict(re.findall(r'(\w+)="([^"]*)"', inner))
    present = 20
    case = Case()
    case.series.append((inner, f"1x{present} _x{steps - present}"))
    other = inner.replace('="', '="other-', 1) if labels else inner + '{elsewhere="1"}'
    case.series.append((other, _gauge(1, steps)))
    gone = present * STEP + 300  # the last sample leaves Prometheus's 5-minute lookback
    delay = duration_seconds(rule.for_) if rule.for_ else 0
    margin = 2 * (LONG_STEP if delay > LONG_FOR else STEP)  # two evaluations of the file it runs in
    case.checks = [(present * STEP, []), (gone + delay - margin, []), (gone + delay + 2 * margin, [labels])]
    return case


def _example_job_name(pattern: str) -> str:
    return pattern.replace("[0-9]+", "29000460").replace("[a-z0-9]+", "x7k2p")


def _case_job_failed(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """A matching Job that failed fires until its start is older than the window; a matching Job that succeeded
    and a failed Job of no group here never fire."""
    pattern = re.search(r'job_name=~"([^"]+)"', rule.expr)
    assert pattern, rule.expr
    name = _example_job_name(pattern.group(1).split("|")[0])
    window = int(re.search(r"< ([0-9]+)$", rule.expr).group(1))  # type: ignore[union-attr]
    ns = config.namespace
    inside = 10 * STEP  # the Jobs started this long before the window's far edge at t=0
    case = Case()
    succeeded = name.replace("29000460", "29000470") if "29000460" in name else f"{name}-ok"
    # Failed and matching (fires until its start leaves the window); succeeded; failed but of no group here.
    for job, failed in ((name, 1), (succeeded, 0), ("unrelated-job-1", 1)):
        base = f'namespace="{ns}",job_name="{job}"'
        case.series.append((f'kube_job_failed{{{base},condition="true"}}', _gauge(failed, steps)))
        case.series.append((f'kube_job_failed{{{base},condition="false"}}', _gauge(1 - failed, steps)))
        case.series.append((f"kube_job_status_start_time{{{base}}}", _gauge(inside - window, steps)))
    case.checks = [
        (STEP, [{"namespace": ns, "job_name": name}]),
        (inside - STEP, [{"namespace": ns, "job_name": name}]),
    ]
    case.checks.append((inside + STEP, []))  # started longer than the window ago: resolved
    return case


def _case_drill_stale(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """No drill succeeds during the test: the last success ages past the bound ten steps in."""
    bound = int(rule.expr.rsplit(">", 1)[1])
    case = Case(series=[("dr_drill_last_success_timestamp_seconds", _gauge(-(bound - 10 * STEP), steps))])
    case.checks = [(5 * STEP, []), (12 * STEP, [{}])]
    return case


def _case_drill_never(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """An unlabelled absence: any series of the metric counts, so the case has only the one that goes away."""
    case = _case_metric_absent(rule, config, steps)
    case.series = case.series[:1]
    return case


def _case_wal_push_slow(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """A WAL push within the bound, then one over it; a slow dump of another class never counts."""
    bound = int(rule.expr.rsplit(">", 1)[1])
    case = Case()
    case.series.append(
        ('backup_duration_seconds{class="wal",instance="db-0"}', f"{bound - 1}x10 {bound + 1}x{steps - 10}")
    )
    case.series.append(('backup_duration_seconds{class="db",instance="job"}', _gauge(10 * bound, steps)))
    case.checks = [(5 * STEP, []), (15 * STEP, [{"class": "wal", "instance": "db-0"}])]
    return case


_CASES: dict[str, Callable[[AlertRule, StackConfig, int], Case]] = {
    "HighErrorRate": _case_high_error_rate,
    "HighResponseTime": _case_high_response_time,
    "LatencyP95AboveTarget": _case_latency_p95,
    "CacheMemoryCritical": _case_cache_memory,
    "CacheHitRateLow": _case_cache_hit_rate,
    "DatabaseConnectionFailure": _case_database_down,
    "CacheNodeDown": _case_cache_node_down,
    "ReplicationLagHigh": _case_replication_lag,
    "BackupFailed": _case_backup_failed,
    "BackupStale": _case_backup_stale,
    "MetricAbsent": _case_metric_absent,
    "JobFailed": _case_job_failed,
    "DrillStale": _case_drill_stale,
    "DrillNeverSucceeded": _case_drill_never,
    "WalPushSlow": _case_wal_push_slow,
}


def case_for(rule: AlertRule, config: StackConfig, steps: int) -> Case:
    """The promtool case for one alert: one builder per alert name, so each alert's series read on their own."""
    build = _CASES.get(rule.alert)
    if build is None:  # pragma: no cover - a new alert without a case fails here
        raise AssertionError(f"no promtool case for alert {rule.alert}: add one to _CASES")
    return build(rule, config, steps)


LONG_FOR = 3600
"""Rules waiting longer (absences of pushed backup series: one staleness bound) run in their own promtool file."""
LONG_STEP = 60


def _delay(rule: AlertRule) -> int:
    return duration_seconds(rule.for_) if rule.for_ else 0


def rules_of_plan(stack: str) -> list[AlertRule]:
    """The alert rules exactly as the plan renders them (absences and failed Jobs depend on the whole stack)."""
    rules = []
    for manifest in manifests_of_kind(plan_of(stack), "PrometheusRule"):
        for group in manifest["spec"]["groups"]:
            for body in group["rules"]:
                labels = {k: v for k, v in body["labels"].items() if k not in ("severity", "namespace")}
                rules.append(
                    AlertRule(
                        group=group["name"],
                        alert=body["alert"],
                        expr=body["expr"],
                        severity=body["labels"]["severity"],
                        summary=body["annotations"]["summary"],
                        description=body["annotations"]["description"],
                        for_=body.get("for"),
                        labels=labels,
                    )
                )
    return rules


def rule_test_document(
    config: StackConfig, rule_file: str, rules: list[AlertRule] | None = None
) -> tuple[dict[str, Any], int]:
    """A promtool test file with one test group per alert rule, thresholds from ``config``."""
    rules = rules if rules is not None else alert_rules(config.monitoring, config.backup.classes)
    assert rules, "no alert rules to test"
    evaluation = STEP if all(_delay(r) <= LONG_FOR for r in rules) else LONG_STEP
    groups = []
    for rule in rules:
        steps = 2 + (_delay(rule) + 600) // STEP + 200  # past the for, the 5 m lookback and a margin
        case = case_for(rule, config, steps)
        # Absence rules share an alert name: the others' series are present so only this one can fire.
        case.series += [
            (_absent_selector(other), _gauge(1, steps))
            for other in rules
            if rule.alert == other.alert == "MetricAbsent" and other is not rule
        ]
        fixed = rule.rule(config.namespace)["labels"]
        groups.append(
            {
                "name": f"{rule.alert} {rule.expr[:40]}",
                "interval": f"{STEP}s",
                "input_series": [{"series": s, "values": v} for s, v in case.series],
                "alert_rule_test": [
                    {
                        "eval_time": f"{at}s",
                        "alertname": rule.alert,
                        "exp_alerts": [
                            {
                                "exp_labels": {**labels, **fixed},
                                "exp_annotations": {
                                    "summary": _render(rule.summary, labels),
                                    "description": _render(rule.description, labels),
                                },
                            }
                            for labels in expected
                        ],
                    }
                    for at, expected in case.checks
                ],
            }
        )
    return {"rule_files": [rule_file], "evaluation_interval": f"{evaluation}s", "tests": groups}, len(rules)


def write_rule_files(stack_or_config: str | StackConfig, directory: Path) -> list[Path]:
    """The ``spec`` of each PrometheusRule of the plan (or of a config's rules), as promtool rule files."""
    if isinstance(stack_or_config, str):
        specs = [m["spec"] for m in manifests_of_kind(plan_of(stack_or_config), "PrometheusRule")]
    else:
        from components.monitoring.rules import prometheus_rule_manifests

        config = stack_or_config
        classes = config.backup.classes
        rules = alert_rules(config.monitoring, classes)
        specs = [m["spec"] for m in prometheus_rule_manifests(config.monitoring, rules, config.namespace)]
    paths = []
    for i, spec in enumerate(specs):
        path = directory / f"rules-{i}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        paths.append(path)
    return paths


def merged_rule_file(paths: list[Path], directory: Path) -> Path:
    groups = [g for p in paths for g in yaml.safe_load(p.read_text())["groups"]]
    merged = directory / "all-rules.yaml"
    merged.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return merged


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_check_rules_on_every_rendered_rule_file(stack: str, tmp_path: Path) -> None:
    paths = write_rule_files(stack, tmp_path)
    assert len(paths) == 6
    result = promtool("check", "rules", *[p.name for p in paths], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(paths)


def test_promtool_check_rules_catches_a_broken_expression(tmp_path: Path) -> None:
    (path, *_) = write_rule_files("prod", tmp_path)
    path.write_text(path.read_text().replace("sum by (service)", "sum by service", 1))
    result = promtool("check", "rules", path.name, cwd=tmp_path)
    assert result.returncode != 0


def _run_rule_tests(config: StackConfig, tmp_path: Path, plan_stack: str | None = None) -> str:
    """Every rule's generated case through ``promtool test rules``; rules with a ``for`` over an hour are tested
    against a file of their own at a coarser evaluation interval (each test group evaluates every rule in its
    files, so at 15 s a 12-hour horizon would take minutes)."""
    paths = write_rule_files(plan_stack or config, tmp_path)
    merged = merged_rule_file(paths, tmp_path)
    rules = rules_of_plan(plan_stack) if plan_stack else alert_rules(config.monitoring, config.backup.classes)
    assert len(rules) >= 9
    short = [r for r in rules if _delay(r) <= LONG_FOR]
    long = [r for r in rules if _delay(r) > LONG_FOR]
    outputs = []
    for name, chosen in (("short", short), ("long", long)):
        if not chosen:
            continue
        rule_file = merged.name if name == "short" else _rule_file_of(chosen, merged, tmp_path).name
        document, _ = rule_test_document(config, rule_file, chosen)
        (tmp_path / f"tests-{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        result = promtool("test", "rules", f"tests-{name}.yaml", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout)
    return "\n".join(outputs)


def _rule_file_of(rules: list[AlertRule], merged: Path, directory: Path) -> Path:
    """The rendered bodies of ``rules`` only (matched by alert name and labels), as one rule file."""
    wanted = {(r.alert, tuple(sorted(r.labels.items()))) for r in rules}
    groups = []
    for group in yaml.safe_load(merged.read_text())["groups"]:
        kept = [
            body
            for body in group["rules"]
            if (
                body["alert"],
                tuple(sorted((k, v) for k, v in body["labels"].items() if k not in ("severity", "namespace"))),
            )
            in wanted
        ]
        if kept:
            groups.append({"name": group["name"], "rules": kept})
    path = directory / "long-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_fires_just_past_its_threshold_and_not_before(stack: str, tmp_path: Path) -> None:
    assert "SUCCESS" in _run_rule_tests(parse_config(stack_values(stack)), tmp_path, plan_stack=stack)


def test_generated_tests_track_changed_thresholds(tmp_path: Path) -> None:
    changed = deep_merge(
        stack_values("prod"),
        {
            "monitoring": {
                "thresholds": {
                    "error_rate_ratio": 0.01,
                    "error_rate_for": "5m",
                    "cache_memory_ratio": 0.75,
                    "cache_hit_rate_min": 0.95,
                    "p95_latency_seconds": 0.25,
                    "replication_lag_seconds": 10,
                    "backup_missed_runs": 3,
                }
            }
        },
    )
    assert "SUCCESS" in _run_rule_tests(parse_config(changed), tmp_path)


def test_generated_tests_fail_against_rules_with_other_thresholds(tmp_path: Path) -> None:
    """The generated tests are not vacuous: run against the prod rules, tests for other thresholds fail."""
    prod = parse_config(stack_values("prod"))
    other = parse_config(deep_merge(stack_values("prod"), {"monitoring": {"thresholds": {"error_rate_ratio": 0.2}}}))
    merged = merged_rule_file(write_rule_files(prod, tmp_path), tmp_path)
    document, _ = rule_test_document(other, merged.name)
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert result.returncode != 0
    assert "HighErrorRate" in result.stdout + result.stderr


# --- dashboards ---------------------------------------------------------------------------------------

#: One series per catalogued metric, with the labels the panels group by.
DASHBOARD_SERIES: dict[str, list[tuple[str, Callable[[int], str]]]] = {
    "http_requests_total": [
        ('{service="backend",code="200"}', lambda n: _counter(90, n)),
        ('{service="backend",code="500"}', lambda n: _counter(10, n)),
    ],
    "http_request_duration_seconds_bucket": [
        (f'{{service="backend",le="{le}"}}', lambda n, c=c: _counter(c, n))
        for le, c in (("0.1", 50), ("0.5", 90), ("2", 99), ("+Inf", 100))
    ],
    "http_request_duration_seconds_sum": [('{service="backend"}', lambda n: _counter(30, n))],
    "http_request_duration_seconds_count": [('{service="backend"}', lambda n: _counter(100, n))],
    "redis_up": [('{instance="r0",job="redis"}', lambda n: _gauge(1, n))],
    "redis_memory_used_bytes": [('{instance="r0",job="redis"}', lambda n: _gauge(2e9, n))],
    "redis_memory_max_bytes": [('{instance="r0",job="redis"}', lambda n: _gauge(4e9, n))],
    "redis_keyspace_hits_total": [('{instance="r0",job="redis"}', lambda n: _counter(80, n))],
    "redis_keyspace_misses_total": [('{instance="r0",job="redis"}', lambda n: _counter(20, n))],
    "redis_evicted_keys_total": [('{instance="r0",job="redis"}', lambda n: _counter(1, n))],
    "redis_connected_clients": [('{instance="r0",job="redis"}', lambda n: _gauge(12, n))],
    "pg_up": [('{instance="db",job="postgres"}', lambda n: _gauge(1, n))],
    "pg_replication_lag_seconds": [('{instance="replica",job="postgres"}', lambda n: _gauge(2, n))],
    "pg_stat_database_numbackends": [('{instance="db",datname="app"}', lambda n: _gauge(20, n))],
    "backup_completion_time": [('{class="db"}', lambda n: _counter(1, n, -600))],
    "backup_failures_total": [('{class="db"}', lambda n: _gauge(0, n))],
    "backup_duration_seconds": [('{class="db"}', lambda n: _gauge(42, n))],
    "backup_bytes_total": [('{class="db"}', lambda n: _counter(1e6, n))],
    "dr_drill_last_success_timestamp_seconds": [('{job="dr_drill"}', lambda n: _counter(1, n, -3600))],
    "velero_backup_last_successful_timestamp": [('{schedule="app-state-hourly"}', lambda n: _counter(1, n, -60))],
    "velero_backup_failure_total": [('{schedule="app-state-hourly"}', lambda n: _gauge(0, n))],
    "kube_deployment_status_replicas_available": [('{deployment="backend"}', lambda n: _gauge(5, n))],
    "kube_job_failed": [('{job_name="backup-db-1",condition="true"}', lambda n: _gauge(0, n))],
    "kube_job_status_start_time": [('{job_name="backup-db-1"}', lambda n: _counter(1, n, -60))],
    "kube_horizontalpodautoscaler_status_current_replicas": [
        ('{horizontalpodautoscaler="frontend"}', lambda n: _gauge(2, n))
    ],
    "container_cpu_usage_seconds_total": [('{pod="backend-0",container="backend"}', lambda n: _counter(0.3, n))],
    "container_memory_working_set_bytes": [('{pod="backend-0",container="backend"}', lambda n: _gauge(3e8, n))],
    "ALERTS": [('{alertname="HighErrorRate",alertstate="firing",severity="critical"}', lambda n: _gauge(1, n))],
}


def test_dashboard_series_cover_the_catalogue() -> None:
    from components.monitoring.rules import METRICS

    assert set(DASHBOARD_SERIES) == set(METRICS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_dashboard_query_returns_data(stack: str, tmp_path: Path) -> None:
    config = parse_config(stack_values(stack))
    models = dashboards(config.monitoring, config.backup.classes)
    queries = [(key, q) for key, model in models.items() for q in panel_queries(model)]
    # Each query becomes an alert that fires when the query returns at least one series.
    rules = [{"alert": f"Q{i}", "expr": f"count({q}) > 0"} for i, (_, q) in enumerate(queries)]
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    check = promtool("check", "rules", "queries.yaml", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    steps = 40
    series = [
        {"series": f"{metric}{labels}", "values": make(steps)}
        for metric, entries in DASHBOARD_SERIES.items()
        for labels, make in entries
    ]
    document = {
        "rule_files": ["queries.yaml"],
        "evaluation_interval": f"{STEP}s",
        "tests": [
            {
                "interval": f"{STEP}s",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": f"Q{i}", "exp_alerts": [{"exp_labels": {}}]}
                    for i in range(len(queries))
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    if result.returncode != 0:
        failed = sorted({int(m) for m in re.findall(r"alertname: Q(\d+)", result.stdout + result.stderr)})
        pytest.fail("queries without data: " + "; ".join(f"{queries[i][0]}: {queries[i][1]}" for i in failed))

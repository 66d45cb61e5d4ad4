"""One run of the cell: start, wire, reach the steady state, inject the faults, watch them travel, report."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policies.rules._promql import selected_names

from . import servers as srv
from .plan import PlanView
from .processes import free_port, get_json, wait_until
from .standins import Exposition, StandInService, Webhook
from .wiring import Target, alertmanager_config, prometheus_config, scrape_jobs

INTERVAL_S = 2
"""Scrape and rule-evaluation interval of the cell (the plan scrapes every 30 s; shorter so faults show in
seconds). Rules keep their expressions, ``for:`` and labels."""

LIVE_FOR_LIMIT_S = 60.0
"""A rule whose ``for:`` is at most this is proven firing and delivered live; a longer one goes pending live and
its firing half is proven with ``promtool test rules`` on the same expression, its routing with ``amtool``."""

PROMETHEUS_INTERNAL = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
"""Series Prometheus writes itself while an alert is active: checked once the faults are in, not at steady state."""

HTTP_FAULT = {"error_rate": 0.10, "latency": 2.6}
"""10 % of answers 5xx and every answer 2.6 s (p95 above the 2 s and 0.5 s targets)."""


def _seconds(duration: str | None) -> float:
    if not duration:
        return 0.0
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", str(duration)):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return total


@dataclass
class Fault:
    name: str
    how: str
    expected: list[dict[str, Any]] = field(default_factory=list)
    """Each: alert, labels to match, for_seconds, mode (live|promtool), receivers (routed)."""
    observed: dict[str, Any] = field(default_factory=dict)
    gap: str = ""


class Cell:
    def __init__(self, plan: PlanView, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.servers = srv.Servers(workdir)
        self.services: dict[str, StandInService] = {}
        self.expositions: list[Exposition] = []
        self.webhook = Webhook()
        self.targets: dict[str, list[Target]] = {}
        self.not_run: dict[str, str] = {}
        self.prom = ""
        self.am = ""
        self.pushgateway = ""
        self.key_file = workdir / "backup.key"
        self.am_config: dict[str, Any] = {}
        self.started = time.monotonic()

    # --- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        monitors = {m.name: m for m in self.plan.monitors}
        cluster = srv.start_redis(self.servers, self.plan.manifests)
        for pod, node in cluster.nodes.items():
            _, listen = srv.redis_exporter(self.servers, pod, node.address)
            for m in monitors.values():
                if m.app == "redis":
                    self.targets.setdefault(m.name, []).append(Target(listen, pod, "exporter"))
        postgres = srv.Postgres.create()
        self.servers.postgres = postgres
        postgres.start()
        for m in monitors.values():
            if "pg_up" in m.metrics:
                _, listen = srv.postgres_exporter(self.servers, m.name, postgres.dsn)
                pod = f"{m.app}-0" if m.kind == "PodMonitor" else m.app
                self.targets.setdefault(m.name, []).append(Target(listen, pod, "exporter"))
        for m in monitors.values():
            if m.pushed:
                self.pushgateway = srv.pushgateway(self.servers)
                self.targets.setdefault(m.name, []).append(Target(self.pushgateway, f"{m.app}-0", "pushgateway", m.app))
            elif "http_requests_total" in m.metrics:
                service = StandInService(m.app)
                service.load(clients=3, pause=0.3)
                self.services[m.app] = service
                self.targets.setdefault(m.name, []).append(
                    Target(f"127.0.0.1:{service.port}", f"{m.app}-0", m.app, m.app)
                )
            elif m.name not in self.targets and m.metrics & self._queried_names():
                exposition = Exposition(functools.partial(_static_exposition, sorted(m.metrics)))
                self.expositions.append(exposition)
                self.targets[m.name] = [Target(f"127.0.0.1:{exposition.port}", f"{m.app}-0", m.app, m.app)]
                self.not_run[m.name] = f"{m.app}: not packaged here; a stand-in exposition serves the declared series"
            elif m.name not in self.targets:
                self.not_run[m.name] = "not started: no query of the plan reads its series"
        jobs = scrape_jobs(self.plan.monitors, self.targets, f"{INTERVAL_S}s")
        external = sorted(self.plan.external - PROMETHEUS_INTERNAL - {"up"})
        kube = Exposition(lambda: _kube_exposition(external, self.plan.routing_namespace))
        self.expositions.append(kube)
        jobs.append(
            {
                "job_name": "kube-state-metrics-and-kubelet",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{kube.port}"]}],
            }
        )
        self.am_config = alertmanager_config(
            self.plan.routing, self.plan.routing_namespace, "platform-routing", self.webhook.url
        )
        self.am = srv.alertmanager(self.servers, self.am_config)
        self.prom = srv.prometheus(
            self.servers, prometheus_config(jobs, [], self.am, f"{INTERVAL_S}s"), self.plan.rule_groups
        )
        wait_until(self._targets_up, "every scrape target up")
        subprocess.run([*srv.backup_cli(), "keygen", str(self.key_file)], check=True, capture_output=True, cwd=srv.REPO)

    def _queried_names(self) -> set[str]:
        return set(self.plan.queried)

    def _targets_up(self) -> bool:
        active = get_json(f"http://{self.prom}/api/v1/targets")["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)

    # --- queries ---------------------------------------------------------------------------------

    def query(self, expr: str) -> list[dict[str, Any]]:
        return get_json(f"http://{self.prom}/api/v1/query", {"query": expr})["data"]["result"]

    def missing(self) -> list[str]:
        names = sorted(set(self.plan.queried) - PROMETHEUS_INTERNAL)
        return [n for n in names if not self.query(f'count({{__name__="{n}"}})')]

    def alerts(self) -> list[dict[str, Any]]:
        return get_json(f"http://{self.prom}/api/v1/alerts")["data"]["alerts"]

    def evaluations(self) -> float:
        """When the least recently evaluated rule group was last evaluated (epoch seconds, /api/v1/rules)."""
        groups = get_json(f"http://{self.prom}/api/v1/rules")["data"]["groups"]
        stamps = [dt.datetime.fromisoformat(g["lastEvaluation"].replace("Z", "+00:00")).timestamp() for g in groups]
        return min(stamps) if stamps else 0.0

    def steady(self, evaluations: int = 3) -> float:
        """Every queried series present and no alert pending or firing, still so after ``evaluations`` more
        evaluations of every rule group (rates over fresh series start empty, so one clean look proves little)."""
        start = time.monotonic()
        wait_until(lambda: not self.missing() and not self.alerts(), "every queried series present, no alert")
        clean_since = self.evaluations()
        wait_until(
            lambda: self.evaluations() >= clean_since + evaluations * INTERVAL_S,
            f"{evaluations} more rule evaluations",
        )
        if self.alerts() or self.missing():
            raise TimeoutError(
                f"steady state lost within {evaluations} evaluations: {[a['labels'] for a in self.alerts()]}"
            )
        return time.monotonic() - start

    # --- backups ---------------------------------------------------------------------------------

    def backup(
        self, backup_class: str, target: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        source = self.workdir / "backup-source"
        source.mkdir(exist_ok=True)
        (source / "state.txt").write_text(f"cell state {time.time()}\n")
        argv = [
            *srv.backup_cli(), "backup", "--source-dir", str(source), "--class", backup_class, "--target", target,
            "--key-file", str(self.key_file), "--pushgateway", f"http://{self.pushgateway}", "--log-format", "json",
        ]  # fmt: skip
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            cwd=srv.REPO,
            env={**os.environ, **(env or {})},
            timeout=300,
        )

    def backup_classes(self) -> list[str]:
        classes: set[str] = set()
        pushed = {name for m in self.plan.monitors for series in m.pushed.values() for name in series}
        for groups in self.plan.rule_groups.values():
            for group in groups:
                for rule in group["rules"]:
                    names, _ = selected_names(rule["expr"])
                    if names & pushed:
                        classes.update(re.findall(r'class="([^"]+)"', rule["expr"]))
        return sorted(classes)

    def wal_push(self) -> subprocess.CompletedProcess[str]:
        """``wal-push`` (PostgreSQL's archive_command) of a real, completed WAL segment of the cell's server."""
        postgres = self.servers.postgres
        assert postgres is not None
        postgres.psql("SELECT pg_switch_wal()")
        segments = sorted(
            p for p in (postgres.root / "data" / "pg_wal").iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name)
        )
        argv = [
            *srv.backup_cli(), "wal-push", str(segments[0]), "--target", f"file://{self.workdir / 'vault' / 'wal'}",
            "--key-file", str(self.key_file), "--pushgateway", f"http://{self.pushgateway}", "--log-format", "json",
        ]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, check=False, cwd=srv.REPO, timeout=300)

    def steady_backups(self) -> dict[str, Any]:
        """One successful run per backup class the rules watch (``wal`` through ``wal-push``), so the steady
        state has every class's series. A run that fails is reported (the steady state then shows what is
        missing or firing), not hidden."""
        runs: dict[str, Any] = {}
        for backup_class in self.backup_classes():
            if backup_class == "wal":
                done = self.wal_push()
            else:
                done = self.backup(backup_class, f"file://{self.workdir / 'vault' / backup_class}")
            runs[backup_class] = (
                done.returncode if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-500:]}"
            )
        return runs

    def close(self) -> None:
        for service in self.services.values():
            service.close()
        for exposition in self.expositions:
            exposition.close()
        self.webhook.close()
        self.servers.close()


def _static_exposition(names: list[str]) -> str:
    lines = []
    for name in names:
        value = time.time() if name.endswith("_timestamp") else 0
        lines.append(f"{name} {value}")
    return "\n".join(lines) + "\n"


def _kube_exposition(names: list[str], namespace: str) -> str:
    """kube-state-metrics and cAdvisor series the plan lists as collected by the monitoring stack itself: one
    healthy sample each (a completed backup Job, an available Deployment, a pod's CPU and memory)."""
    now = time.time()
    samples = {
        "kube_job_failed": f'kube_job_failed{{namespace="{namespace}",job_name="backup-db-1",condition="true"}} 0',
        "kube_job_status_failed": f'kube_job_status_failed{{namespace="{namespace}",job_name="backup-db-1"}} 0',
        "kube_job_status_start_time": f'kube_job_status_start_time{{namespace="{namespace}",job_name="backup-db-1"}} {now - 60}',
        "kube_deployment_status_replicas_available": f'kube_deployment_status_replicas_available{{namespace="{namespace}",deployment="backend"}} 3',
        "kube_horizontalpodautoscaler_status_current_replicas": f'kube_horizontalpodautoscaler_status_current_replicas{{namespace="{namespace}",horizontalpodautoscaler="backend"}} 3',
        "container_cpu_usage_seconds_total": f'container_cpu_usage_seconds_total{{namespace="{namespace}",pod="backend-0",container="backend"}} {now % 1000}',
        "container_memory_working_set_bytes": f'container_memory_working_set_bytes{{namespace="{namespace}",pod="backend-0",container="backend"}} 1.5e8',
    }
    return "\n".join(samples.get(n, f"{n} 0") for n in names) + "\n"


def promtool_firing(
    cell: Cell, rule: dict[str, Any], matchers: dict[str, str], live_labels: dict[str, str]
) -> dict[str, Any]:
    """The firing half of a rule whose ``for:`` is minutes long: ``promtool test rules`` on the same expression,
    ``for:`` and labels, fed the rates the live fault produced (each raw series the expression reads, continued at
    its measured per-minute increase) for the rate window plus ``for:`` plus two minutes."""
    names, _ = selected_names(rule["expr"])
    sel = ",".join(f'{k}="{v}"' for k, v in matchers.items())
    minutes = int((_seconds(rule.get("for")) + 600) // 60) + 2
    series = []
    for name in sorted(names):
        for sample in cell.query(f'rate({{__name__="{name}",{sel}}}[1m])'):
            labels = {
                k: v for k, v in sample["metric"].items() if k not in ("instance", "pod", "container", "endpoint")
            }
            text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            per_minute = float(sample["value"][1]) * 60
            series.append({"series": f"{name}{{{text}}}", "values": f"0+{per_minute:.6f}x{minutes}"})
    if not series:
        return {"passed": False, "output": "no live series to continue"}
    copy = {k: v for k, v in rule.items() if k != "annotations"}
    root = cell.workdir / "promtool" / f"{rule['alert']}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "cell", "rules": [copy]}]}, sort_keys=False))
    expected = {k: v for k, v in live_labels.items() if k != "alertstate"}
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": f"{minutes}m", "alertname": rule["alert"], "exp_alerts": [{"exp_labels": expected}]}
                ],
            }
        ],
    }
    (root / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = subprocess.run(
        ["promtool", "test", "rules", "test.yml"], cwd=root, capture_output=True, text=True, check=False
    )
    return {"passed": done.returncode == 0, "eval_minutes": minutes, "output": (done.stdout + done.stderr)[-800:]}


def amtool_routes(cell: Cell, labels: dict[str, str]) -> list[str]:
    """Alertmanager's own routing (``amtool config routes test``) for ``labels``."""
    config = cell.workdir / "alertmanager" / "alertmanager.yml"
    done = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}", *(f"{k}={v}" for k, v in labels.items())],
        capture_output=True,
        text=True,
        check=False,
    )
    return [r.strip() for r in done.stdout.strip().split(",") if r.strip()]


def rule_named(plan: PlanView, alert: str, reads: str | None = None) -> dict[str, Any] | None:
    for groups in plan.rule_groups.values():
        for group in groups:
            for rule in group["rules"]:
                if rule.get("alert") == alert and (reads is None or reads in selected_names(rule["expr"])[0]):
                    return rule
    return None


def rules_reading(plan: PlanView, series: str) -> list[dict[str, Any]]:
    """Alerting rules whose expression reads ``series`` outside an ``absent()`` (which fires on no series)."""
    found = []
    for groups in plan.rule_groups.values():
        for group in groups:
            for rule in group["rules"]:
                if (
                    "alert" in rule
                    and series in selected_names(rule["expr"])[0]
                    and not rule["expr"].startswith("absent(")
                ):
                    found.append(rule)
    return found


def free_closed_port() -> int:
    """A port nothing listens on (taken free, then released): the unreachable backup target."""
    return free_port()


@contextlib.contextmanager
def cell_of(plan: PlanView, workdir: Path) -> Iterator[Cell]:
    cell = Cell(plan, workdir)
    try:
        yield cell
    finally:
        cell.close()

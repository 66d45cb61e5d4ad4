"""Prometheus's and Alertmanager's configuration built from the plan, the way prometheus-operator builds it.

Each monitor endpoint becomes a scrape job named like the operator's (``serviceMonitor/<ns>/<name>/<i>``) whose
targets are the loopback processes standing in for the monitor's selector, carrying the labels Kubernetes
service discovery would give them (``namespace``, ``service``, ``pod``, ``container``, ``endpoint``, ``job``);
the endpoint's ``honorLabels``, ``path``, ``relabelings`` and ``metricRelabelings`` are kept. Intervals are
shortened (the cell's ``interval`` for scraping and evaluation, group_wait/group_interval of seconds) so a fault
shows within seconds; the rules' expressions, ``for:`` and labels are loaded unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .plan import Monitor

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class Target:
    """A loopback process standing in for one pod the monitor selects."""

    address: str
    pod: str
    container: str
    service: str = ""


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _relabel(rules: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The CRD's relabel config (camelCase) in Prometheus's (snake_case)."""
    out = []
    for rule in rules:
        converted = {_snake(k): v for k, v in rule.items()}
        if "action" in converted:
            converted["action"] = str(converted["action"]).lower()
        out.append(converted)
    return out


def scrape_jobs(monitors: list[Monitor], targets: Mapping[str, list[Target]], interval: str) -> list[dict[str, Any]]:
    """One job per monitor endpoint whose selector has loopback targets (``targets`` keyed by monitor name)."""
    jobs = []
    for monitor in monitors:
        for i, endpoint in enumerate(monitor.endpoints):
            kind = "serviceMonitor" if monitor.kind == "ServiceMonitor" else "podMonitor"
            static = []
            for target in targets.get(monitor.name, []):
                labels = {
                    "namespace": monitor.namespace,
                    "pod": target.pod,
                    "container": target.container,
                    "endpoint": str(endpoint.get("port", "")),
                }
                if monitor.kind == "ServiceMonitor":
                    labels["service"] = target.service or monitor.app
                    labels["job"] = target.service or monitor.app
                else:
                    labels["job"] = f"{monitor.namespace}/{monitor.name}"
                static.append({"targets": [target.address], "labels": labels})
            if not static:
                continue
            job: dict[str, Any] = {
                "job_name": f"{kind}/{monitor.namespace}/{monitor.name}/{i}",
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "metrics_path": endpoint.get("path", "/metrics"),
                "honor_labels": bool(endpoint.get("honorLabels", False)),
                "static_configs": static,
            }
            if endpoint.get("relabelings"):
                job["relabel_configs"] = _relabel(endpoint["relabelings"])
            if endpoint.get("metricRelabelings"):
                job["metric_relabel_configs"] = _relabel(endpoint["metricRelabelings"])
            jobs.append(job)
    return jobs


def prometheus_config(
    jobs: list[dict[str, Any]], rule_files: list[str], alertmanager: str, interval: str
) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": jobs,
    }


def _matcher(m: Mapping[str, Any]) -> str:
    op = m.get("matchType", "=")
    return f'{m["name"]}{op}"{m["value"]}"'


def _route(route: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "receiver" in route:
        out["receiver"] = f"{prefix}{route['receiver']}"
    if route.get("matchers"):
        out["matchers"] = [_matcher(m) for m in route["matchers"]]
    if "continue" in route:
        out["continue"] = bool(route["continue"])
    if route.get("groupBy"):
        out["group_by"] = list(route["groupBy"])
    if route.get("repeatInterval"):
        out["repeat_interval"] = route["repeatInterval"]
    if route.get("routes"):
        out["routes"] = [_route(child, prefix) for child in route["routes"]]
    return out


def alertmanager_config(spec: Mapping[str, Any], namespace: str, name: str, webhook: str) -> dict[str, Any]:
    """alertmanager.yml as the operator generates it from one AlertmanagerConfig: its route becomes a child of
    the root matching ``namespace``, receivers are named ``<ns>/<name>/<receiver>``; every receiver's
    integrations (PagerDuty, Slack, email) are replaced by one webhook to ``webhook/<receiver>`` that records
    what it gets. Alerts outside the namespace go to ``unrouted`` (also recorded, so a stray is visible)."""
    prefix = f"{namespace}/{name}/"
    child = _route(spec["route"], prefix)
    child["matchers"] = [f'namespace="{namespace}"', *child.get("matchers", [])]
    child["group_wait"] = "1s"
    child["group_interval"] = "2s"
    receivers = [{"name": "unrouted", "webhook_configs": [{"url": f"{webhook}/unrouted"}]}]
    for receiver in spec.get("receivers", []):
        send_resolved = any(
            bool(c.get("sendResolved", False))
            for key, configs in receiver.items()
            if key.endswith("Configs")
            for c in configs
        )
        receivers.append(
            {
                "name": f"{prefix}{receiver['name']}",
                "webhook_configs": [{"url": f"{webhook}/{receiver['name']}", "send_resolved": send_resolved}],
            }
        )
    return {
        "route": {
            "receiver": "unrouted",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "4h",
            "routes": [child],
        },
        "receivers": receivers,
    }


def routed_receivers(config: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """The receivers Alertmanager's routing tree sends ``labels`` to (equality matchers, ``continue``)."""

    def matches(route: Mapping[str, Any]) -> bool:
        for matcher in route.get("matchers", []):
            key, value = matcher.split("=", 1)
            if labels.get(key) != value.strip('"'):
                return False
        return True

    def walk(route: Mapping[str, Any]) -> list[str]:
        found: list[str] = []
        for child in route.get("routes", []):
            if matches(child):
                found.extend(walk(child))
                if not child.get("continue", False):
                    break
        return found or [route["receiver"]]

    return walk(config["route"])

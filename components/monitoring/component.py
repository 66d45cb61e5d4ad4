"""Alerts, dashboards and alert routing for the platform, for kube-prometheus-stack.

What is declared:
- ``PrometheusRule`` objects (one per rule group), labelled ``release: <release_label>`` because
  kube-prometheus-stack's default ``ruleSelector`` only picks up rules carrying its release label
  (prometheus-community/helm-charts#3648): an unlabelled rule is accepted by the API server and silently
  never evaluated.
- Grafana dashboards as ConfigMaps labelled ``grafana_dashboard: "1"`` (the Grafana sidecar's default
  label), built in :mod:`components.monitoring.dashboards` from the same metric names the rules use.
- An ``AlertmanagerConfig`` (monitoring.coreos.com/v1alpha1) routing by the ``severity`` label to the
  receivers in config; PagerDuty keys and Slack webhooks are Secret key references, never values.

Every alert carries ``severity`` and ``namespace`` labels: the operator scopes an AlertmanagerConfig to
alerts whose ``namespace`` label equals its own namespace, so an alert without it would reach no receiver.

Metric sources (see components/monitoring/README.md): HTTP from the services' ``http_requests_total{service,code}`` and
``http_request_duration_seconds`` histogram; Redis from redis_exporter; PostgreSQL and replica lag from
postgres_exporter (``pg_up``, ``pg_replication_lag_seconds``, scraped from the DR replica); backups from the
backup function's ``backup_completion_time`` / ``backup_failures_total`` (label ``class``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.backup.config import DataClass, DataClassSettings
from components.lib.k8s import app_labels, custom_object, declare
from components.monitoring.config import MonitoringSettings, Receiver
from components.monitoring.dashboards import dashboards
from components.monitoring.rules import alert_rules, prometheus_rule_manifests


def _receiver(receiver: Receiver) -> dict[str, Any]:
    body: dict[str, Any] = {"name": receiver.name}
    if receiver.kind == "pagerduty":
        assert receiver.secret_name
        body["pagerdutyConfigs"] = [
            {
                "routingKey": {"name": receiver.secret_name, "key": receiver.secret_key},
                "severity": '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}error{{ end }}',
                "sendResolved": True,
            }
        ]
    elif receiver.kind == "slack":
        assert receiver.secret_name
        slack: dict[str, Any] = {
            "apiURL": {"name": receiver.secret_name, "key": receiver.secret_key},
            "sendResolved": True,
            "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.severity }}: {{ .CommonLabels.alertname }}",
            "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}",
        }
        if receiver.channel:
            slack["channel"] = receiver.channel
        body["slackConfigs"] = [slack]
    else:
        body["emailConfigs"] = [{"to": receiver.to, "sendResolved": True}]
    return body


def alertmanager_config_manifest(settings: MonitoringSettings, namespace: str) -> dict[str, Any]:
    """Severity routing: one child route per (severity, receiver), ``continue`` so every receiver gets it.

    An alert whose severity matches no child route goes to ``default_receiver`` (the root route's).
    """
    routes: list[dict[str, Any]] = []
    for severity in ("critical", "high", "medium"):
        targets = settings.routes.get(severity, ())
        for i, target in enumerate(targets):
            routes.append(
                {
                    "receiver": target,
                    "matchers": [{"name": "severity", "value": severity, "matchType": "="}],
                    "continue": i < len(targets) - 1,
                }
            )
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {
            "name": "platform-routing",
            "namespace": namespace,
            "labels": {**app_labels("monitoring", "routing"), "release": settings.release_label},
        },
        "spec": {
            "route": {
                "receiver": settings.default_receiver,
                "groupBy": ["alertname", "severity", "service"],
                "groupWait": "30s",
                "groupInterval": "5m",
                "repeatInterval": settings.repeat_interval,
                "routes": routes,
            },
            "receivers": [_receiver(r) for r in settings.receivers],
        },
    }


def dashboard_configmap_manifests(
    settings: MonitoringSettings, backup_classes: Mapping[DataClass, DataClassSettings], namespace: str
) -> list[dict[str, Any]]:
    manifests = []
    for key, dashboard in dashboards(settings, backup_classes).items():
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"dashboard-{key}",
                    "namespace": settings.dashboards_namespace or namespace,
                    "labels": {**app_labels("monitoring", "dashboards"), "grafana_dashboard": "1"},
                },
                "data": {f"{key}.json": json.dumps(dashboard, indent=2, sort_keys=True)},
            }
        )
    return manifests


class MonitoringArgs(BaseModel):
    """Inputs of :class:`Monitoring`."""

    model_config = ConfigDict(frozen=True)

    settings: MonitoringSettings = Field(default_factory=MonitoringSettings, description="Validated settings.")
    backup_classes: Mapping[DataClass, DataClassSettings] = Field(
        default_factory=dict, description="Backup data classes whose staleness is alerted on (from backup.classes)."
    )
    namespace: str = Field(description="Namespace of the rules, routing and dashboards.")


class Monitoring(pulumi.ComponentResource):
    """PrometheusRules, Grafana dashboards and Alertmanager routing."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:monitoring:Monitoring", name, None, opts)
        import pulumi_kubernetes as k8s

        child = pulumi.ResourceOptions(parent=self)
        settings, namespace = args.settings, args.namespace
        rule_manifests = prometheus_rule_manifests(settings, args.backup_classes, namespace)
        dashboard_manifests = dashboard_configmap_manifests(settings, args.backup_classes, namespace)
        routing = alertmanager_config_manifest(settings, namespace)
        self.rules = [custom_object(f"{name}-rules-{m['metadata']['name']}", m, child) for m in rule_manifests]
        self.dashboards = [
            declare(k8s.core.v1.ConfigMap, f"{name}-{m['metadata']['name']}", m, child) for m in dashboard_manifests
        ]
        self.routing = custom_object(f"{name}-routing", routing, child)
        self.rule_names = [m["metadata"]["name"] for m in rule_manifests]
        self.alert_names = sorted({r.alert for r in alert_rules(settings, args.backup_classes)})
        self.dashboard_names = [m["metadata"]["name"] for m in dashboard_manifests]
        self.routing_name = str(routing["metadata"]["name"])
        self.release_label = settings.release_label
        self.register_outputs(
            {"rules": self.rule_names, "dashboards": self.dashboard_names, "routing": self.routing_name}
        )

    def outputs(self) -> dict[str, Any]:
        """The ``monitoring`` section of the outputs contract."""
        return {
            "release_label": self.release_label,
            "prometheus_rules": self.rule_names,
            "alerts": self.alert_names,
            "dashboards": self.dashboard_names,
            "alertmanager_config": self.routing_name,
        }

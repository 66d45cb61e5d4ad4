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
postgres_exporter (``pg_up``, ``pg_replication_lag_seconds``: the database pods' sidecars, or exporters this
package runs for an external database); backups from the
backup function's ``backup_completion_time`` / ``backup_failures_total`` (label ``class``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.backup.config import DataClass, DataClassSettings
from components.lib.k8s import app_labels, custom_object, declare
from components.lib.scrape import PushedJob, ScrapeTarget, duplicate_names
from components.monitoring.config import MonitoringSettings, Receiver
from components.monitoring.coverage import CoverageInputs, all_alert_rules
from components.monitoring.dashboards import dashboards
from components.monitoring.monitors import exporter_deployment_manifest, metric_sources_manifest, monitor_manifest
from components.monitoring.rules import AlertRule, prometheus_rule_manifests, recovery_duty_rules
from components.monitoring.sources import exporter_name, external_targets


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
    namespace: str = Field(description="Namespace of the rules, routing, monitors and dashboards.")
    scrape_targets: tuple[ScrapeTarget, ...] = Field(
        default=(), description="What the stack's components serve metrics on (each component's scrape_targets())."
    )
    pushed: tuple[PushedJob, ...] = Field(
        default=(), description="What batch jobs push to the Pushgateway (carried on its monitor)."
    )
    batch_jobs: Mapping[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Job-name patterns (RE2) per group, for the failed-Job alerts."
    )
    velero: bool = Field(default=False, description="The stack schedules Velero backups: scrape Velero.")
    drill_max_age_seconds: int | None = Field(
        default=None, description="Restore drill scheduled: alert when its last success is older (None: no drill)."
    )
    wal_push_bound_seconds: int | None = Field(
        default=None, description="archive_command's alerted wal-push bound (None: no WAL archiving to alert on)."
    )

    @model_validator(mode="after")
    def _unique_monitors(self) -> MonitoringArgs:
        if self.pushed and self.settings.scrape.pushgateway is None:
            raise ValueError(
                "monitoring.scrape.pushgateway: batch jobs push metrics to a Pushgateway, so it must be scraped"
            )
        dups = duplicate_names(self.all_targets())
        if dups:
            raise ValueError(f"scrape targets: monitor names used twice: {', '.join(dups)}")
        return self

    def all_targets(self) -> tuple[ScrapeTarget, ...]:
        """The components' targets plus the ones this package declares (Pushgateway, Velero, databases)."""
        external = external_targets(self.settings, self.namespace, velero=self.velero, pushed=self.pushed)
        return (*self.scrape_targets, *external)

    def alert_rules(self) -> list[AlertRule]:
        inputs = CoverageInputs(namespace=self.namespace, targets=self.all_targets(), batch_jobs=self.batch_jobs)
        duties = recovery_duty_rules(
            drill_max_age_seconds=self.drill_max_age_seconds, wal_push_bound_seconds=self.wal_push_bound_seconds
        )
        return [*all_alert_rules(self.settings, self.backup_classes, inputs), *duties]


class Monitoring(pulumi.ComponentResource):
    """PrometheusRules, scrape monitors, database exporters, Grafana dashboards and Alertmanager routing."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:monitoring:Monitoring", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self.release_label = args.settings.release_label
        self._rules(name, args)
        self._dashboards(name, args)
        self._routing(name, args)
        self._monitors(name, args)
        self._exporters(name, args)
        self.register_outputs(
            {
                "rules": self.rule_names,
                "dashboards": self.dashboard_names,
                "routing": self.routing_name,
                "monitors": self.monitor_names,
            }
        )

    def _rules(self, name: str, args: MonitoringArgs) -> None:
        rules = args.alert_rules()
        manifests = prometheus_rule_manifests(args.settings, rules, args.namespace)
        self.rules = [custom_object(f"{name}-rules-{m['metadata']['name']}", m, self._child) for m in manifests]
        self.rule_names = [m["metadata"]["name"] for m in manifests]
        self.alert_names = sorted({r.alert for r in rules})

    def _dashboards(self, name: str, args: MonitoringArgs) -> None:
        import pulumi_kubernetes as k8s

        manifests = dashboard_configmap_manifests(args.settings, args.backup_classes, args.namespace)
        self.dashboards = [
            declare(k8s.core.v1.ConfigMap, f"{name}-{m['metadata']['name']}", m, self._child) for m in manifests
        ]
        self.dashboard_names = [m["metadata"]["name"] for m in manifests]

    def _routing(self, name: str, args: MonitoringArgs) -> None:
        routing = alertmanager_config_manifest(args.settings, args.namespace)
        self.routing = custom_object(f"{name}-routing", routing, self._child)
        self.routing_name = str(routing["metadata"]["name"])

    def _monitors(self, name: str, args: MonitoringArgs) -> None:
        """One ServiceMonitor/PodMonitor per target, and the ConfigMap of what the monitoring stack scrapes itself."""
        import pulumi_kubernetes as k8s

        manifests = [monitor_manifest(t, args.namespace, self.release_label) for t in args.all_targets()]
        self.monitors = [custom_object(f"{name}-monitor-{m['metadata']['name']}", m, self._child) for m in manifests]
        self.monitor_names = [m["metadata"]["name"] for m in manifests]
        sources = metric_sources_manifest(args.namespace)
        self.metric_sources = declare(k8s.core.v1.ConfigMap, f"{name}-metric-sources", sources, self._child)

    def _exporters(self, name: str, args: MonitoringArgs) -> None:
        """postgres_exporter Deployments for the databases named in ``monitoring.scrape.database_exporters``."""
        import pulumi_kubernetes as k8s

        self.exporters = [
            declare(
                k8s.apps.v1.Deployment,
                f"{name}-{exporter_name(e.name)}",
                exporter_deployment_manifest(e, args.settings, args.namespace),
                self._child,
            )
            for e in args.settings.scrape.database_exporters
        ]

    def outputs(self) -> dict[str, Any]:
        """The ``monitoring`` section of the outputs contract."""
        return {
            "release_label": self.release_label,
            "prometheus_rules": self.rule_names,
            "alerts": self.alert_names,
            "dashboards": self.dashboard_names,
            "alertmanager_config": self.routing_name,
        }

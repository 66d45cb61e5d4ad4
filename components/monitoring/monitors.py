"""ServiceMonitor / PodMonitor manifests from :class:`~components.lib.scrape.ScrapeTarget` declarations, the
postgres_exporter Deployments for databases without an exporter, and the ConfigMap naming the series
kube-prometheus-stack collects itself.

Every monitor is labelled ``release: <release_label>``: kube-prometheus-stack's default
``serviceMonitorSelector``/``podMonitorSelector`` match its release label only, so an unlabelled monitor is
accepted by the API server and never scraped (the same trap as its ruleSelector). The monitor lives in the
platform namespace and points at its target's namespace with ``namespaceSelector``.
"""

from __future__ import annotations

import json
from typing import Any

from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, pod_security_context
from components.lib.scrape import METRICS_ANNOTATION, PUSHED_ANNOTATION, ScrapeTarget
from components.monitoring.config import DatabaseExporter, MonitoringSettings
from components.monitoring.sources import (
    CLUSTER_METRICS,
    METRIC_SOURCES_CONFIGMAP,
    METRIC_SOURCES_LABEL,
    POSTGRES_EXPORTER_PORT,
    exporter_name,
    exporter_selector,
)


def _endpoint(target: ScrapeTarget) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"port": target.port, "path": target.path, "interval": target.interval}
    if target.honor_labels:
        endpoint["honorLabels"] = True
    if target.labels:
        endpoint["relabelings"] = [
            {"action": "replace", "targetLabel": key, "replacement": value}
            for key, value in sorted(target.labels.items())
        ]
    return endpoint


def monitor_manifest(target: ScrapeTarget, namespace: str, release_label: str) -> dict[str, Any]:
    """One monitor for one target; its annotations list the series the target exports."""
    annotations = {METRICS_ANNOTATION: ",".join(target.metrics)}
    if target.pushed:
        annotations[PUSHED_ANNOTATION] = json.dumps(
            {job.job: list(job.metrics) for job in target.pushed}, sort_keys=True, separators=(",", ":")
        )
    endpoints_key = "endpoints" if target.kind == "ServiceMonitor" else "podMetricsEndpoints"
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": target.kind,
        "metadata": {
            "name": target.name,
            "namespace": namespace,
            "labels": {**app_labels("monitoring", "scrape"), "release": release_label},
            "annotations": annotations,
        },
        "spec": {
            "selector": {"matchLabels": dict(sorted(target.selector.items()))},
            "namespaceSelector": {"matchNames": [target.namespace]},
            endpoints_key: [_endpoint(target)],
        },
    }


def metric_sources_manifest(namespace: str) -> dict[str, Any]:
    """The series kube-prometheus-stack's own monitors collect, per source, for the provenance rule and readers."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": METRIC_SOURCES_CONFIGMAP,
            "namespace": namespace,
            "labels": {**app_labels("monitoring", "metric-sources"), METRIC_SOURCES_LABEL: "true"},
            "annotations": {METRICS_ANNOTATION: ",".join(sorted({m for ms in CLUSTER_METRICS.values() for m in ms}))},
        },
        "data": {
            "sources.json": json.dumps({k: list(v) for k, v in CLUSTER_METRICS.items()}, indent=2, sort_keys=True)
        },
    }


def exporter_deployment_manifest(
    exporter: DatabaseExporter, settings: MonitoringSettings, namespace: str
) -> dict[str, Any]:
    """postgres_exporter reading its connection URL from a Secret (never in the plan); one replica: a gap in
    scraping during a reschedule is what the absence alert tolerates."""
    name = exporter_name(exporter.name)
    # part-of the monitoring stack, not the web platform: nothing autoscales it, nothing routes traffic to it.
    labels = {
        **app_labels(name, "database-exporter", part_of="monitoring"),
        "platform.example.com/database-role": exporter.role,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": exporter_selector(exporter.name)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(),
                    "containers": [_exporter_container(exporter, settings)],
                },
            },
        },
    }


def _exporter_container(exporter: DatabaseExporter, settings: MonitoringSettings) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/", "port": "metrics"}, "periodSeconds": 20, "timeoutSeconds": 3}
    return {
        "name": "postgres-exporter",
        "image": settings.scrape.exporter_image,
        "imagePullPolicy": "IfNotPresent",
        "args": [f"--web.listen-address=:{POSTGRES_EXPORTER_PORT}"],
        "env": [
            {
                "name": "DATA_SOURCE_NAME",
                "valueFrom": {"secretKeyRef": {"name": exporter.url_secret, "key": exporter.url_key}},
            }
        ],
        "ports": [{"name": "metrics", "containerPort": POSTGRES_EXPORTER_PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 30},
        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
    }

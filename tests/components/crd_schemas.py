"""Strict JSON Schemas for the custom resources the monitoring and backup packages declare (PrometheusRule,
ServiceMonitor, PodMonitor, AlertmanagerConfig,
Velero Schedule); no API server can run here, so these stand in for the CRDs' openAPIV3Schema.

prometheus-operator: the cloudcoil models (cloudcoil-models-prometheus-operator 0.80.1.0, the newest that
installs on Python 3.11; 0.93.x needs Python >= 3.14) are generated from the operator's CRDs but accept
unknown fields, so their exported JSON Schema gets ``additionalProperties: false`` on every object that
lists its properties. A misspelt field (``matchtype``, ``apiUrl``) then fails like the API server's
structural-schema pruning would have silently dropped it.

Velero: derived by hand from ``config/crd/v1/bases/velero.io_schedules.yaml`` of vmware-tanzu/velero
(the v1 Schedule CRD: spec.schedule, spec.template (BackupSpec), spec.useOwnerReferencesInBackup),
limited to the BackupSpec fields that CRD lists and that Velero still serves; ``ttl`` is a Go duration.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema

GO_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"


def _close_objects(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


def _strict(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    _close_objects(schema)
    # metadata is an ObjectMeta: keep it open (server-managed fields, annotations of other tools).
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


@functools.cache
def prometheus_rule_schema() -> dict[str, Any]:
    from cloudcoil.models.prometheus_operator.v1 import PrometheusRule

    return _strict(PrometheusRule)


@functools.cache
def service_monitor_schema() -> dict[str, Any]:
    from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

    return _strict(ServiceMonitor)


@functools.cache
def pod_monitor_schema() -> dict[str, Any]:
    from cloudcoil.models.prometheus_operator.v1 import PodMonitor

    return _strict(PodMonitor)


@functools.cache
def alertmanager_config_schema() -> dict[str, Any]:
    from cloudcoil.models.prometheus_operator.v1alpha1 import AlertmanagerConfig

    return _strict(AlertmanagerConfig)


_STRING_LIST = {"type": "array", "items": {"type": "string"}}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": _STRING_LIST,
                },
            },
        },
    },
}

VELERO_SCHEDULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "velero.io/v1 Schedule (from velero.io_schedules.yaml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "velero.io/v1"},
        "kind": {"const": "Schedule"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["schedule", "template"],
            "properties": {
                "schedule": {"type": "string", "minLength": 9},
                "useOwnerReferencesInBackup": {"type": ["boolean", "null"]},
                "template": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "includedNamespaces": _STRING_LIST,
                        "excludedNamespaces": _STRING_LIST,
                        "includedResources": _STRING_LIST,
                        "excludedResources": _STRING_LIST,
                        "includeClusterResources": {"type": ["boolean", "null"]},
                        "labelSelector": _LABEL_SELECTOR,
                        "snapshotVolumes": {"type": ["boolean", "null"]},
                        "storageLocation": {"type": "string"},
                        "volumeSnapshotLocations": _STRING_LIST,
                        "ttl": {"type": "string", "pattern": GO_DURATION},
                        "orderedResources": {"type": "object", "additionalProperties": {"type": "string"}},
                        "metadata": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"labels": {"type": "object", "additionalProperties": {"type": "string"}}},
                        },
                    },
                },
            },
        },
    },
}


def validate(instance: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError naming the first bad path."""
    jsonschema.Draft202012Validator(schema).validate(instance)

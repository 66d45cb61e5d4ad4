"""Helpers for declaring Kubernetes objects from plain manifest dicts.

Manifests are built as the camelCase dicts ``kubectl apply`` takes, so what a component declares is
exactly what the plan writes under ``manifests/`` and what the schema validation tests check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi

SECURE_CONTAINER_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod_security_context(user: int = 10001) -> dict[str, Any]:
    """Non-root pod defaults: fixed UID/GID, volumes group-owned, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def app_labels(name: str, component: str, part_of: str = "web-platform") -> dict[str, str]:
    """The recommended app.kubernetes.io labels; the first two are the selector."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": part_of,
    }


def selector_labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def _snake(key: str) -> str:
    """camelCase manifest key → the SDK's keyword (``roleRef`` → ``role_ref``); the SDK maps it back."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def declare(
    resource_cls: type[pulumi.CustomResource],
    resource_name: str,
    manifest: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> Any:
    """Declare a typed pulumi-kubernetes resource from a manifest dict (apiVersion/kind are implied)."""
    body = {_snake(key): value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
    return resource_cls(resource_name, opts=opts, **body)  # type: ignore[call-arg]


def custom_object(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions) -> Any:
    """Declare a CRD instance (KEDA ScaledObject, PrometheusRule, Velero Schedule, ...)."""
    import pulumi_kubernetes as k8s

    body = {key: value for key, value in manifest.items() if key not in ("apiVersion", "kind", "metadata")}
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        opts=opts,
        **body,
    )

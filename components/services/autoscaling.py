"""Autoscaling: one controller per workload, plus the plumbing its metrics need.

* A plain service gets an ``autoscaling/v2`` HPA (CPU, memory, request rate as a Pods metric, behaviour).
  Its Pods metric is served by prometheus-adapter: :class:`PrometheusAdapterRules` declares the rule.
* A service with peak windows or prediction gets a KEDA ``ScaledObject`` instead (never both: KEDA owns
  the HPA it creates), with cron, cpu, memory, prometheus and, for prediction, metrics-api triggers (the
  published forecast and, with live headroom, the margin the scalingModifiers formula applies to the rate).
* Prediction adds :class:`PredictiveScaler`: the forecaster CronJob, the ConfigMap it publishes to, and
  least-privilege RBAC for the publisher (patch) and for KEDA's reader (get), both on that one ConfigMap.

Manifests are built in :mod:`components.services.autoscaling_manifests` (pure functions, unit-tested).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.lib.k8s import custom_object
from components.lib.k8s import declare as declare_manifest
from components.services.autoscaling_manifests import (
    FORECASTER_VERBS,
    READER_VERBS,
    adapter_configmap_manifest,
    adapter_metric_names,
    forecast_configmap_manifest,
    forecast_configmap_name,
    forecaster_cronjob_manifest,
    forecaster_name,
    hpa_manifest,
    reader_name,
    reader_token_secret_manifest,
    role_binding_manifest,
    role_manifest,
    scaled_object_manifest,
    service_account_manifest,
    trigger_authentication_manifest,
)
from components.services.config import ServiceSettings

AutoscalerKind = Literal["HorizontalPodAutoscaler", "ScaledObject"]


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def declare(
    resource_cls: type[pulumi.CustomResource], name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
) -> Any:
    """``components.lib.k8s.declare`` for kinds with camelCase top-level fields (``roleRef``,
    ``automountServiceAccountToken``): the SDK takes those as snake_case arguments; nested dicts stay camelCase."""
    return declare_manifest(resource_cls, name, {_snake(k): v for k, v in manifest.items()}, opts)


class AutoscalingArgs(BaseModel):
    """Inputs of :class:`Autoscaling` (one service)."""

    model_config = ConfigDict(frozen=True)

    service: ServiceSettings = Field(description="The service's validated settings (its `scaling` block).")
    namespace: str = Field(description="Namespace of the workload and its autoscaler.")
    kube_api_url: str = Field(
        default="https://kubernetes.default.svc",
        description="Kubernetes API URL as KEDA's operator reaches it; the metrics-api trigger reads the forecast "
        "ConfigMap there.",
    )


class PredictiveScaler(pulumi.ComponentResource):
    """Forecaster CronJob + the ConfigMap it publishes to + RBAC for the publisher and KEDA's reader."""

    def __init__(self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:autoscaling:PredictiveScaler", name, None, opts)
        import pulumi_kubernetes as k8s

        svc, ns = args.service, args.namespace
        # The forecaster owns data.* after its first run: Pulumi creates the abstaining seed and never resets it.
        self.configmap = declare(
            k8s.core.v1.ConfigMap,
            f"{name}-configmap",
            forecast_configmap_manifest(svc, ns),
            pulumi.ResourceOptions(parent=self, ignore_changes=["data"]),
        )
        writer, reader = forecaster_name(svc.name), reader_name(svc.name)
        writer_sa, writer_role, writer_binding = self._identity(f"{name}-writer", writer, FORECASTER_VERBS, args)
        reader_sa, reader_role, reader_binding = self._identity(f"{name}-reader", reader, READER_VERBS, args)
        # The token controller deletes a token Secret whose service account does not exist: create it after.
        token = declare(
            k8s.core.v1.Secret,
            f"{name}-reader-token",
            reader_token_secret_manifest(svc, ns),
            pulumi.ResourceOptions(parent=self, depends_on=[reader_sa]),
        )
        self.trigger_authentication = custom_object(
            f"{name}-trigger-auth",
            trigger_authentication_manifest(svc, ns),
            pulumi.ResourceOptions(parent=self, depends_on=[token, reader_role, reader_binding]),
        )
        self.cronjob = declare(
            k8s.batch.v1.CronJob,
            f"{name}-cronjob",
            forecaster_cronjob_manifest(svc, ns),
            pulumi.ResourceOptions(parent=self, depends_on=[self.configmap, writer_sa, writer_role, writer_binding]),
        )
        self.cronjob_name = writer
        self.configmap_name = forecast_configmap_name(svc.name)
        self.register_outputs({"cronjob": self.cronjob_name, "configmap": self.configmap_name})

    def _identity(
        self, prefix: str, who: str, verbs: tuple[str, ...], args: AutoscalingArgs
    ) -> tuple[pulumi.Resource, pulumi.Resource, pulumi.Resource]:
        """ServiceAccount ``who`` with a Role of ``verbs`` on the forecast ConfigMap, bound to it."""
        import pulumi_kubernetes as k8s

        svc, ns, child = args.service, args.namespace, pulumi.ResourceOptions(parent=self)
        account = declare(k8s.core.v1.ServiceAccount, f"{prefix}-sa", service_account_manifest(who, svc, ns), child)
        role = declare(k8s.rbac.v1.Role, f"{prefix}-role", role_manifest(who, svc, ns, verbs), child)
        binding = declare(k8s.rbac.v1.RoleBinding, f"{prefix}-binding", role_binding_manifest(who, svc, ns), child)
        return account, role, binding


class Autoscaling(pulumi.ComponentResource):
    """The one autoscaler of one workload: an HPA, or a KEDA ScaledObject (+ predictive scaler)."""

    kind: AutoscalerKind
    autoscaler_name: str
    predictive: PredictiveScaler | None

    def __init__(self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:autoscaling:Autoscaling", name, None, opts)
        import pulumi_kubernetes as k8s

        svc = args.service
        child = pulumi.ResourceOptions(parent=self)
        self.args = args
        self.predictive = None
        if svc.scaling.uses_keda:
            if svc.scaling.prediction.enabled:
                self.predictive = PredictiveScaler(f"{name}-predictive", args, child)
            depends = [self.predictive.trigger_authentication] if self.predictive else []
            manifest = scaled_object_manifest(svc, args.namespace, args.kube_api_url)
            self.autoscaler = custom_object(
                f"{name}-scaledobject", manifest, pulumi.ResourceOptions(parent=self, depends_on=depends)
            )
            self.kind = "ScaledObject"
        else:
            manifest = hpa_manifest(svc, args.namespace)
            self.autoscaler = declare(k8s.autoscaling.v2.HorizontalPodAutoscaler, f"{name}-hpa", manifest, child)
            self.kind = "HorizontalPodAutoscaler"
        self.autoscaler_name = manifest["metadata"]["name"]
        self.register_outputs(self.summary())

    def controller(self) -> Literal["hpa", "keda"]:
        """Which controller owns the replica count (``services.<name>.autoscaler`` in the outputs)."""
        return "keda" if self.kind == "ScaledObject" else "hpa"

    def summary(self) -> dict[str, Any]:
        """This service's entry in the outputs contract (``AutoscalerOutputs``)."""
        scaling = self.args.service.scaling
        return {
            "kind": self.kind,
            "name": self.autoscaler_name,
            "min_replicas": scaling.min_replicas,
            "max_replicas": scaling.max_replicas,
            "schedules": {w.name: scaling.scheduled_replicas(w) for w in scaling.schedules},
            "forecaster_cronjob": self.predictive.cronjob_name if self.predictive else None,
            "forecast_configmap": self.predictive.configmap_name if self.predictive else None,
        }


class PrometheusAdapterRulesArgs(BaseModel):
    """Inputs of :class:`PrometheusAdapterRules`."""

    model_config = ConfigDict(frozen=True)

    services: tuple[ServiceSettings, ...] = Field(description="All services; the HPA-scaled ones need rules.")
    namespace: str = Field(default="monitoring", description="Namespace prometheus-adapter runs in.")
    configmap_name: str = Field(
        default="prometheus-adapter-rules",
        description="ConfigMap the adapter's Helm release reads (`rules.existing`).",
    )


class PrometheusAdapterRules(pulumi.ComponentResource):
    """The prometheus-adapter rule(s) that serve the HPAs' request-rate Pods metric (none needed: nothing)."""

    configmap_ref: str | None
    """``namespace/name`` of the rules ConfigMap, or None when no HPA reads a request-rate metric."""

    def __init__(self, name: str, args: PrometheusAdapterRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:autoscaling:PrometheusAdapterRules", name, None, opts)
        import pulumi_kubernetes as k8s

        self.configmap_ref = None
        if adapter_metric_names(args.services):
            manifest = adapter_configmap_manifest(args.services, args.namespace, args.configmap_name)
            declare(k8s.core.v1.ConfigMap, f"{name}-configmap", manifest, pulumi.ResourceOptions(parent=self))
            self.configmap_ref = f"{args.namespace}/{args.configmap_name}"
        self.register_outputs({"configmap": self.configmap_ref})

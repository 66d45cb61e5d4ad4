"""A web service on Kubernetes: Deployment, Service and PodDisruptionBudget, secure by default.

The Deployment leaves ``spec.replicas`` out when an autoscaler owns the workload: declaring it would make
every ``pulumi up`` reset the replica count the HPA chose (the classic HPA/IaC fight).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.lib.k8s import (
    SECURE_CONTAINER_CONTEXT,
    app_labels,
    declare,
    pod_security_context,
    selector_labels,
)
from components.lib.scrape import ScrapeTarget
from components.services.config import ServiceSettings


class WorkloadArgs(BaseModel):
    """Inputs of :class:`Workload`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    service: ServiceSettings = Field(description="The service's validated settings.")
    namespace: str = Field(description="Namespace of every object.")
    autoscaled: bool = Field(default=True, description="An autoscaler owns replicas: omit spec.replicas.")
    zones_topology_key: str = Field(
        default="topology.kubernetes.io/zone", description="Node label replicas are spread over."
    )
    pod_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra pod labels: those a provider's own NetworkPolicy admits (e.g. Redis's client label) "
        "and Istio's sidecar opt-in when the service is meshed.",
    )


#: Port of every service's ClusterIP Service (the container port is the service's own ``port``).
SERVICE_PORT = 80
#: Series every service exports (the platform's metrics contract): request counter and latency histogram.
SERVICE_METRICS = (
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_sum",
    "http_request_duration_seconds_count",
)


def pdb_max_unavailable(min_replicas: int) -> int:
    """Voluntary disruptions allowed at once: a quarter of the floor, at least one (so drains progress)."""
    return max(1, min_replicas // 4)


def deployment_manifest(args: WorkloadArgs) -> dict[str, Any]:
    """Rolling updates that never drop below the ready count; replicas only when no autoscaler owns them."""
    svc = args.service
    selector = selector_labels(svc.name, svc.tier)
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector},
        "revisionHistoryLimit": 5,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": {**args.pod_labels, **app_labels(svc.name, svc.tier)}},
            "spec": {
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                "terminationGracePeriodSeconds": 30,
                "topologySpreadConstraints": [
                    _spread(args.zones_topology_key, selector),
                    _spread("kubernetes.io/hostname", selector),
                ],
                "containers": [_container(svc)],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            },
        },
    }
    if not args.autoscaled:
        spec["replicas"] = svc.scaling.min_replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": svc.name, "namespace": args.namespace, "labels": app_labels(svc.name, svc.tier)},
        "spec": spec,
    }


def _spread(topology_key: str, selector: dict[str, str]) -> dict[str, Any]:
    """Spread pods over ``topology_key``, preferred not required: a lost zone or node must not block scheduling."""
    return {
        "maxSkew": 1,
        "topologyKey": topology_key,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": selector},
    }


def _container(svc: ServiceSettings) -> dict[str, Any]:
    """The service's container: non-root, read-only root (unless allowed), requests/limits, HTTP probes."""
    container_ctx = dict(SECURE_CONTAINER_CONTEXT)
    if svc.allow_writable_root_filesystem:
        container_ctx["readOnlyRootFilesystem"] = False
    probe_common = {
        "periodSeconds": svc.probes.period_seconds,
        "timeoutSeconds": svc.probes.timeout_seconds,
        "failureThreshold": svc.probes.failure_threshold,
    }
    return {
        "name": svc.name,
        "image": svc.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": _container_ports(svc),
        "env": [{"name": key, "value": value} for key, value in sorted(svc.env.items())],
        "resources": {
            "requests": {"cpu": svc.resources.requests.cpu, "memory": svc.resources.requests.memory},
            "limits": {"cpu": svc.resources.limits.cpu, "memory": svc.resources.limits.memory},
        },
        "readinessProbe": {
            "httpGet": {"path": svc.probes.readiness_path, "port": "http"},
            "initialDelaySeconds": svc.probes.initial_delay_seconds,
            **probe_common,
        },
        "livenessProbe": {
            "httpGet": {"path": svc.probes.liveness_path, "port": "http"},
            # Liveness starts later than readiness: a slow start must not become a restart loop.
            "initialDelaySeconds": svc.probes.initial_delay_seconds * 3,
            **probe_common,
        },
        "securityContext": container_ctx,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _container_ports(svc: ServiceSettings) -> list[dict[str, Any]]:
    ports = [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}]
    if svc.metrics.port is not None:
        ports.append({"name": "metrics", "containerPort": svc.metrics.port, "protocol": "TCP"})
    return ports


def metrics_port_name(svc: ServiceSettings) -> str:
    """The named port Prometheus scrapes: ``metrics``, or ``http`` when metrics share the http port."""
    return "metrics" if svc.metrics.port is not None else "http"


def scrape_target(args: WorkloadArgs) -> ScrapeTarget:
    """The service's Service, scraped on its metrics port (a ServiceMonitor: target labels carry ``service``,
    which the alert rules group by and the scalers' queries select on)."""
    svc = args.service
    return ScrapeTarget(
        name=svc.name,
        kind="ServiceMonitor",
        namespace=args.namespace,
        selector=selector_labels(svc.name, svc.tier),
        port=metrics_port_name(svc),
        path=svc.metrics.path,
        interval=svc.metrics.interval,
        metrics=SERVICE_METRICS,
    )


def service_manifest(args: WorkloadArgs) -> dict[str, Any]:
    svc = args.service
    ports: list[dict[str, Any]] = [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]
    if svc.metrics.port is not None:
        ports.append({"name": "metrics", "port": svc.metrics.port, "targetPort": "metrics", "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": svc.name, "namespace": args.namespace, "labels": app_labels(svc.name, svc.tier)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(svc.name, svc.tier),
            "ports": ports,
        },
    }


def pdb_manifest(args: WorkloadArgs) -> dict[str, Any]:
    svc = args.service
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": svc.name, "namespace": args.namespace, "labels": app_labels(svc.name, svc.tier)},
        "spec": {
            "maxUnavailable": pdb_max_unavailable(svc.scaling.min_replicas),
            "selector": {"matchLabels": selector_labels(svc.name, svc.tier)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


class Workload(pulumi.ComponentResource):
    """One service: Deployment + Service + PodDisruptionBudget."""

    deployment_name: pulumi.Output[str]
    service_dns: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:workload:Workload", name, None, opts)
        import pulumi_kubernetes as k8s

        child = pulumi.ResourceOptions(parent=self)
        self.deployment = declare(k8s.apps.v1.Deployment, f"{name}-deployment", deployment_manifest(args), child)
        self.service = declare(k8s.core.v1.Service, f"{name}-service", service_manifest(args), child)
        self.pdb = declare(k8s.policy.v1.PodDisruptionBudget, f"{name}-pdb", pdb_manifest(args), child)
        self._scrape_target = scrape_target(args)
        self.deployment_name = pulumi.Output.from_input(args.service.name)
        self.service_dns = pulumi.Output.from_input(f"{args.service.name}.{args.namespace}.svc.cluster.local")
        self.register_outputs({"deployment_name": self.deployment_name, "service_dns": self.service_dns})

    def scrape_targets(self) -> list[ScrapeTarget]:
        """What Prometheus scrapes here: the Service's metrics port."""
        return [self._scrape_target]

    def outputs(self) -> dict[str, Any]:
        """This service's in-cluster address (the ``services.<name>`` section, without its autoscaler)."""
        return {"dns": self.service_dns, "port": SERVICE_PORT}

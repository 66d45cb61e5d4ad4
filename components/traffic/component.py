"""Traffic: one Istio DestinationRule and VirtualService per service, from ``services[].traffic``.

Inputs are plain data (:class:`~components.traffic.config.TrafficArgs`) built by the Platform; the manifests
come from the pure builders in :mod:`components.traffic.istio`, so what the plan writes is what the CRD
schema tests validate.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.lib.k8s import custom_object
from components.traffic.config import TrafficArgs
from components.traffic.istio import destination_rule, virtual_service


def traffic_manifests(args: TrafficArgs) -> dict[str, dict[str, Any]]:
    """``<service>-destination-rule`` / ``<service>-virtual-service`` -> manifest, for enabled services."""
    manifests: dict[str, dict[str, Any]] = {}
    for service in args.services:
        if not service.traffic.enabled:
            continue
        manifests[f"{service.name}-destination-rule"] = destination_rule(service, args.namespace, args.settings)
        manifests[f"{service.name}-virtual-service"] = virtual_service(service, args.namespace, args.settings)
    return manifests


class Traffic(pulumi.ComponentResource):
    """Per-service traffic policy read by every calling proxy: circuit breaker, weights, retries, timeouts."""

    def __init__(self, name: str, args: TrafficArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:traffic:Traffic", name, None, opts)
        self.args = args
        self.manifests = traffic_manifests(args)
        self.objects = self._policies(name)
        self.register_outputs({"objects": sorted(self.manifests)})

    def _policies(self, name: str) -> dict[str, Any]:
        child = pulumi.ResourceOptions(parent=self)
        return {role: custom_object(f"{name}-{role}", manifest, child) for role, manifest in self.manifests.items()}

    def outputs(self) -> dict[str, Any]:
        """Names of the rendered objects (for reviewers; not part of the outputs contract)."""
        return {"objects": sorted(self.manifests)}

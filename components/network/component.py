"""NetworkPolicies: the namespace's default deny plus one allow per declared edge.

Inputs are plain data (:class:`~components.network.model.Wiring`), built by the Platform from the
services' ``uses``, the jobs of each section and what Redis offers; nothing here reads config or other
components, so the same wiring renders the same policies everywhere.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.lib.k8s import declare
from components.network.model import Wiring
from components.network.policies import network_policy_manifests


class NetworkPoliciesArgs(BaseModel):
    """Inputs of :class:`NetworkPolicies`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    wiring: Wiring = Field(description="Clients, providers and endpoints of one namespace.")


class NetworkPolicies(pulumi.ComponentResource):
    """One NetworkPolicy per role (``default-deny``, ``allow-dns``, ``<client>-egress``, ``<provider>-ingress``)."""

    def __init__(self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("platform:network:NetworkPolicies", name, None, opts)
        import pulumi_kubernetes as k8s

        child = pulumi.ResourceOptions(parent=self)
        self.manifests = network_policy_manifests(args.wiring)
        self.policies = {
            role: declare(k8s.networking.v1.NetworkPolicy, f"{name}-{role}", manifest, child)
            for role, manifest in self.manifests.items()
        }
        self.register_outputs({"policies": sorted(self.manifests)})

    def outputs(self) -> dict[str, Any]:
        """Names of the rendered policies (for reviewers; not part of the outputs contract)."""
        return {"policies": sorted(self.manifests)}

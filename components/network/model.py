"""The edge model: who provides what on which ports, and who uses it.

A *provider* is a set of pods of this plan (selected by labels, listed by workload) serving a use on some
ports; a *client* is a set of pods that declares the uses it connects to. Endpoints outside the plan come
from the ``network`` config section. :mod:`components.network.policies` renders NetworkPolicies from
these, and the same declarations are written into the plan for the reachability rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.network.config import NetworkSettings


@dataclass(frozen=True)
class WorkloadRef:
    """A pod-bearing object of the plan (Deployment, StatefulSet, Job, CronJob, ScaledJob)."""

    kind: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}


@dataclass(frozen=True)
class PortRef:
    """A port by number or by container port name (resolved against the serving pod, as Kubernetes does)."""

    port: int | str
    protocol: str = "TCP"

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "port": self.port}


@dataclass(frozen=True)
class Target:
    """Pods of this plan that serve a use on ``ports``."""

    selector: Mapping[str, str]
    workloads: tuple[WorkloadRef, ...]
    ports: tuple[PortRef, ...]


@dataclass(frozen=True)
class Provider:
    """What a component offers under a use name.

    ``admits_clients`` is true when the provider's own NetworkPolicy admits its clients (Redis admits pods
    labelled ``client_labels`` and its own pods): then no ingress policy is rendered for it here, and each
    client pod that is not one of its own carries ``client_labels``.
    """

    name: str
    targets: tuple[Target, ...]
    admits_clients: bool = False
    client_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Client:
    """Pods (one or more workloads sharing ``selector``) and the names they use; ``role`` names the policy."""

    role: str
    selector: Mapping[str, str]
    workloads: tuple[WorkloadRef, ...]
    uses: tuple[str, ...]


@dataclass(frozen=True)
class Wiring:
    """Everything one namespace's policies are rendered from."""

    namespace: str
    settings: NetworkSettings
    clients: tuple[Client, ...]
    providers: Mapping[str, Provider]
    public: tuple[str, ...] = ()
    """Providers the ingress controller reaches (services with ``exposure: public``)."""
    scraped_on_http: tuple[str, ...] = ()
    """Providers whose metrics are served on their http port (the scraper reaches that port too)."""

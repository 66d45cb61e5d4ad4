"""The ``network`` section: who the stack's pods may talk to, beyond what the stack itself deploys.

Services say what they use (``services[].uses``); the names they may use are the things this stack deploys
(``redis``, other services) plus the endpoints named here: places outside the plan that pods reach, either
in-cluster pods of another release (Prometheus, the Pushgateway, kube-dns) or addresses (the database when
it is not in the cluster, cloud APIs, the Kubernetes API server). Everything here has a working default for
a kube-prometheus-stack + ingress-nginx cluster except the database, which a stack names explicitly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from components.lib.settings import DnsLabel, Settings, raise_problems

#: Every pod may resolve names; the DNS edge is implied, never declared.
DNS = "dns"
#: Prometheus scrapes every container port named ``metrics``; declared by the scraper, never by a service.
METRICS = "metrics"
#: The Redis tier's name as a use (present when ``redis.enabled``).
REDIS = "redis"
#: Istio's control plane: every meshed pod's sidecar fetches its config (xDS) and certificate (CA) there.
ISTIOD = "istiod"
#: Use names a stack cannot give to an endpoint (they name edges the stack renders itself).
RESERVED_USES = (DNS, METRICS, REDIS)


class Port(Settings):
    """One port of an endpoint; numbers only (a named port means nothing outside the pod that names it)."""

    port: int = Field(ge=1, le=65535, description="Port number.")
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="Transport protocol.")


def _ports(value: Any) -> Any:
    """``[5432]`` is shorthand for ``[{port: 5432}]`` (TCP)."""
    if isinstance(value, list | tuple):
        return [{"port": item} if isinstance(item, int) else item for item in value]
    return value


class Peer(Settings):
    """In-cluster pods outside this plan: pods with ``pod_labels`` in namespaces with ``namespace_labels``."""

    namespace_labels: dict[str, str] = Field(
        description="Namespace selector labels; `kubernetes.io/metadata.name: <ns>` names one namespace."
    )
    pod_labels: dict[str, str] = Field(
        default_factory=dict, description="Pod selector labels; empty means every pod of those namespaces."
    )

    def selector(self) -> dict[str, Any]:
        """The NetworkPolicy peer (namespaceSelector AND podSelector)."""
        return {
            "namespaceSelector": {"matchLabels": dict(self.namespace_labels)},
            "podSelector": {"matchLabels": dict(self.pod_labels)},
        }


class Endpoint(Settings):
    """Something outside the plan that pods reach: in-cluster pods (``peer``) or addresses (``cidrs``)."""

    peer: Peer | None = Field(default=None, description="In-cluster pods of another release; or set `cidrs`.")
    cidrs: tuple[str, ...] = Field(
        default=(), description="IPv4/IPv6 blocks (e.g. the database subnet); or set `peer`."
    )
    except_cidrs: tuple[str, ...] = Field(default=(), description="Blocks carved out of `cidrs`.")
    ports: tuple[Port, ...] = Field(min_length=1, description="Ports reached; `[5432]` means TCP 5432.")

    _shorthand = field_validator("ports", mode="before")(_ports)

    @model_validator(mode="after")
    def _one_kind(self) -> Endpoint:
        problems = []
        if (self.peer is None) == (not self.cidrs):
            problems.append("peer: set exactly one of `peer` (in-cluster pods) or `cidrs` (addresses)")
        for key, blocks in (("cidrs", self.cidrs), ("except_cidrs", self.except_cidrs)):
            for i, block in enumerate(blocks):
                try:
                    ipaddress.ip_network(block, strict=True)
                except ValueError as exc:
                    problems.append(f"{key}[{i}]: {block!r} is not a network block ({exc})")
        raise_problems(problems)
        return self


def _default_endpoints() -> dict[str, Endpoint]:
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    return {
        "prometheus": Endpoint(
            peer=Peer(namespace_labels=monitoring, pod_labels={"app.kubernetes.io/name": "prometheus"}),
            ports=(Port(port=9090),),
        ),
        "pushgateway": Endpoint(
            peer=Peer(namespace_labels=monitoring, pod_labels={"app.kubernetes.io/name": "prometheus-pushgateway"}),
            ports=(Port(port=9091),),
        ),
        # Object storage, KMS, STS, SQS: public endpoints or VPC interface endpoints, so any address on 443.
        "cloud-apis": Endpoint(cidrs=("0.0.0.0/0",), ports=(Port(port=443),)),
        # EKS places the API server's ENIs in the cluster VPC; narrow this to the VPC CIDR.
        "kube-api": Endpoint(cidrs=("10.0.0.0/8",), ports=(Port(port=443),)),
        # Sidecars of meshed services (traffic.enabled) reach istiod for xDS and certificates on 15012.
        ISTIOD: Endpoint(
            peer=Peer(namespace_labels={"kubernetes.io/metadata.name": "istio-system"}, pod_labels={"app": "istiod"}),
            ports=(Port(port=15012),),
        ),
    }


class NetworkSettings(Settings):
    """Default-deny NetworkPolicies rendered from what each workload declares it uses."""

    allow_unrestricted_traffic: bool = Field(
        default=False,
        description="Render no NetworkPolicies at all (every pod reaches every pod). Only for clusters whose CNI "
        "enforces none, where the policies would promise what nothing enforces.",
    )
    dns: Endpoint = Field(
        default=Endpoint(
            peer=Peer(
                namespace_labels={"kubernetes.io/metadata.name": "kube-system"}, pod_labels={"k8s-app": "kube-dns"}
            ),
            ports=(Port(port=53, protocol="UDP"), Port(port=53, protocol="TCP")),
        ),
        description="Cluster DNS; every pod may reach it (EKS CoreDNS keeps the `k8s-app: kube-dns` label).",
    )
    ingress_controller: Peer = Field(
        default=Peer(
            namespace_labels={"kubernetes.io/metadata.name": "ingress-nginx"},
            pod_labels={"app.kubernetes.io/name": "ingress-nginx"},
        ),
        description="The ingress/gateway pods that reach `exposure: public` services.",
    )
    scraper: Peer = Field(
        default=Peer(
            namespace_labels={"kubernetes.io/metadata.name": "monitoring"},
            pod_labels={"app.kubernetes.io/name": "prometheus"},
        ),
        description="Prometheus pods: the only peer admitted to container ports named `metrics`.",
    )
    endpoints: dict[DnsLabel, Endpoint] = Field(
        default_factory=_default_endpoints,
        description="Things outside the plan that workloads use, by name. Merged over the defaults `prometheus`, "
        "`pushgateway` (kube-prometheus-stack in `monitoring`), `cloud-apis` (any address on 443), `kube-api` "
        "(10.0.0.0/8 on 443) and `istiod` (`app: istiod` in `istio-system`, TCP 15012: every meshed service uses it "
        "when traffic is enabled); add `database` (the database subnet and port) where the database is not "
        "in-cluster.",
    )

    @field_validator("endpoints", mode="before")
    @classmethod
    def _over_defaults(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {**_default_endpoints(), **value}
        return value

    @field_validator("endpoints", mode="after")
    @classmethod
    def _not_reserved(cls, value: dict[str, Endpoint]) -> dict[str, Endpoint]:
        raise_problems(
            f"{name}: {name!r} names an edge the stack renders itself; choose another endpoint name"
            for name in value
            if name in RESERVED_USES
        )
        return value


def uses_problems(
    services: Iterable[tuple[str, tuple[str, ...]]], redis_enabled: bool, endpoints: Iterable[str]
) -> list[str]:
    """``services[i].uses[j]`` problems: each use names something this stack deploys or an endpoint.

    ``services`` is (name, uses) in config order; the closed set is ``redis`` (when deployed), the other
    services and the ``network.endpoints`` names.
    """
    entries = list(services)
    names = [name for name, _ in entries]
    known = ({REDIS} if redis_enabled else set()) | set(endpoints) | set(names)
    problems: list[str] = []
    for i, (name, uses) in enumerate(entries):
        for j, use in enumerate(uses):
            key = f"services[{i}].uses[{j}]"
            if use == name:
                problems.append(f"{key}: {use!r} is the service itself; a service does not declare its own port")
            elif use in (DNS, METRICS):
                problems.append(f"{key}: {use!r} is implied for every pod; remove it")
            elif use == REDIS and not redis_enabled:
                problems.append(f"{key}: 'redis' is not deployed in this stack (redis.enabled is false)")
            elif use not in known:
                allowed = ", ".join(sorted(known - {name}))
                problems.append(
                    f"{key}: {use!r} is not deployed in this stack nor a network.endpoints name; expected one of "
                    f"{allowed}"
                )
            elif uses.index(use) != j:
                problems.append(f"{key}: {use!r} is listed twice")
    return problems

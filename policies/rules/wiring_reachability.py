"""Every declared edge is open and nothing else is: the plan's NetworkPolicies, evaluated.

The stack writes its declarations into the plan (the ``platform.example.com/network-wiring`` annotation of
each namespace's default-deny policy): the clients (workloads by kind and name, and peers outside the plan
such as the ingress controller and Prometheus) with the names they use, and the providers of each name
(workloads and their ports, in-cluster peers, address blocks). The rule rebuilds the pods from the plan's
own workloads (template labels, container ports), evaluates every NetworkPolicy of the plan with the
API's semantics (:mod:`._netpol`) and reports, naming the URN to fix:

- a declared use the policies deny (a port or label dropped, a selector gone stale);
- a connection the policies allow that no declaration asks for: from any workload of the plan, the
  declared peers, and two strangers (an unlabelled pod in the namespace and one in another namespace),
  to every container port of the plan and every declared endpoint (an allow-all policy, an undeclared use);
- a workload of the namespace that declares nothing, or a declared workload the plan lacks.
DNS is implied for every pod of the namespace.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._netpol import Address, Cluster, ContainerPort, Destination, Pod, parse_policy, representative
from ._support import Report, containers, dig, is_kind, is_list, is_mapping, metadata_name, stack_rule

WIRING_ANNOTATION = "platform.example.com/network-wiring"
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
STRANGER_NAMESPACE = "stranger-namespace"


def _template(resource: PolicyResource) -> Mapping[str, Any] | None:
    """The pod template (metadata + spec) of a pod-bearing resource, KEDA ScaledJobs included."""
    t, props = resource.resource_type, resource.props
    if is_kind(t, "CronJob"):
        return dig(props, "spec", "jobTemplate", "spec", "template")
    if is_kind(t, "Pod"):
        return props
    if is_kind(t, *POD_KINDS):
        return dig(props, "spec", "template")
    if t.startswith("kubernetes:keda.sh/") and t.endswith(":ScaledJob"):
        return dig(props, "spec", "jobTargetRef", "template")
    return None


def _kind(resource: PolicyResource) -> str:
    return resource.resource_type.rsplit(":", 1)[-1]


def workload_pods(resources: Iterable[PolicyResource]) -> dict[tuple[str, str, str], Pod]:
    """(namespace, kind, name) -> the pods it runs, from the plan's own manifests."""
    pods: dict[tuple[str, str, str], Pod] = {}
    for r in resources:
        template = _template(r)
        if not is_mapping(template):
            continue
        namespace = str(dig(r.props, "metadata", "namespace", default="default"))
        name = str(metadata_name(r.props))
        labels = dig(template, "metadata", "labels", default={}) or {}
        ports = tuple(
            ContainerPort(p.get("name"), int(p["containerPort"]), str(p.get("protocol") or "TCP"))
            for c in containers(dig(template, "spec"), include_init=False)
            for p in (c.get("ports") or [])
            if is_mapping(p) and isinstance(p.get("containerPort"), int | float)
        )
        key = f"{_kind(r)}/{name}"
        pods[(namespace, _kind(r), name)] = Pod(
            key, namespace, {str(k): str(v) for k, v in labels.items()}, ports, r.urn
        )
    return pods


@dataclass(frozen=True)
class Edge:
    destination: Destination
    port: int
    protocol: str


@dataclass
class Namespace:
    """One namespace's declarations resolved against the plan."""

    name: str
    wiring_urn: str
    pods: dict[tuple[str, str], Pod]
    peers: dict[str, Pod] = field(default_factory=dict)
    addresses: dict[str, tuple[list[tuple[str, list[str]]], list[tuple[int, str]]]] = field(default_factory=dict)
    providers: dict[str, list[Edge]] = field(default_factory=dict)
    clients: list[tuple[str, Pod, list[str]]] = field(default_factory=list)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def _peer_pod(role: str, peer: Mapping[str, Any], ns: Namespace) -> Pod:
    ns_labels = {str(k): str(v) for k, v in (peer.get("namespaceLabels") or {}).items()}
    pod_labels = {str(k): str(v) for k, v in (peer.get("podLabels") or {}).items()}
    key = json.dumps([ns_labels, pod_labels], sort_keys=True)
    if key not in ns.peers:
        namespace = ns_labels.get("kubernetes.io/metadata.name", f"peer-namespace-{len(ns.peers)}")
        ns.namespace_labels[namespace] = ns_labels
        ns.peers[key] = Pod(f"peer/{role}", namespace, pod_labels)
    return ns.peers[key]


def _ports(entries: Any) -> list[tuple[int | str, str]]:
    return [(e.get("port"), str(e.get("protocol") or "TCP")) for e in (entries if is_list(entries) else [])]


def _pod_edges(pod: Pod, ports: list[tuple[int | str, str]]) -> list[Edge]:
    edges = []
    for port, protocol in ports:
        if isinstance(port, str):
            edges += [Edge(pod, p.number, p.protocol) for p in pod.ports if p.name == port and p.protocol == protocol]
        elif isinstance(port, int | float):
            edges.append(Edge(pod, int(port), protocol))
    return edges


def _provider_edges(name: str, entry: Mapping[str, Any], ns: Namespace, report: Report) -> list[Edge]:
    ports = _ports(entry.get("ports"))
    if entry.get("workloads") == "*":
        return [e for pod in ns.pods.values() for e in _pod_edges(pod, ports)]
    if is_list(entry.get("workloads")):
        edges = []
        for ref in entry["workloads"]:
            pod = ns.pods.get((str(ref.get("kind")), str(ref.get("name"))))
            if pod is None:
                report(
                    f"{name} is provided by {ref.get('kind')}/{ref.get('name')}, which the plan lacks", ns.wiring_urn
                )
                continue
            edges += _pod_edges(pod, ports)
        return edges
    if is_mapping(entry.get("peer")):
        return _pod_edges(_peer_pod(name, entry["peer"], ns), ports)
    blocks = [str(c) for c in entry.get("cidrs") or []]
    excluded = [str(c) for c in entry.get("except") or []]
    edges = []
    for i, block in enumerate(blocks):
        ip = representative(block, excluded)
        if ip is not None:
            address = Address(f"{name}[{i}]={ip}", ip)
            ns.addresses.setdefault(name, ([], []))[0].append((block, excluded))
            edges += [Edge(address, int(port), protocol) for port, protocol in ports if isinstance(port, int | float)]
    ns.addresses.setdefault(name, ([], []))[1].extend(
        (int(p), proto) for p, proto in ports if isinstance(p, int | float)
    )
    return edges


def resolve(policy: PolicyResource, pods: Mapping[tuple[str, str, str], Pod], report: Report) -> Namespace | None:
    namespace = str(dig(policy.props, "metadata", "namespace", default="default"))
    raw = dig(policy.props, "metadata", "annotations", WIRING_ANNOTATION)
    try:
        doc = json.loads(str(raw))
        assert is_mapping(doc) and is_mapping(doc.get("providers")) and is_list(doc.get("clients"))
    except (ValueError, AssertionError):
        report(f"the {WIRING_ANNOTATION} annotation is not the declarations document", policy.urn)
        return None
    in_ns = {(kind, name): pod for (pod_ns, kind, name), pod in pods.items() if pod_ns == namespace}
    ns = Namespace(namespace, policy.urn, in_ns)
    for name, entries in doc["providers"].items():
        ns.providers[str(name)] = [e for entry in entries for e in _provider_edges(str(name), entry, ns, report)]
    declared: set[tuple[str, str]] = set()
    for client in doc["clients"]:
        uses = [str(u) for u in client.get("uses") or []]
        if is_mapping(client.get("peer")):
            ns.clients.append((str(client.get("role")), _peer_pod(str(client.get("role")), client["peer"], ns), uses))
            continue
        for ref in client.get("workloads") or []:
            key = (str(ref.get("kind")), str(ref.get("name")))
            declared.add(key)
            if key not in in_ns:
                report(f"{key[0]}/{key[1]} is declared (uses {uses}) but the plan has no such workload", policy.urn)
                continue
            ns.clients.append((str(client.get("role")), in_ns[key], [*doc.get("implied", []), *uses]))
    for key, pod in in_ns.items():
        if key not in declared:
            report(
                f"{pod.key} in namespace {namespace} declares no uses: its egress is undeclared (add it to the "
                "stack's network declarations)",
                pod.urn,
            )
    return ns


def _covered(ns: Namespace, uses: Iterable[str], address: Address, port: int, protocol: str) -> bool:
    """An address edge is declared when a used endpoint's blocks contain the address on that port."""
    for use in uses:
        blocks, ports = ns.addresses.get(use, ([], []))
        if (port, protocol) not in ports:
            continue
        for block, excluded in blocks:
            inside = address.ip in ipaddress.ip_network(block, strict=False)
            if inside and not any(address.ip in ipaddress.ip_network(e, strict=False) for e in excluded):
                return True
    return False


def check_namespace(ns: Namespace, cluster: Cluster, report: Report) -> None:
    expected: dict[str, set[tuple[str, int, str]]] = {}
    uses_of: dict[str, list[str]] = {}
    for role, pod, uses in ns.clients:
        uses_of[pod.key] = uses
        wanted = expected.setdefault(pod.key, set())
        for use in uses:
            if use not in ns.providers:
                report(f"{role} uses {use!r}, which nothing in the declarations provides", pod.urn or ns.wiring_urn)
                continue
            for edge in ns.providers[use]:
                wanted.add((edge.destination.key, edge.port, edge.protocol))
                verdict = cluster.verdict(pod, edge.destination, edge.port, edge.protocol)
                if not verdict.allowed:
                    report(
                        f"{pod.key} uses {use}, but the NetworkPolicies deny {pod.key} -> {edge.destination.key} "
                        f"port {edge.port}/{edge.protocol}",
                        pod.urn or ns.wiring_urn,
                    )
    dns = {(e.destination.key, e.port, e.protocol) for e in ns.providers.get("dns", [])}
    strangers = [Pod("stranger", ns.name, {}), Pod("stranger-elsewhere", STRANGER_NAMESPACE, {})]
    sources = [*ns.pods.values(), *ns.peers.values(), *strangers]
    destinations = [Edge(pod, p.number, p.protocol) for pod in ns.pods.values() for p in pod.ports]
    destinations += [
        e
        for edges in ns.providers.values()
        for e in edges
        if not isinstance(e.destination, Pod) or e.destination.urn is None
    ]
    seen: set[tuple[str, str, int, str]] = set()
    for source in sources:
        allowed = expected.get(source.key, set()) | (dns if source.namespace == ns.name else set())
        inside = source.namespace == ns.name
        for edge in destinations:
            if not inside and not (isinstance(edge.destination, Pod) and edge.destination.urn is not None):
                continue  # outside to outside: not this namespace's policies' business
            key = (source.key, edge.destination.key, edge.port, edge.protocol)
            if key in seen or (edge.destination.key, edge.port, edge.protocol) in allowed:
                continue
            seen.add(key)
            if isinstance(edge.destination, Address) and _covered(
                ns, uses_of.get(source.key, []), edge.destination, edge.port, edge.protocol
            ):
                continue
            verdict = cluster.verdict(source, edge.destination, edge.port, edge.protocol)
            if verdict.allowed:
                by = sorted(set(verdict.egress_by + verdict.ingress_by))
                report(
                    f"{source.key} can reach {edge.destination.key} port {edge.port}/{edge.protocol} but declares no "
                    f"such use (allowed by: {', '.join(by) or 'no policy isolating either side'})",
                    source.urn or (by[0] if by else ns.wiring_urn),
                )


def check(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    policies = [parse_policy(r.urn, r.props) for r in resources if is_kind(r.resource_type, "NetworkPolicy")]
    pods = workload_pods(resources)
    wired: set[str] = set()
    for resource in resources:
        if not is_kind(resource.resource_type, "NetworkPolicy"):
            continue
        if dig(resource.props, "metadata", "annotations", WIRING_ANNOTATION) is None:
            continue
        wired.add(str(dig(resource.props, "metadata", "namespace", default="default")))
        ns = resolve(resource, pods, report)
        if ns is not None:
            check_namespace(ns, Cluster(policies, ns.namespace_labels), report)
    for (namespace, _, _), pod in sorted(pods.items()):
        if namespace not in wired:
            report(
                f"{pod.key} runs in namespace {namespace}, which has no default-deny policy with the network "
                "declarations: every connection to and from it is unchecked",
                pod.urn,
            )


POLICY = stack_rule(
    "wiring-reachability",
    "NetworkPolicies allow every declared use (service uses, job egress, scraping, ingress) and nothing else.",
    check,
    severity=Severity.HIGH,
    remediation="Declare the use (services[].uses, network.endpoints) so the stack renders its policies, or remove "
    "the policy or label that opens the undeclared path.",
)

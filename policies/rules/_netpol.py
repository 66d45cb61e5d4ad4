"""Kubernetes NetworkPolicy semantics, evaluated over a plan (no cluster, no CNI).

What a connection from pod A to pod B on port p needs, as the networking.k8s.io/v1 API defines it:
A's egress side allows it (A is selected by no policy with policyType Egress, or by at least one whose
egress rules admit B on p) AND B's ingress side allows it (the same for Ingress). Policies are a union:
any rule of any selecting policy suffices; a selected pod with no matching rule is denied (default deny).
Peers: ``podSelector`` alone means pods of the policy's namespace, ``namespaceSelector`` alone every pod of
the matching namespaces, both together their intersection, ``ipBlock`` an address range (with ``except``).
Selectors take ``matchLabels`` and ``matchExpressions`` (In, NotIn, Exists, DoesNotExist); ``{}`` matches
everything. Ports: absent or empty means every port; a number (with ``endPort`` a range); a name is
resolved against the *destination* pod's container ports; protocol defaults to TCP. Namespaces carry
``kubernetes.io/metadata.name``. ipBlocks are taken to match addresses outside the cluster only (the API
leaves pod IPs in ipBlocks to the CNI; no CNI here), so a pod is never reached through an ipBlock.

IBM's network-config-analyzer computes the same connectivity but brings networkx, greenery, lxml,
beautifulsoup4 and a GitHub API client into a pack that otherwise needs pulumi-policy alone; these ~200
lines are the subset the rule needs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._support import dig, is_list, is_mapping

NAME_LABEL = "kubernetes.io/metadata.name"
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class ContainerPort:
    name: str | None
    number: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Pod:
    """Pods of one workload (or one synthetic peer): namespace, template labels, container ports."""

    key: str
    namespace: str
    labels: Mapping[str, str]
    ports: tuple[ContainerPort, ...] = ()
    urn: str | None = None


@dataclass(frozen=True)
class Address:
    """An address outside the cluster (a representative of an endpoint's block)."""

    key: str
    ip: IpAddress


Destination = Pod | Address


@dataclass(frozen=True)
class Policy:
    urn: str
    name: str
    namespace: str
    selector: Mapping[str, Any]
    types: frozenset[str]
    ingress: tuple[Mapping[str, Any], ...]
    egress: tuple[Mapping[str, Any], ...]


@dataclass
class Verdict:
    allowed: bool
    egress_by: list[str] = field(default_factory=list)
    ingress_by: list[str] = field(default_factory=list)


def _items(value: Any) -> list[Any]:
    return list(value) if is_list(value) else []


_OPERATORS = {
    "In": lambda present, value, values: present and value in values,
    "NotIn": lambda present, value, values: not (present and value in values),
    "Exists": lambda present, value, values: present,
    "DoesNotExist": lambda present, value, values: not present,
}


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """A LabelSelector against a label set (``{}`` matches all; a non-mapping selector matches nothing)."""
    if not is_mapping(selector):
        return False
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in _items(selector.get("matchExpressions")):
        key = expression.get("key")
        operator = _OPERATORS.get(str(expression.get("operator")))
        values = set(_items(expression.get("values")))
        if operator is None or not operator(key in labels, labels.get(key), values):
            return False
    return True


def _selector(value: Any) -> Mapping[str, Any]:
    """A policy's podSelector; the API requires one, and an absent one is read as ``{}`` (every pod)."""
    return value if isinstance(value, Mapping) else {}


def parse_policy(urn: str, props: Mapping[str, Any]) -> Policy:
    spec = dig(props, "spec", default={}) or {}
    declared = _items(spec.get("policyTypes"))
    if declared:
        types = frozenset(str(t) for t in declared)
    else:
        types = frozenset(str(t) for t in ["Ingress", *(["Egress"] if spec.get("egress") is not None else [])])
    return Policy(
        urn=urn,
        name=str(dig(props, "metadata", "name", default="")),
        namespace=str(dig(props, "metadata", "namespace", default="default")),
        selector=_selector(spec.get("podSelector")),
        types=types,
        ingress=tuple(_items(spec.get("ingress"))),
        egress=tuple(_items(spec.get("egress"))),
    )


class Cluster:
    """Namespaces (by labels) and the plan's policies; answers whether one connection is allowed."""

    def __init__(self, policies: Iterable[Policy], namespace_labels: Mapping[str, Mapping[str, str]]) -> None:
        self.policies = list(policies)
        self._namespace_labels = dict(namespace_labels)

    def labels_of(self, namespace: str) -> Mapping[str, str]:
        return {NAME_LABEL: namespace, **self._namespace_labels.get(namespace, {})}

    @staticmethod
    def _in_block(block: Any, other: Destination) -> bool:
        if not isinstance(other, Address):
            return False
        try:
            inside = other.ip in ipaddress.ip_network(str(block.get("cidr")), strict=False)
            holes = [ipaddress.ip_network(str(c), strict=False) for c in _items(block.get("except"))]
        except ValueError:
            return False
        return inside and not any(other.ip in hole for hole in holes)

    def _peer_matches(self, peer: Mapping[str, Any], policy_namespace: str, other: Destination) -> bool:
        block = peer.get("ipBlock")
        if is_mapping(block):
            return self._in_block(block, other)
        has_ns, has_pod = "namespaceSelector" in peer, "podSelector" in peer
        if not isinstance(other, Pod) or not (has_ns or has_pod):
            return False
        if has_ns:
            namespace_ok = selector_matches(peer.get("namespaceSelector"), self.labels_of(other.namespace))
        else:
            namespace_ok = other.namespace == policy_namespace
        return namespace_ok and (not has_pod or selector_matches(peer.get("podSelector"), other.labels))

    @staticmethod
    def _port_matches(entries: list[Any], port: int, protocol: str, destination: Destination) -> bool:
        if not entries:
            return True
        for entry in entries:
            if not is_mapping(entry) or str(entry.get("protocol") or "TCP") != protocol:
                continue
            wanted = entry.get("port")
            if wanted is None:
                return True
            if isinstance(wanted, str) and not wanted.isdigit():
                if isinstance(destination, Pod) and any(
                    p.name == wanted and p.protocol == protocol and p.number == port for p in destination.ports
                ):
                    return True
                continue
            low = int(wanted)
            high = int(entry.get("endPort") or low)
            if low <= port <= high:
                return True
        return False

    def _side(
        self, kind: str, pod: Pod, other: Destination, port: tuple[int, str], destination: Destination
    ) -> tuple[bool, list[str]]:
        """Whether ``pod``'s ingress (from ``other``) or egress (to ``other``) side admits the connection."""
        selecting = [
            p
            for p in self.policies
            if p.namespace == pod.namespace and kind in p.types and selector_matches(p.selector, pod.labels)
        ]
        if not selecting:
            return True, []
        by: list[str] = []
        peers_key = "from" if kind == "Ingress" else "to"
        for policy in selecting:
            for rule in policy.ingress if kind == "Ingress" else policy.egress:
                if not is_mapping(rule):
                    continue
                peers = _items(rule.get(peers_key))
                if peers and not any(
                    is_mapping(peer) and self._peer_matches(peer, policy.namespace, other) for peer in peers
                ):
                    continue
                if self._port_matches(_items(rule.get("ports")), port[0], port[1], destination):
                    by.append(policy.urn)
                    break
        return bool(by), by

    def verdict(self, source: Pod, destination: Destination, port: int, protocol: str = "TCP") -> Verdict:
        egress_ok, egress_by = self._side("Egress", source, destination, (port, protocol), destination)
        if isinstance(destination, Address):
            return Verdict(egress_ok, egress_by)
        ingress_ok, ingress_by = self._side("Ingress", destination, source, (port, protocol), destination)
        return Verdict(egress_ok and ingress_ok, egress_by, ingress_by)


def representative(cidr: str, excluded: Iterable[str] = ()) -> IpAddress | None:
    """An address inside ``cidr`` and outside every ``excluded`` block (the first such host), or None."""
    network = ipaddress.ip_network(cidr, strict=False)
    holes = [ipaddress.ip_network(c, strict=False) for c in excluded]
    candidates: list[IpAddress] = [network.network_address]
    if network.num_addresses > 1:
        candidates.insert(0, network.network_address + 1)
    for hole in holes:
        if hole.version == network.version and hole.broadcast_address != network.broadcast_address:
            candidates.append(hole.broadcast_address + 1)
    for ip in candidates:
        if ip in network and not any(ip in hole for hole in holes):
            return ip
    return None

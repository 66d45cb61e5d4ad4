"""NetworkPolicies rendered from the edge model (pure: manifests in, manifests out).

Per namespace: one default-deny policy (every pod, ingress and egress, no rule) carrying the declarations
as an annotation, one policy letting every pod resolve names, one opening container ports named
``metrics`` to the scraper alone; then per client an egress policy to exactly what it uses, and per
provider an ingress policy from exactly its declared clients (and the ingress controller for public
services). Kubernetes ORs the rules of every policy that selects a pod, so the default deny plus these
allows is the whole connectivity; the reachability rule in the policy pack recomputes it from the plan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.network.config import DNS, METRICS, Endpoint, Peer
from components.network.model import Client, PortRef, Provider, Target, Wiring

API_VERSION = "networking.k8s.io/v1"
#: Annotation of the default-deny policy holding the declarations (JSON) the reachability rule checks.
WIRING_ANNOTATION = "platform.example.com/network-wiring"
WIRING_VERSION = 1
METRICS_PORT = PortRef("metrics")
INGRESS_CONTROLLER = "ingress-controller"
SCRAPER = "scraper"


def _meta(name: str, namespace: str, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "network-policy",
        "app.kubernetes.io/part-of": "web-platform",
    }
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _policy(name: str, namespace: str, spec: dict[str, Any], annotations: Mapping[str, str] | None = None) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace, annotations),
        "spec": spec,
    }


def _ports(ports: tuple[PortRef, ...]) -> list[dict[str, Any]]:
    return [p.to_json() for p in ports]


def _endpoint_ports(endpoint: Endpoint) -> list[dict[str, Any]]:
    return [{"protocol": p.protocol, "port": p.port} for p in endpoint.ports]


def _pods(selector: Mapping[str, str]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": dict(selector)}}


def _endpoint_rule(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.peer is not None:
        to = [endpoint.peer.selector()]
    else:
        to = [
            {"ipBlock": {"cidr": cidr, **({"except": list(endpoint.except_cidrs)} if endpoint.except_cidrs else {})}}
            for cidr in endpoint.cidrs
        ]
    return {"to": to, "ports": _endpoint_ports(endpoint)}


def egress_rules(client: Client, wiring: Wiring) -> list[dict[str, Any]]:
    """One egress rule per target of each used provider or endpoint, in the order of ``uses``."""
    rules: list[dict[str, Any]] = []
    for use in client.uses:
        if use in wiring.providers:
            rules += [{"to": [_pods(t.selector)], "ports": _ports(t.ports)} for t in wiring.providers[use].targets]
        elif use in wiring.settings.endpoints:
            rules.append(_endpoint_rule(wiring.settings.endpoints[use]))
        else:
            raise ValueError(f"{client.role}: uses {use!r}, which nothing provides (the config validation missed it)")
    return rules


def clients_of(name: str, wiring: Wiring) -> list[Client]:
    return [c for c in wiring.clients if name in c.uses]


def ingress_rules(provider: Provider, target: Target, wiring: Wiring) -> list[dict[str, Any]]:
    callers = [_pods(c.selector) for c in clients_of(provider.name, wiring)]
    peers: list[Peer] = []
    if provider.name in wiring.public:
        peers.append(wiring.settings.ingress_controller)
    if provider.name in wiring.scraped_on_http:
        peers.append(wiring.settings.scraper)
    sources = callers + [peer.selector() for peer in peers]
    return [{"from": sources, "ports": _ports(target.ports)}] if sources else []


def network_policy_manifests(wiring: Wiring) -> dict[str, dict[str, Any]]:
    """Every policy of the namespace keyed by role (the role names the resource and the object)."""
    ns = wiring.namespace
    everyone: dict[str, Any] = {"podSelector": {}}
    policies = {
        "default-deny": _policy(
            "default-deny",
            ns,
            {**everyone, "policyTypes": ["Ingress", "Egress"]},
            {WIRING_ANNOTATION: wiring_json(wiring)},
        ),
        "allow-dns": _policy(
            "allow-dns", ns, {**everyone, "policyTypes": ["Egress"], "egress": [_endpoint_rule(wiring.settings.dns)]}
        ),
        "allow-metrics-scrape": _policy(
            "allow-metrics-scrape",
            ns,
            {
                **everyone,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [wiring.settings.scraper.selector()], "ports": _ports((METRICS_PORT,))}],
            },
        ),
    }
    for client in wiring.clients:
        rules = egress_rules(client, wiring)
        if rules:
            spec = {"podSelector": {"matchLabels": dict(client.selector)}, "policyTypes": ["Egress"], "egress": rules}
            policies[f"{client.role}-egress"] = _policy(f"{client.role}-egress", ns, spec)
    for provider in wiring.providers.values():
        if provider.admits_clients:
            continue
        for i, target in enumerate(provider.targets):
            rules = ingress_rules(provider, target, wiring)
            if rules:
                role = f"{provider.name}-ingress" if i == 0 else f"{provider.name}-ingress-{i}"
                spec = {
                    "podSelector": {"matchLabels": dict(target.selector)},
                    "policyTypes": ["Ingress"],
                    "ingress": rules,
                }
                policies[role] = _policy(role, ns, spec)
    return policies


def _peer_json(peer: Peer) -> dict[str, Any]:
    return {"namespaceLabels": dict(peer.namespace_labels), "podLabels": dict(peer.pod_labels)}


def _endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    where = (
        {"peer": _peer_json(endpoint.peer)}
        if endpoint.peer is not None
        else {"cidrs": list(endpoint.cidrs), "except": list(endpoint.except_cidrs)}
    )
    return {**where, "ports": _endpoint_ports(endpoint)}


def wiring_document(wiring: Wiring) -> dict[str, Any]:
    """The declarations as data: clients and their uses, providers and their ports (what the rule checks)."""
    settings = wiring.settings
    clients: list[dict[str, Any]] = [
        {"role": c.role, "workloads": [w.to_json() for w in c.workloads], "uses": list(c.uses)} for c in wiring.clients
    ]
    clients.append(
        {"role": INGRESS_CONTROLLER, "peer": _peer_json(settings.ingress_controller), "uses": list(wiring.public)}
    )
    clients.append({"role": SCRAPER, "peer": _peer_json(settings.scraper), "uses": [METRICS, *wiring.scraped_on_http]})
    providers: dict[str, Any] = {
        name: [{"workloads": [w.to_json() for w in t.workloads], "ports": _ports(t.ports)} for t in p.targets]
        for name, p in wiring.providers.items()
    }
    providers[METRICS] = [{"workloads": "*", "ports": _ports((METRICS_PORT,))}]
    providers[DNS] = [_endpoint_json(settings.dns)]
    providers.update({name: [_endpoint_json(e)] for name, e in settings.endpoints.items()})
    return {"version": WIRING_VERSION, "implied": [DNS], "clients": clients, "providers": providers}


def wiring_json(wiring: Wiring) -> str:
    return json.dumps(wiring_document(wiring), sort_keys=True, separators=(",", ":"))

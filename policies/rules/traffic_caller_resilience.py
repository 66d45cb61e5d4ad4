"""Every call from one service to another runs under outlier detection (the circuit breaker) and a timeout.

Who calls whom comes from the plan: the declarations the network package writes into the
``platform.example.com/network-wiring`` annotation (clients, their ``uses`` and workloads), or, when no
NetworkPolicies are rendered, the ``platform.example.com/callers`` annotation of the traffic objects. A callee
is a Service of the plan with a port named ``http`` (Redis, the database and address endpoints are not HTTP
services). For each caller -> callee the caller's proxy must find:
- a DestinationRule for the callee's host, exported to the caller's namespace, whose ``trafficPolicy``
  carries ``outlierDetection`` that ejects (``consecutive5xxErrors`` or ``consecutiveGatewayErrors`` > 0) with
  an ``interval`` and a ``baseEjectionTime``;
- a VirtualService for the host, exported likewise, whose every HTTP route has a non-zero ``timeout`` and,
  when it retries, a ``perTryTimeout``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._support import Report, dig, is_kind, is_list, is_mapping, metadata_name, stack_rule

WIRING_ANNOTATION = "platform.example.com/network-wiring"
CALLERS_ANNOTATION = "platform.example.com/callers"
_ZERO = re.compile(r"^0+(\.0+)?(ns|us|ms|s|m|h)?$")


def _namespace(r: PolicyResource) -> str:
    return str(dig(r.props, "metadata", "namespace", default="default"))


def _http_services(resources: Iterable[PolicyResource]) -> dict[tuple[str, str], PolicyResource]:
    found = {}
    for r in resources:
        ports = dig(r.props, "spec", "ports", default=[]) or []
        if is_kind(r.resource_type, "Service") and any(is_mapping(p) and p.get("name") == "http" for p in ports):
            found[(_namespace(r), str(metadata_name(r.props)))] = r
    return found


def _edges_from_wiring(resources: Iterable[PolicyResource]) -> set[tuple[str, str, str]] | None:
    """(namespace, caller, callee) from the network declarations; None when no policy carries them."""
    edges: set[tuple[str, str, str]] = set()
    seen = False
    for r in resources:
        raw = dig(r.props, "metadata", "annotations", WIRING_ANNOTATION)
        if not isinstance(raw, str):
            continue
        seen = True
        try:
            document = json.loads(raw)
        except ValueError:
            continue
        for client in document.get("clients") or []:
            for used in client.get("uses") or []:
                edges.add((_namespace(r), str(client.get("role")), str(used)))
    return edges if seen else None


def _edges_from_traffic(resources: Iterable[PolicyResource]) -> set[tuple[str, str, str]]:
    edges = set()
    for r in resources:
        raw = dig(r.props, "metadata", "annotations", CALLERS_ANNOTATION)
        if r.resource_type.startswith("kubernetes:networking.istio.io/") and isinstance(raw, str):
            for caller in filter(None, raw.split(",")):
                edges.add((_namespace(r), caller, str(metadata_name(r.props))))
    return edges


def _host_names(name: str, namespace: str) -> set[str]:
    return {name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"}


def _exported(r: PolicyResource, caller_namespace: str) -> bool:
    export = dig(r.props, "spec", "exportTo")
    if not is_list(export) or not export:
        return True
    return "*" in export or caller_namespace in export or (caller_namespace == _namespace(r) and "." in export)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def _nonzero(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not _ZERO.match(value)


def _outlier_problem(rule: PolicyResource) -> str | None:
    outlier = dig(rule.props, "spec", "trafficPolicy", "outlierDetection")
    if not is_mapping(outlier):
        return "has no trafficPolicy.outlierDetection"
    if not (_positive(outlier.get("consecutive5xxErrors")) or _positive(outlier.get("consecutiveGatewayErrors"))):
        return "outlierDetection never ejects (consecutive5xxErrors and consecutiveGatewayErrors are 0 or absent)"
    missing = [k for k in ("interval", "baseEjectionTime") if not _nonzero(outlier.get(k))]
    return f"outlierDetection lacks {', '.join(missing)}" if missing else None


def _timeout_problems(service: PolicyResource) -> list[str]:
    problems = []
    routes = dig(service.props, "spec", "http", default=[]) or []
    if not routes:
        problems.append("has no HTTP route")
    for index, route in enumerate(routes):
        if not _nonzero(dig(route, "timeout")):
            problems.append(f"http[{index}] has no timeout")
        retries = dig(route, "retries")
        if is_mapping(retries) and _positive(retries.get("attempts")) and not _nonzero(retries.get("perTryTimeout")):
            problems.append(f"http[{index}] retries without a perTryTimeout")
    return problems


def _for_host(
    objects: list[PolicyResource], kind: str, callee: str, namespace: str, caller_ns: str
) -> list[PolicyResource]:
    names = _host_names(callee, namespace)
    found = []
    for r in objects:
        if not r.resource_type.endswith(f":{kind}") or not _exported(r, caller_ns):
            continue
        hosts = [dig(r.props, "spec", "host")] if kind == "DestinationRule" else dig(r.props, "spec", "hosts") or []
        if any(str(h) in names for h in hosts) and (_namespace(r) == namespace or kind == "VirtualService"):
            found.append(r)
    return found


def _check_edge(edge: tuple[str, str, str], callee: PolicyResource, mesh: list[PolicyResource], report: Report) -> None:
    namespace, caller, name = edge
    rules = _for_host(mesh, "DestinationRule", name, namespace, namespace)
    if not rules:
        report(
            f"{caller} calls {name}, but no DestinationRule for {name} (exported to {namespace!r}) gives it "
            "outlier detection",
            callee.urn,
        )
    for rule in rules:
        if problem := _outlier_problem(rule):
            report(f"{caller} calls {name}: DestinationRule {metadata_name(rule.props)!r} {problem}", rule.urn)
    routes = _for_host(mesh, "VirtualService", name, namespace, namespace)
    if not routes:
        report(
            f"{caller} calls {name}, but no VirtualService for {name} (exported to {namespace!r}) sets a timeout",
            callee.urn,
        )
    for route in routes:
        for problem in _timeout_problems(route):
            report(f"{caller} calls {name}: VirtualService {metadata_name(route.props)!r} {problem}", route.urn)


def check(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    edges = _edges_from_wiring(resources)
    if edges is None:
        edges = _edges_from_traffic(resources)
    services = _http_services(resources)
    mesh = [r for r in resources if r.resource_type.startswith("kubernetes:networking.istio.io/")]
    reported: set[tuple[str, str]] = set()
    for edge in sorted(edges):
        namespace, caller, name = edge
        callee = services.get((namespace, name))
        if callee is None or caller == name or (namespace, name) in reported:
            continue
        reported.add((namespace, name))  # one report per callee: its policy is the same for every caller
        _check_edge(edge, callee, mesh, report)


POLICY = stack_rule(
    "traffic-caller-resilience",
    "Every service another one calls has outlier detection (circuit breaker) and route timeouts for its callers.",
    check,
    severity=Severity.HIGH,
    remediation="Keep services[].traffic enabled for the callee (DestinationRule outlierDetection, VirtualService "
    "timeout and perTryTimeout) and export both to the caller's namespace.",
)

"""Istio ``networking.istio.io/v1`` manifests from a service's traffic policy (pure functions).

The DestinationRule carries what applies per host (load balancing, connection-pool limits, outlier detection
= the circuit breaker); the VirtualService what applies per request (weighted routes to subsets, timeout,
retries). Both are read by the *caller's* proxy, so a service's policy protects everyone who calls it.
"""

from __future__ import annotations

from typing import Any

from components.lib.k8s import app_labels
from components.traffic.config import ServiceTraffic, TrafficService, TrafficSettings

API_VERSION = "networking.istio.io/v1"
#: Annotation listing the services that call this one (from their `uses`); policies read it from the plan.
CALLERS_ANNOTATION = "platform.example.com/callers"


def duration(seconds: float) -> str:
    """A protobuf/Go duration string Istio accepts (``10s``, ``2.5s``, ``25ms``)."""
    millis = round(seconds * 1000)
    if millis % 1000 == 0:
        return f"{millis // 1000}s"
    return f"{millis}ms"


def host(service: TrafficService, namespace: str, settings: TrafficSettings) -> str:
    return f"{service.name}.{namespace}.svc.{settings.cluster_domain}"


def _metadata(service: TrafficService, namespace: str) -> dict[str, Any]:
    return {
        "name": service.name,
        "namespace": namespace,
        "labels": app_labels(service.name, "traffic-policy"),
        "annotations": {CALLERS_ANNOTATION: ",".join(service.callers)},
    }


def traffic_policy(traffic: ServiceTraffic) -> dict[str, Any]:
    pool, breaker = traffic.connection_pool, traffic.circuit_breaker
    return {
        "loadBalancer": {"simple": traffic.load_balancer},
        "connectionPool": {
            "tcp": {
                "maxConnections": pool.max_connections,
                "connectTimeout": duration(pool.connect_timeout_seconds),
            },
            "http": {
                "http1MaxPendingRequests": pool.max_pending_requests,
                "http2MaxRequests": pool.max_requests,
                "maxRetries": pool.max_concurrent_retries,
                "idleTimeout": duration(pool.idle_timeout_seconds),
            },
        },
        "outlierDetection": {
            "consecutive5xxErrors": breaker.consecutive_errors,
            "consecutiveGatewayErrors": breaker.consecutive_errors,
            "interval": duration(traffic.health_check_interval_seconds),
            "baseEjectionTime": duration(breaker.base_ejection_seconds),
            "maxEjectionPercent": breaker.max_ejection_percent,
            "minHealthPercent": breaker.min_health_percent,
        },
    }


def destination_rule(service: TrafficService, namespace: str, settings: TrafficSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "host": host(service, namespace, settings),
        "exportTo": list(settings.export_to),
        "trafficPolicy": traffic_policy(service.traffic),
    }
    if service.traffic.subsets:
        spec["subsets"] = [{"name": s.name, "labels": dict(s.labels)} for s in service.traffic.subsets]
    return {
        "apiVersion": API_VERSION,
        "kind": "DestinationRule",
        "metadata": _metadata(service, namespace),
        "spec": spec,
    }


def _destinations(service: TrafficService, fqdn: str) -> list[dict[str, Any]]:
    port = {"number": service.port}
    if not service.traffic.subsets:
        return [{"destination": {"host": fqdn, "port": port}, "weight": 100}]
    return [
        {"destination": {"host": fqdn, "subset": s.name, "port": port}, "weight": s.weight}
        for s in service.traffic.subsets
    ]


def virtual_service(service: TrafficService, namespace: str, settings: TrafficSettings) -> dict[str, Any]:
    traffic = service.traffic
    fqdn = host(service, namespace, settings)
    route: dict[str, Any] = {
        "name": "default",
        "route": _destinations(service, fqdn),
        "timeout": duration(traffic.timeout_seconds),
    }
    retries = traffic.retries
    if retries.attempts:
        route["retries"] = {
            "attempts": retries.attempts,
            "perTryTimeout": duration(retries.per_try_timeout_seconds),
            "retryOn": retries.retry_on,
            "backoff": duration(retries.backoff_base_ms / 1000),
        }
    else:
        route["retries"] = {"attempts": 0}
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": _metadata(service, namespace),
        "spec": {"hosts": [fqdn], "exportTo": list(settings.export_to), "http": [route]},
    }

"""Traffic policy between services, rendered as Istio ``DestinationRule`` + ``VirtualService`` per service.

Defaults are the seeds' figures: weighted round-robin, a host checked every 10 s and ejected after 5
consecutive failures (the circuit breaker opens) for 60 s (recovery), retries with exponential backoff and
jitter, each attempt under its own timeout. The checks here make impossible policies config errors that name
the key: subset weights that do not add up to 100, a check interval under a second, an ejection share over
100 %, or retries whose worst-case time exceeds the route timeout (the caller would give up before the last
retry and the retry budget would be a lie).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.lib.settings import DnsLabel, Settings, raise_problems

#: Envoy's retry back-off: the wait before retry n is uniform in [0, (2^n - 1) x base) ("fully jittered"),
#: capped at max_interval, which Istio leaves at Envoy's default of 10 x base.
BACKOFF_MAX_FACTOR = 10


class Subset(Settings):
    """One version of a service (a DestinationRule subset) and its share of the traffic."""

    name: DnsLabel = Field(description="Subset name (e.g. `stable`, `canary`).")
    labels: dict[str, str] = Field(
        min_length=1, description="Pod labels selecting this version, e.g. `{app.kubernetes.io/version: v2}`."
    )
    weight: int = Field(ge=0, le=100, description="Percent of requests routed to this subset.")


class CircuitBreaker(Settings):
    """Passive health checking (outlier detection): the circuit breaker per host."""

    consecutive_errors: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Consecutive 5xx/connect failures that eject a host (seed: the breaker opens after 5 failures).",
    )
    base_ejection_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="How long an ejected host stays out (seed: recovery 60 s); Envoy multiplies it by the number "
        "of times the host was ejected.",
    )
    max_ejection_percent: int = Field(
        default=50,
        description="At most this share of hosts ejected at once: a bad deploy must not empty the pool; with 2 "
        "pods one may go.",
    )
    min_health_percent: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Outlier detection pauses when fewer hosts than this are healthy (0: always on).",
    )


class ConnectionPool(Settings):
    """Per-host connection limits: requests beyond them fail fast (503 UO) instead of queueing forever."""

    max_connections: int = Field(default=100, ge=1, description="TCP connections to one destination host.")
    max_pending_requests: int = Field(
        default=100, ge=1, description="Requests queued waiting for a connection (http1MaxPendingRequests)."
    )
    max_requests: int = Field(
        default=1000, ge=1, description="Concurrent requests to a destination (http2MaxRequests)."
    )
    max_concurrent_retries: int = Field(
        default=10,
        ge=1,
        description="Retries outstanding to all hosts at once (maxRetries): bounds a retry storm.",
    )
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60, description="TCP connect timeout.")
    idle_timeout_seconds: int = Field(
        default=30, ge=1, le=3600, description="Idle upstream connections are closed after this (seed: idle 30 s)."
    )


class Retries(Settings):
    attempts: int = Field(default=3, ge=0, le=10, description="Retries after the first try (0: none).")
    per_try_timeout_seconds: float = Field(default=2.0, gt=0, description="Timeout of each attempt.")
    backoff_base_ms: int = Field(
        default=25,
        ge=1,
        le=10000,
        description="Base of Envoy's exponential back-off with full jitter (retry n waits up to (2^n-1) x base, "
        "at most 10 x base).",
    )
    retry_on: str = Field(
        default="connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes,gateway-error",
        pattern=r"^[a-z0-9-]+(,[a-z0-9-]+)*$",
        description="Envoy retry conditions: failures before a request reached the app and gateway errors (502, "
        "503, 504); plain 500s are not retried, since a non-idempotent request may have taken effect.",
    )


class ServiceTraffic(Settings):
    """``services[].traffic``: how callers reach this service."""

    enabled: bool = Field(
        default=True,
        description="Render this service's DestinationRule and VirtualService, and opt its pods into the Istio "
        "sidecar (with egress to istiod).",
    )
    load_balancer: Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"] = Field(
        default="ROUND_ROBIN", description="Balancing among a subset's hosts (seed: round-robin)."
    )
    subsets: tuple[Subset, ...] = Field(
        default=(),
        description="Versions and their weights (weighted routing); empty: one route to every pod of the service.",
    )
    health_check_interval_seconds: float = Field(
        default=10.0,
        description="Outlier-detection sweep interval (seed: every 10 s). Active checks are the pods' readiness "
        "probes (services[].probes.period_seconds).",
    )
    circuit_breaker: CircuitBreaker = Field(default_factory=CircuitBreaker, description="Outlier detection.")
    connection_pool: ConnectionPool = Field(default_factory=ConnectionPool, description="Per-host limits.")
    retries: Retries = Field(default_factory=Retries, description="Retry policy of the route.")
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Whole-request timeout including every retry and back-off."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ServiceTraffic:
        problems: list[str] = []
        if self.subsets:
            total = sum(s.weight for s in self.subsets)
            if total != 100:
                weights = ", ".join(f"{s.name}={s.weight}" for s in self.subsets)
                problems.append(f"subsets: weights add up to {total} ({weights}); they must add up to 100")
            names = [s.name for s in self.subsets]
            for dup in sorted({n for n in names if names.count(n) > 1}):
                problems.append(f"subsets: name {dup!r} appears more than once")
        if self.health_check_interval_seconds < 1:
            problems.append(
                f"health_check_interval_seconds: {self.health_check_interval_seconds} is under 1 s; every proxy "
                "sweeps its hosts this often (seed: 10 s)"
            )
        ejection = self.circuit_breaker.max_ejection_percent
        if not 0 <= ejection <= 100:
            problems.append(f"circuit_breaker.max_ejection_percent: {ejection} is outside 0-100 %")
        worst = worst_case_seconds(self.retries)
        if self.retries.attempts and worst > self.timeout_seconds:
            problems.append(
                f"retries: {self.retries.attempts} retries of {self.retries.per_try_timeout_seconds} s each plus "
                f"back-off take up to {worst:.3f} s, above timeout_seconds {self.timeout_seconds}; lower "
                "attempts or per_try_timeout_seconds, or raise timeout_seconds"
            )
        if self.retries.per_try_timeout_seconds > self.timeout_seconds:
            problems.append(
                f"retries.per_try_timeout_seconds: {self.retries.per_try_timeout_seconds} is above timeout_seconds "
                f"{self.timeout_seconds}"
            )
        raise_problems(problems)
        return self


def worst_case_backoff_seconds(retries: Retries) -> float:
    """Longest total wait Envoy's jittered exponential back-off can add over ``attempts`` retries."""
    base = retries.backoff_base_ms / 1000
    return sum(min((2**n - 1) * base, BACKOFF_MAX_FACTOR * base) for n in range(1, retries.attempts + 1))


def worst_case_seconds(retries: Retries) -> float:
    """First try + every retry at its per-try timeout + the longest back-off between them."""
    return (retries.attempts + 1) * retries.per_try_timeout_seconds + worst_case_backoff_seconds(retries)


class TrafficSettings(Settings):
    """``traffic``: the mesh the per-service policies are written for."""

    enabled: bool = Field(
        default=True,
        description="Declare DestinationRules and VirtualServices (Istio, networking.istio.io/v1) for the services.",
    )
    export_to: tuple[str, ...] = Field(
        default=(".",),
        min_length=1,
        description="Namespaces whose proxies see the policies (`.`: the services' own namespace only).",
    )
    cluster_domain: str = Field(default="cluster.local", description="Cluster DNS domain of the service hosts.")


#: Istio's per-pod opt-in to sidecar injection: works without the namespace label `istio-injection=enabled`
#: (the namespace belongs to the cluster's owners, not this stack) and leaves the jobs' pods out.
INJECT_LABELS = {"sidecar.istio.io/inject": "true"}


def meshed(settings: TrafficSettings, service: ServiceTraffic) -> bool:
    """A service runs a sidecar when its traffic objects are rendered: only then does a proxy act on them, and
    only its pods need the proxy (and the proxy's egress to istiod)."""
    return settings.enabled and service.enabled


class TrafficService(BaseModel):
    """One service as the traffic component needs it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Service name (the Kubernetes Service the routes target).")
    port: int = Field(description="Service port.")
    traffic: ServiceTraffic = Field(description="The service's traffic policy.")
    callers: tuple[str, ...] = Field(default=(), description="Services that declare this one in `uses`.")


class TrafficArgs(BaseModel):
    """Inputs of :class:`~components.traffic.component.Traffic`."""

    model_config = ConfigDict(frozen=True)

    settings: TrafficSettings = Field(description="The validated traffic section.")
    namespace: str = Field(description="Namespace of the services and their policies.")
    services: tuple[TrafficService, ...] = Field(description="Services with their traffic policies.")
